import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteEventStore } from '../../shared/adapters/sqlite/event-store';
import { testServices } from '../support/services';

/**
 * Item 9e: the embedded profile's SQLite files (events, with sealed personal data; data
 * keys) were readable by every user of the machine. Now like secrets.json: 0600, folder 0700.
 */
describe('local data files are private to their owner', () => {
  const root = mkdtempSync(join(tmpdir(), 'farmacias-perms-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const modeOf = (path: string) => statSync(path).mode & 0o777;

  async function startIn(dataDir: string) {
    const previous = process.umask(0o022);
    try {
      const services = await testServices({ DATA_DIR: dataDir });
      await services.eventStore.append(`probe-${randomUUID()}`, 0, [{ eventId: randomUUID(), type: 'Probe', data: {}, metadata: { correlationId: 'c' } }]);
      await services.dataKeys.keyFor('someone');
      return services;
    } finally {
      process.umask(previous);
    }
  }

  function assertPrivate(dataDir: string) {
    assert.equal(modeOf(dataDir).toString(8), '700', dataDir);
    const files = readdirSync(dataDir);
    for (const name of ['events.sqlite', 'keys.sqlite', 'secrets.json']) assert.ok(files.includes(name), `${name} in ${files}`);
    for (const name of files) assert.equal(modeOf(join(dataDir, name)).toString(8), '600', name);
  }

  it('a new data folder: the folder 0700, every file 0600 (WAL and shared memory included)', async () => {
    const dataDir = join(root, 'fresh', '.data');
    const services = await startIn(dataDir);
    try {
      assert.ok(existsSync(join(dataDir, 'events.sqlite-wal')));
      assertPrivate(dataDir);
    } finally {
      await services.close();
    }
  });

  it('a database file put straight in a shared folder (sticky, as /tmp) leaves the folder as it is: the files are 0600 all the same', async () => {
    const shared = join(root, 'shared-tmp');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const file = join(shared, 'events.sqlite');
    const store = SqliteEventStore.open(file);
    try {
      await store.append(`probe-${randomUUID()}`, 0, [{ eventId: randomUUID(), type: 'Probe', data: {}, metadata: { correlationId: 'c' } }]);
      assert.equal((statSync(shared).mode & 0o7777).toString(8), '1777', 'the shared folder untouched');
      for (const name of ['events.sqlite', 'events.sqlite-wal']) assert.equal(modeOf(join(shared, name)).toString(8), '600', name);
    } finally {
      await store.close();
    }
  });

  it('files an older version left world-readable are tightened at start', async () => {
    const dataDir = join(root, 'old', '.data');
    const first = await startIn(dataDir);
    await first.close();
    chmodSync(dataDir, 0o755);
    for (const name of readdirSync(dataDir)) if (name !== 'secrets.json') chmodSync(join(dataDir, name), 0o644);
    const again = await startIn(dataDir);
    try {
      assertPrivate(dataDir);
    } finally {
      await again.close();
    }
  });
});
