import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HttpResponse } from '@azure/functions';
import Database from 'better-sqlite3';
import { migrate, MOST_APPENDS_PER_COMMIT, SqliteEventStore, WAL_FILE_LIMIT_BYTES, WAL_PAGES_PER_CHECKPOINT } from '../../shared/adapters/sqlite/event-store';
import { ConcurrencyConflict, ReservationTaken } from '../../shared/kernel/errors';
import { jsonResponse } from '../../shared/kernel/http';
import { IN_PROGRESS_STAND_IN } from '../../shared/kernel/idempotency';
import { projectRoot } from '../../shared/kernel/project-root';
import { eventStoreContract } from '../contracts/event-store.contract';

const dir = mkdtempSync(join(tmpdir(), 'farmacias-sqlite-'));
const store = SqliteEventStore.open(join(dir, 'events.sqlite'));
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

eventStoreContract('SQLite', async () => store);

/** The WAL file's layout (sqlite.org/fileformat.html): a 32-byte header, then per page a 24-byte frame header and the page. */
const WAL_HEADER_BYTES = 32;
const WAL_FRAME_HEADER_BYTES = 24;
const PAGE_BYTES = 4096;

/** A folder holding the migrations before 0006, for a database made as older code made it. */
function firstFiveMigrations(folder: string): string {
  const firstFive = join(dir, folder);
  mkdirSync(firstFive);
  const migrations = join(projectRoot(), 'shared', 'adapters', 'sqlite', 'migrations');
  for (const name of readdirSync(migrations).filter((name) => /^000[1-5]_/.test(name))) copyFileSync(join(migrations, name), join(firstFive, name));
  return firstFive;
}

