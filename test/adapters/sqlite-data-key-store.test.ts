import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteDataKeyStore } from '../../shared/adapters/sqlite/data-key-store';
import { ServiceUnavailable } from '../../shared/kernel/errors';
import { lockHeldElsewhere } from '../support/sqlite-lock';

const dir = mkdtempSync(join(tmpdir(), 'farmacias-data-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Found by the fault run beside the event store's: another process holding the data keys'
 * file (an operator's sqlite3 shell) made a registration or an erasure an unhandled error
 * (a 500). With a rollback journal, a read waits out that lock too.
 */
describe('the SQLite data key store, locked by another process', () => {
  it('refuses a new key and a lookup as unavailable (a 503 with Retry-After), and serves both once the lock is gone', async () => {
    const file = join(dir, 'keys.sqlite');
    const masterKey = randomBytes(32);
    SqliteDataKeyStore.open(file, masterKey).close();
    // A short busy timeout, so the test waits 100 ms per refusal rather than the default 5 s.
    const store = new SqliteDataKeyStore(new Database(file, { timeout: 100 }), masterKey);
    const known = await store.keyFor('known');
    const refusal = (error: unknown) => {
      assert.ok(error instanceof ServiceUnavailable, `refused with ${String(error)}`);
      assert.ok(Number(error.headers['retry-after']) > 0);
      assert.match(error.message, /data key store is busy/);
      assert.equal((error.cause as { code?: string }).code, 'SQLITE_BUSY');
      return true;
    };
    const lock = await lockHeldElsewhere(file, 'EXCLUSIVE');
    try {
      await assert.rejects(store.keyFor('new'), refusal);
      await assert.rejects(store.find('known'), refusal);
      await assert.rejects(store.destroy('known'), refusal);
    } finally {
      await lock.release();
    }
    assert.deepEqual(await store.find('known'), known);
    assert.equal((await store.keyFor('new')).length, known.length);
    await store.close();
  });

  // Found beside the event store's (the fault run): each lookup waited the whole busy_timeout in place, the process with it;
  // sign-ins and registrations sent while an operator's sqlite3 shell held the file stood it still busy_timeout each.
  it('lookups one after another while the lock is held stand the process still about one busy_timeout in all, not one each', async () => {
    const BUSY_MS = 300;
    const file = join(dir, 'keys-many.sqlite');
    const masterKey = randomBytes(32);
    SqliteDataKeyStore.open(file, masterKey).close();
    const store = new SqliteDataKeyStore(new Database(file, { timeout: BUSY_MS }), masterKey);
    const known = await store.keyFor('known');
    const lock = await lockHeldElsewhere(file, 'EXCLUSIVE');
    let waited: number;
    try {
      const started = performance.now();
      for (let i = 0; i < 8; i++) {
        await assert.rejects(store.find('known'), ServiceUnavailable);
        await assert.rejects(store.keyFor(`new-${i}`), ServiceUnavailable);
      }
      waited = performance.now() - started;
    } finally {
      await lock.release();
    }
    assert.ok(waited < 3 * BUSY_MS, `16 refusals took ${Math.round(waited)} ms (busy_timeout ${BUSY_MS} ms)`);
    // Once the lock is gone the next call gets it, and the calls after it wait busy_timeout again.
    assert.deepEqual(await store.find('known'), known);
    await store.close();
  });
});
