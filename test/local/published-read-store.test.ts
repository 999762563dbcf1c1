import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { findLocalReadStore, LOCAL_READ_STORE_FILE } from '../../shared/adapters/cosmos/local-server';

/**
 * The fault run's find: after `kill -9`, a new start on the same DATA_DIR was refused ("the
 * platform already runs") for as long as the killed host stayed a zombie, its parent not
 * having waited for it yet: a signal still finds a zombie.
 */
describe('the local read store a host publishes on DATA_DIR', () => {
  it('is not found once the process that published it has exited, reaped or not (a zombie)', { skip: existsSync('/proc/self/stat') ? false : 'no /proc on this system' }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'published-store-'));
    // The shell's child exits at once; the shell, replaced by sleep, never waits for it: a zombie until the test kills the shell.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const [line] = (await once(parent.stdout, 'data')) as [Buffer];
      const zombie = Number(line.toString().trim());
      await setTimeout(100);
      assert.match(readFileSync(`/proc/${zombie}/stat`, 'utf8'), /\) Z /, 'the child is a zombie');
      const publish = (pid: number) => writeFileSync(join(dataDir, LOCAL_READ_STORE_FILE), JSON.stringify({ endpoint: 'https://127.0.0.1:1', key: 'k', pid }));
      publish(process.pid);
      assert.ok(findLocalReadStore(dataDir), 'a running publisher is found');
      publish(zombie);
      assert.equal(findLocalReadStore(dataDir), undefined);
    } finally {
      parent.kill();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