describe('SQLite event store', () => {
  const event = () => ({ eventId: randomUUID(), type: 'T', data: {}, metadata: { correlationId: 'c' } });

  it('applies each migration once and records it', () => {
    const db = new Database(':memory:');
    assert.deepEqual(migrate(db), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(migrate(db), []);
    assert.equal(db.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get(), 6);
    db.close();
  });

  it('keeps events append-only, even against direct SQL', async () => {
    const db = new Database(':memory:');
    migrate(db);
    const local = new SqliteEventStore(db);
    await local.append('s-1', 0, [event()]);
    assert.throws(() => db.prepare("UPDATE events SET type = 'Forged'").run(), /append-only/);
    assert.throws(() => db.prepare('DELETE FROM events').run(), /append-only/);
    await local.close();
  });

  it('keeps what it committed across a reopen, outbox included', async () => {
    const file = join(dir, 'reopen.sqlite');
    const first = SqliteEventStore.open(file);
    const [appended] = await first.append('s-reopen', 0, [event()]);
    await first.close();
    const second = SqliteEventStore.open(file);
    assert.equal((await second.readStream('s-reopen'))[0].eventId, appended.eventId);
    assert.ok((await second.pendingOutbox(0, 100)).some((e) => e.eventId === appended.eventId));
    await second.close();
  });

  it('upgrades a database of the first five migrations in place (0006): events, positions and pending outbox rows kept, the relay finds them', async () => {
    const file = join(dir, 'before-0006.sqlite');
    const firstFive = firstFiveMigrations('migrations-0001-0005');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.pragma('foreign_keys = ON');
    assert.deepEqual(migrate(old, firstFive), [1, 2, 3, 4, 5]);
    // What the code before 0006 wrote: an event, its outbox row by event_id, AUTOINCREMENT positions.
    const insertEvent = old.prepare(
      `INSERT INTO events (event_id, stream_id, version, type, data, metadata, occurred_at) VALUES (?, 's-old', ?, 'T', '{"n":1}', '{"correlationId":"c"}', '2026-01-01T00:00:00.000Z')`,
    );
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const longAgo = Date.now() - 3_600_000;
    const positions = ids.map((id, index) => {
      const position = Number(insertEvent.run(id, index + 1).lastInsertRowid);
      old.prepare('INSERT INTO outbox (event_id, position, enqueued_ms) VALUES (?, ?, ?)').run(id, position, longAgo + index);
      return position;
    });
    old.prepare('DELETE FROM outbox WHERE event_id = ?').run(ids[1]); // published before the upgrade
    old.close();

    const upgraded = SqliteEventStore.open(file);
    const pending = await upgraded.pendingOutbox(60_000, 100);
    assert.deepEqual(pending.map((e) => [e.eventId, e.position]), [[ids[0], positions[0]], [ids[2], positions[2]]], 'the pending rows, oldest first, at their positions');
    assert.deepEqual(pending[0].data, { n: 1 });
    assert.deepEqual((await upgraded.readStream('s-old')).map((e) => e.position), positions, 'every event kept at its position');
    const [next] = await upgraded.append('s-old', 3, [event()]);
    assert.equal(next.position, positions[2] + 1, 'positions go on from the last');
    await upgraded.markPublished([ids[0]]);
    assert.deepEqual((await upgraded.pendingOutbox(60_000, 100)).map((e) => e.eventId), [ids[2]], 'a mark still finds its row');
    assert.deepEqual((await upgraded.pendingOutbox(0, 100)).map((e) => e.eventId), [ids[2], next.eventId]);
    await upgraded.close();

    const db = new Database(file);
    assert.deepEqual(db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), [1, 2, 3, 4, 5, 6]);
    assert.throws(() => db.prepare('DELETE FROM events').run(), /append-only/, 'the triggers were made again');
    assert.throws(() => db.prepare("UPDATE events SET type = 'Forged'").run(), /append-only/);
    assert.equal(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('events_autoincrement', 'outbox_pending', 'outbox_by_age')").pluck().get(), 0);
    db.close();
  });

  it('upgrades once when two processes open the same file together: the one that finds 0006 applied meanwhile goes on', async () => {
    const file = join(dir, 'opened-together.sqlite');
    const firstFive = firstFiveMigrations('migrations-0001-0005-together');
    const opened = () => {
      const db = new Database(file);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      return db;
    };
    const old = opened();
    migrate(old, firstFive);
    old.close();
    const [one, other] = [opened(), opened()];
    // The other process has read what is applied; this one upgrades before it goes on.
    let upgraded: number[] = [];
    const racing = new Proxy(other, {
      get(target, property) {
        if (property === 'transaction' && upgraded.length === 0) upgraded = migrate(one);
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    assert.deepEqual(migrate(racing), []);
    assert.deepEqual(upgraded, [6]);
    assert.deepEqual(other.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all(), [1, 2, 3, 4, 5, 6]);
    one.close();
    other.close();
  });

  it('goes on from the last position after a refused append and a reopen, positions no longer being AUTOINCREMENT', async () => {
    const file = join(dir, 'positions.sqlite');
    const first = SqliteEventStore.open(file);
    const before = await first.append('s-positions', 0, [event(), event()]);
    await assert.rejects(first.append('s-positions', 0, [event()]), /changed meanwhile/);
    await first.close();
    const second = SqliteEventStore.open(file);
    const [after] = await second.append('s-positions', 2, [event()]);
    assert.equal(after.position, before[1].position + 1);
    assert.deepEqual((await second.readAll(0, 10)).map((e) => e.position), [...before, after].map((e) => e.position));
    await second.close();
  });

  it('checkpoints its WAL every WAL_PAGES_PER_CHECKPOINT pages, not every 1 000, and then reuses the file instead of growing it', async () => {
    const file = join(dir, 'checkpoints.sqlite');
    const checkpointed = SqliteEventStore.open(file);
    const walFrames = () => Math.max(0, (statSync(`${file}-wal`).size - WAL_HEADER_BYTES) / (PAGE_BYTES + WAL_FRAME_HEADER_BYTES));
    // ~5 KB of data per event: two pages of the events' tree and more per append.
    const heavy = () => ({ ...event(), data: { text: 'x'.repeat(5_000) } });
    let version = 0;
    // Each append writes at least two pages (the event's leaf and its overflow), so `count` appends write twice as many frames.
    const append = async (count: number) => {
      for (let appended = 0; appended < count; appended++) await checkpointed.append('s-checkpoints', version, [heavy()]).then(() => (version += 1));
    };
    await append(1_500);
    const pastTheDefault = walFrames();
    // As many frames again as the interval: a WAL never checkpointed would be past it.
    await append(WAL_PAGES_PER_CHECKPOINT / 2);
    const settled = walFrames();
    await checkpointed.close();
    assert.ok(pastTheDefault >= 3 * 1_000, `the WAL holds ${pastTheDefault} frames: checkpointed at SQLite's default`);
    assert.ok(settled <= WAL_PAGES_PER_CHECKPOINT + 50, `the WAL grew to ${settled} frames, past the checkpoint interval`);
    const reopened = SqliteEventStore.open(file);
    assert.equal((await reopened.readStream('s-checkpoints')).length, version);
    await reopened.close();
  });

  it('cuts a WAL file that one transaction grew past WAL_FILE_LIMIT_BYTES back to the limit, by the first commit after its checkpoint', async () => {
    const file = join(dir, 'wal-limit.sqlite');
    const limited = SqliteEventStore.open(file);
    const walBytes = () => statSync(`${file}-wal`).size;
    // 1 000 events of ~40 KB in one append: a WAL of ~40 MB, which SQLite alone would keep and reuse.
    await limited.append('s-long', 0, Array.from({ length: 1_000 }, () => ({ ...event(), data: { text: 'x'.repeat(40_000) } })));
    const grown = walBytes();
    // Its commit checkpointed the WAL (no reader held it back): the next one starts the file over, and cuts it.
    await limited.append('s-next', 0, [event()]);
    const cut = walBytes();
    await limited.close();
    assert.ok(grown > WAL_FILE_LIMIT_BYTES, `the long transaction left a WAL of ${grown} bytes, not past the limit`);
    assert.ok(cut <= WAL_FILE_LIMIT_BYTES, `the WAL file kept ${cut} bytes after the next commit`);
  });

  it('loads streams in one statement as loadStream would: more than ten requests in order, ids JSON escapes and odd afterVersions alike', async () => {
    const db = new Database(':memory:');
    migrate(db);
    const local = new SqliteEventStore(db);
    // Ids json_each must give back byte for byte as a bound string: quotes, a backslash, NUL, control characters, lone surrogates, astral.
    const ids = [`q'"\\`, 'nul\u0000x', 'ctl\u0001\u001f\u007f', 'lone\uD800', 'lone\uDC00x', 'ç€😀', '\u2028', 'x'.repeat(2_000)];
    for (const id of ids) {
      await local.append(id, 0, [event(), event(), event(), event()], { snapshot: { schema: 's-v1', snapshot: { version: 2, state: { n: 2 } } } });
    }
    // JSON.stringify turns NaN and Infinity into null: with it nothing is newer, as a bound NaN (NULL) or Infinity finds nothing.
    const afterVersions = [0, 1, 2, 3, 4, 9, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 2 ** 64];
    const requests = ids.flatMap((streamId, index) => ['s-v1', 'other-v1'].map((schema) => ({ streamId, schema, afterVersion: afterVersions[index % afterVersions.length] })));
    // More than ten requests, the same stream asked for again: each load goes to its own index, 10 not to 1.
    const all = [...requests, ...afterVersions.map((afterVersion) => ({ streamId: ids[0], schema: 's-v1', afterVersion }))];
    assert.ok(all.length > 20);
    const one = await Promise.all(all.map((r) => local.loadStream(r.streamId, r.schema, r.afterVersion)));
    const loads = await local.loadStreams(all);
    assert.equal(loads.length, all.length);
    // Request by request: a failing deepEqual of all of them, long ids included, takes node:assert minutes to diff.
    loads.forEach((load, index) => assert.deepEqual(load, one[index], `request ${index}`));
    for (const { events } of one) assert.ok(events.every((e, i) => i === 0 || (e.streamId === events[0].streamId && e.version === events[i - 1].version + 1)));
    assert.ok(one.filter(({ events }) => events.length > 0).length > 10, 'most requests find events');
    await local.close();
  });

  it('stores a claim as code before claims (migration 0005) would replay it: a 409 with Retry-After, not a status 0', async () => {
    const db = new Database(':memory:');
    migrate(db);
    const local = new SqliteEventStore(db);
    const now = new Date();
    await local.claimIdempotencyKey({ key: 'k', requestHash: 'h', owner: randomUUID(), createdAt: now, expiresAt: new Date(now.getTime() + 60_000), standIn: IN_PROGRESS_STAND_IN });
    // What that code did with any row under a key: replay its status, body and headers.
    const row = db.prepare('SELECT status, body, headers FROM idempotency_keys WHERE key = ?').get('k') as { status: number; body: string; headers: string };
    const replayed = new HttpResponse(jsonResponse(row.status, JSON.parse(row.body), JSON.parse(row.headers)));
    assert.equal(replayed.status, 409);
    assert.equal(replayed.headers.get('retry-after'), '3');
    assert.equal(((await replayed.json()) as { title: string }).title, 'Request in progress');
    assert.ok('inProgress' in (await local.claimIdempotencyKey({ key: 'k', requestHash: 'h', owner: randomUUID(), createdAt: now, expiresAt: now, standIn: IN_PROGRESS_STAND_IN })), 'still a claim to this code');
    await local.close();
  });

  describe('appends asked for in one turn (group commit)', () => {
    /**
     * The commits in a WAL file (sqlite.org/fileformat.html, "WAL File Format"): a frame
     * whose header gives the database's size after it ends a transaction. Frames of an
     * earlier generation of the file (another salt) are not counted.
     */
    const walCommits = (file: string) => {
      const wal = readFileSync(`${file}-wal`);
      let commits = 0;
      for (let frame = WAL_HEADER_BYTES; frame + WAL_FRAME_HEADER_BYTES <= wal.length; frame += WAL_FRAME_HEADER_BYTES + PAGE_BYTES) {
        if (!wal.subarray(frame + 8, frame + 16).equals(wal.subarray(16, 24))) break;
        if (wal.readUInt32BE(frame + 4) !== 0) commits += 1;
      }
      return commits;
    };

    it('share one commit: 40 appends of one turn write one commit to the WAL, each stored at its place', async () => {
      const file = join(dir, 'group.sqlite');
      const grouped = SqliteEventStore.open(file);
      await grouped.append('s-warm', 0, [event()]);
      const before = walCommits(file);
      const stored = await Promise.all(Array.from({ length: 40 }, (_, index) => grouped.append(`s-group-${index}`, 0, [event(), event()])));
      const commits = walCommits(file) - before;
      assert.equal(commits, 1, `40 appends took ${commits} commits`);
      const positions = stored.flat().map((stored) => stored.position);
      assert.deepEqual(positions, positions.map((_, index) => positions[0] + index), 'consecutive positions in the order asked');
      for (const [index, events] of stored.entries()) assert.deepEqual(events.map((e) => [e.streamId, e.version]), [[`s-group-${index}`, 1], [`s-group-${index}`, 2]]);
      // Apart, in turns of their own, each append is a commit of its own (what the count above would show without grouping).
      for (const index of [0, 1, 2]) await grouped.append(`s-group-${index}`, 2, [event()]);
      assert.equal(walCommits(file) - before, 4);
      assert.equal((await grouped.readAll(0, 1_000)).length, 1 + 80 + 3);
      await grouped.close();
    });

    it('fail one by one: a stale version, a taken reservation and an event that cannot be stored undo their own append only', async () => {
      const file = join(dir, 'group-failures.sqlite');
      const grouped = SqliteEventStore.open(file);
      const cnpj = { scope: 'cnpj', value: '11222333000181' };
      const outcomes = await Promise.allSettled([
        grouped.append('s-first', 0, [event()], { reservations: [cnpj], indexes: [{ name: 'by-cnpj', key: cnpj.value }] }),
        // The same stream at the same version, in the same turn: the second finds the first's event.
        grouped.append('s-first', 0, [event()]),
        grouped.append('s-second', 0, [event()], { reservations: [cnpj], indexes: [{ name: 'by-cnpj', key: 'second' }] }),
        grouped.append('s-third', 0, [event(), { ...event(), data: { size: 10n } }]),
        grouped.append('s-fourth', 0, [event()]),
      ]);
      assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled']);
      const reasons = outcomes.map((outcome) => (outcome.status === 'rejected' ? outcome.reason : undefined));
      assert.ok(reasons[1] instanceof ConcurrencyConflict);
      assert.ok(reasons[2] instanceof ReservationTaken);
      assert.ok(reasons[3] instanceof TypeError, 'a BigInt is no JSON');
      assert.deepEqual((await grouped.readAll(0, 10)).map((e) => e.streamId), ['s-first', 's-fourth']);
      // What the failed appends wrote before failing went with them: the second's index entry, the third's first event.
      assert.deepEqual(await grouped.readIndex('by-cnpj', 'second'), []);
      assert.deepEqual(await grouped.readStream('s-third'), []);
      assert.equal(await grouped.findReservation('cnpj', cnpj.value), 's-first');
      await grouped.close();
    });

    it('keep one process’s commands on a stream in order: a load asked for while the stream’s append is queued sees that append', async () => {
      const grouped = SqliteEventStore.open(join(dir, 'group-loads.sqlite'));
      const appended = grouped.append('s-ordered', 0, [event()]);
      const [load, loads] = await Promise.all([grouped.loadStream('s-ordered', 'schema', 0), grouped.loadStreams([{ streamId: 's-ordered', schema: 'schema', afterVersion: 0 }])]);
      const [stored] = await appended;
      assert.deepEqual(load.events.map((e) => e.eventId), [stored.eventId]);
      assert.deepEqual(loads[0].events.map((e) => e.eventId), [stored.eventId]);
      await grouped.close();
    });

    it(`commit at most MOST_APPENDS_PER_COMMIT (${MOST_APPENDS_PER_COMMIT}) at a time, and what a close finds queued before it closes`, async () => {
      const file = join(dir, 'group-bounded.sqlite');
      const grouped = SqliteEventStore.open(file);
      await grouped.append('s-warm', 0, [event()]);
      const before = walCommits(file);
      const many = Array.from({ length: MOST_APPENDS_PER_COMMIT + 1 }, (_, index) => grouped.append(`s-many-${index}`, 0, [event()]));
      await Promise.all(many);
      assert.equal(walCommits(file) - before, 2);
      const queued = grouped.append('s-at-close', 0, [event()]);
      await grouped.close();
      const [stored] = await queued;
      const reopened = SqliteEventStore.open(file);
      assert.deepEqual((await reopened.readStream('s-at-close')).map((e) => e.eventId), [stored.eventId]);
      await reopened.close();
    });
  });
});
