import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MOST_APPENDS_PER_COMMIT, SqliteEventStore } from '../../shared/adapters/sqlite/event-store';
import { ServiceUnavailable } from '../../shared/kernel/errors';
import { IN_PROGRESS_STAND_IN } from '../../shared/kernel/idempotency';
import { lockHeldElsewhere } from '../support/sqlite-lock';

const dir = mkdtempSync(join(tmpdir(), 'farmacias-group-commit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const event = () => ({ eventId: randomUUID(), type: 'T', data: {}, metadata: { correlationId: 'c' } });

/** A request's command in a callback of its own, as the host runs each: load the stream, append at the loaded version. */
const command = (store: SqliteEventStore, streamId: string) =>
  new Promise<string>((settled) =>
    setImmediate(async () => {
      try {
        const { events } = await store.loadStream(streamId, 'schema', 0);
        await store.append(streamId, events.length, [event()]);
        settled('appended');
      } catch (error) {
        settled((error as Error).constructor.name);
      }
    }),
  );

/**
 * What the group commit must keep from the time every append committed in its caller's turn:
 * one process's commands on a stream see each other in the order asked, and a batch of
 * appends (a partner feed) finds changed the streams whose appends were asked for before it.
 */
describe('SQLite group commit, under concurrent callers and other processes', () => {
  it('commands on one stream in callbacks of their own, several waiting on one commit: each loads the one before it, none conflicts', async () => {
    const store = SqliteEventStore.open(join(dir, 'same-stream.sqlite'));
    await store.append('s', 0, [event()]);
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => command(store, 's')));
    assert.deepEqual(outcomes, outcomes.map(() => 'appended'));
    assert.deepEqual((await store.readStream('s')).map((stored) => stored.version), [1, 2, 3, 4, 5, 6, 7]);
    await store.close();
  });

  it('a burst of 20 commands on one stream, then one every turn for 300 turns: none refused, none waits more than 2 turns (the burst does not stay queued)', async () => {
    const store = SqliteEventStore.open(join(dir, 'hot-stream.sqlite'));
    await store.append('s', 0, [event()]);
    let turn = 0;
    const waited: number[] = [];
    const timed = async () => {
      const asked = turn;
      const outcome = await command(store, 's');
      waited.push(turn - asked);
      return outcome;
    };
    const commands = Array.from({ length: 20 }, timed);
    await new Promise<void>((done) => {
      const next = () => {
        turn += 1;
        if (turn > 300) return done();
        commands.push(timed());
        setImmediate(next);
      };
      next();
    });
    const outcomes = await Promise.all(commands);
    assert.deepEqual(outcomes, outcomes.map(() => 'appended'));
    assert.ok(Math.max(...waited) <= 2, `a command waited ${Math.max(...waited)} turns`);
    await store.close();
  });

  it('the same through loadStreams (a batch’s loads)', async () => {
    const store = SqliteEventStore.open(join(dir, 'same-stream-batched.sqlite'));
    await store.append('s', 0, [event()]);
    const outcomes = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<string>((settled) =>
            setImmediate(async () => {
              const [{ events }] = await store.loadStreams([{ streamId: 's', schema: 'schema', afterVersion: 0 }]);
              await store.append('s', events.length, [event()]).then(() => settled('appended'), (error: Error) => settled(error.constructor.name));
            }),
          ),
      ),
    );
    assert.deepEqual(outcomes, outcomes.map(() => 'appended'));
    await store.close();
  });

  it('a batch of appends after a single append queued on the same stream: the single one commits, the batch finds the stream changed', async () => {
    const store = SqliteEventStore.open(join(dir, 'batch-after-single.sqlite'));
    await store.append('s', 0, [event()]);
    const single = store.append('s', 1, [event()]);
    const outcome = await store.appendMany([{ streamId: 's', expectedVersion: 1, events: [event()] }]);
    assert.deepEqual(outcome, { conflicts: [{ index: 0, current: 2 }] });
    const [stored] = await single;
    assert.equal((await store.readStream('s', { afterVersion: 1 }))[0].eventId, stored.eventId);
    await store.close();
  });

  it('a claim of a key whose answer an append queued carries: the answer to replay, not "in progress" (a request sent twice at once)', async () => {
    const store = SqliteEventStore.open(join(dir, 'claim-after-answer.sqlite'));
    const now = new Date();
    const later = new Date(now.getTime() + 60_000);
    const claim = (owner: string) => store.claimIdempotencyKey({ key: 'k', requestHash: 'h', owner, createdAt: now, expiresAt: later, standIn: IN_PROGRESS_STAND_IN });
    assert.deepEqual(await claim('first'), { claimed: true });
    const answer = { status: 201, body: { id: 'p', version: 1 }, headers: { etag: '"1"' } };
    const appended = store.append('s', 0, [event()], { idempotency: { key: 'k', requestHash: 'h', ...answer, createdAt: now, expiresAt: later, owner: 'first' } });
    const second = await claim('second');
    assert.ok('answered' in second, JSON.stringify(second));
    assert.deepEqual(second.answered.body, answer.body);
    await appended;
    await store.close();
  });

  it('two changes of one offer, each reading its pharmacy as a fact, while the pharmacy changes in the same turn: both apply, one after the other', async () => {
    const store = SqliteEventStore.open(join(dir, 'facts.sqlite'));
    await store.append('pharmacy', 0, [event()]);
    await store.append('offer', 0, [event()]);
    /** An offer's command: its own stream, then its pharmacy's (facts), then the append at the version it loaded. */
    const changeOffer = () =>
      new Promise<string>((settled) =>
        setImmediate(async () => {
          try {
            const { events } = await store.loadStream('offer', 'schema', 0);
            await store.loadStream('pharmacy', 'schema', 0);
            await store.append('offer', events.length, [event()]);
            settled('appended');
          } catch (error) {
            settled((error as Error).constructor.name);
          }
        }),
      );
    const changePharmacy = new Promise<string>((settled) => setImmediate(() => store.append('pharmacy', 1, [event()]).then(() => settled('appended'), (error: Error) => settled(error.constructor.name))));
    assert.deepEqual(await Promise.all([changePharmacy, changeOffer(), changeOffer()]), ['appended', 'appended', 'appended']);
    assert.deepEqual((await store.readStream('offer')).map((stored) => stored.version), [1, 2, 3]);
    await store.close();
  });

  it('a request sent twice at once while another command changes its stream: the second copy gets the first one’s answer', async () => {
    const store = SqliteEventStore.open(join(dir, 'twice-while-changed.sqlite'));
    await store.append('s', 0, [event()]);
    const now = new Date();
    const later = new Date(now.getTime() + 60_000);
    const attempt = (owner: string) =>
      new Promise<string>((settled) =>
        setImmediate(async () => {
          const claim = await store.claimIdempotencyKey({ key: 'k', requestHash: 'h', owner, createdAt: now, expiresAt: later, standIn: IN_PROGRESS_STAND_IN });
          if (!('claimed' in claim)) return settled(Object.keys(claim)[0]);
          const { events } = await store.loadStream('s', 'schema', 0);
          await store.append('s', events.length, [event()], { idempotency: { key: 'k', requestHash: 'h', status: 200, body: {}, headers: {}, createdAt: now, expiresAt: later, owner } });
          settled('appended');
        }),
      );
    const other = new Promise<string>((settled) => setImmediate(() => store.append('s', 1, [event()]).then(() => settled('appended'), (error: Error) => settled(error.constructor.name))));
    assert.deepEqual(await Promise.all([other, attempt('a'), attempt('b')]), ['appended', 'appended', 'answered']);
    await store.close();
  });

  it('another process holding the write lock: the groups of one turn wait for it once (busy_timeout), not once each, and all fail, none stored', async () => {
    const file = join(dir, 'busy.sqlite');
    const store = SqliteEventStore.open(file);
    await store.append('warm', 0, [event()]);
    const lock = await lockHeldElsewhere(file, 'IMMEDIATE');
    try {
      const started = performance.now();
      const outcomes = await Promise.allSettled(Array.from({ length: 2 * MOST_APPENDS_PER_COMMIT + 1 }, (_, index) => store.append(`busy-${index}`, 0, [event()])));
      const waited = performance.now() - started;
      assert.ok(waited < 8_000, `the process stood still ${Math.round(waited)} ms`);
      const refusal = (reason: unknown) => (reason instanceof ServiceUnavailable ? (reason.cause as { code?: string }).code : String(reason));
      assert.deepEqual(new Set(outcomes.map((outcome) => (outcome.status === 'rejected' ? refusal(outcome.reason) : 'stored'))), new Set(['SQLITE_BUSY']));
    } finally {
      await lock.release();
    }
    assert.deepEqual((await store.readAll(0, 10)).map((stored) => stored.streamId), ['warm']);
    await store.append('after', 0, [event()]);
    await store.close();
  });

  it('another process holding the write lock: an append and an Idempotency-Key claim are refused as unavailable (a 503 with Retry-After, nothing stored), not as an unhandled error (a 500)', async () => {
    const file = join(dir, 'busy-unavailable.sqlite');
    const store = SqliteEventStore.open(file);
    await store.append('warm', 0, [event()]);
    const lock = await lockHeldElsewhere(file, 'IMMEDIATE');
    const refusal = (error: unknown) => {
      assert.ok(error instanceof ServiceUnavailable, `refused with ${String(error)}`);
      assert.ok(Number(error.headers['retry-after']) > 0);
      assert.equal((error.cause as { code?: string }).code, 'SQLITE_BUSY');
      return true;
    };
    try {
      await assert.rejects(store.append('busy', 0, [event()]), refusal);
      const now = new Date();
      await assert.rejects(
        store.claimIdempotencyKey({ key: 'busy-key', requestHash: 'h', owner: 'o', createdAt: now, expiresAt: new Date(now.getTime() + 60_000), standIn: IN_PROGRESS_STAND_IN }),
        refusal,
      );
    } finally {
      await lock.release();
    }
    assert.deepEqual((await store.readAll(0, 10)).map((stored) => stored.streamId), ['warm']);
    await store.close();
  });
});

/** Counts turns of the event loop (setImmediate callbacks) until stopped. */
function turnCounter() {
  let turn = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    turn += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  return { now: () => turn, stop: () => (running = false) };
}

describe('SQLite group commit: reads of a stream whose append is queued', () => {
  it('loads that never append (a command’s facts: the pharmacy an offer names) do not wait a turn each behind one queued append', async () => {
    const store = SqliteEventStore.open(join(dir, 'readers.sqlite'));
    await store.append('pharmacy', 0, [event()]);
    const turns = turnCounter();
    // A change of the pharmacy, then 50 offers' commands reading it in the same turn.
    const change = store.append('pharmacy', 1, [event()]);
    const waited = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const asked = turns.now();
        await store.loadStream('pharmacy', 'schema', 0);
        return turns.now() - asked;
      }),
    );
    turns.stop();
    await change;
    assert.ok(Math.max(...waited) <= 2, `a read of the pharmacy waited ${Math.max(...waited)} turns`);
    await store.close();
  });

  it('a stream read by 2 commands a turn behind a queued append: no read waits, none piles up', async () => {
    const store = SqliteEventStore.open(join(dir, 'hot-reads.sqlite'));
    await store.append('product', 0, [event()]);
    const turns = turnCounter();
    const change = store.append('product', 1, [event()]);
    const waited: number[] = [];
    const reads: Promise<void>[] = [];
    await new Promise<void>((done) => {
      const next = () => {
        if (turns.now() > 200) return done();
        for (let k = 0; k < 2; k += 1) {
          const asked = turns.now();
          reads.push(store.loadStream('product', 'schema', 0).then(() => void waited.push(turns.now() - asked)));
        }
        setImmediate(next);
      };
      next();
    });
    const queuedAtTheEnd = reads.length - waited.length;
    await Promise.all(reads);
    turns.stop();
    await change;
    assert.ok(queuedAtTheEnd <= 4, `${queuedAtTheEnd} reads still waiting after 200 turns`);
    assert.ok(Math.max(...waited) <= 3, `a read waited ${Math.max(...waited)} turns`);
    await store.close();
  });
});

/**
 * A load by a caller holding a stream's last version answers from the versions the store
 * knows while no other connection committed (PRAGMA data_version), not from the index: what
 * another connection appended must still be seen, in this process within the same turn.
 */
/** Another process's commit, as SQLite sees it: a connection of its own, the event inserted as the store would. */
function commitElsewhere(file: string, streamId: string, version: number) {
  const other = new Database(file);
  try {
    other
      .prepare("INSERT INTO events (event_id, stream_id, version, type, data, metadata, occurred_at) VALUES (?, ?, ?, 'T', '{}', '{}', ?)")
      .run(randomUUID(), streamId, version, new Date().toISOString());
  } finally {
    other.close();
  }
}

const nextTurn = () => new Promise((turned) => setImmediate(turned));

/** A store on a file of its own, stream `s` at version 1 and known so (a load found it current), each of `others` at version 1. */
async function storeKnowingS(name: string, ...others: string[]) {
  const file = join(dir, `${name}.sqlite`);
  const store = SqliteEventStore.open(file);
  for (const streamId of ['s', ...others]) await store.append(streamId, 0, [event()]);
  assert.deepEqual((await store.loadStream('s', 'schema', 1)).events, [], 'version 1 is the last');
  return { file, store };
}

describe('SQLite store: stream versions known between loads', () => {
  it('another store of this process appends in the same turn (no turn of the event loop between): the next load sees it', async () => {
    const { file, store: mine } = await storeKnowingS('known-in-process');
    const other = SqliteEventStore.open(file);
    const outcome = await other.appendMany([{ streamId: 's', expectedVersion: 1, events: [event()] }]);
    assert.ok('stored' in outcome);
    assert.deepEqual((await mine.loadStream('s', 'schema', 1)).events.map((stored) => stored.version), [2]);
    await other.close();
    await mine.close();
  });

  it('another process appends: the next load sees it', async () => {
    const { file, store: mine } = await storeKnowingS('known-across-processes');
    const storeModule = require.resolve('../../shared/adapters/sqlite/event-store');
    const writer = spawn(
      process.execPath,
      ['-e', `const { SqliteEventStore } = require(${JSON.stringify(storeModule)}); const store = SqliteEventStore.open(${JSON.stringify(file)}); store.append('s', 1, [{ eventId: 'from-another-process', type: 'T', data: {}, metadata: { correlationId: 'c' } }]).then(() => store.close()).then(() => console.log('appended'));`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((appended) => writer.stdout!.once('data', appended));
    await new Promise((exited) => writer.once('exit', exited));
    assert.deepEqual((await mine.loadStream('s', 'schema', 1)).events.map((stored) => stored.eventId), ['from-another-process']);
    await mine.close();
  });

  it("its own appends keep the known version current, and a refused append changes nothing", async () => {
    const { store } = await storeKnowingS('known-own');
    await store.append('s', 1, [event(), event()]);
    assert.deepEqual((await store.loadStream('s', 'schema', 3)).events, []);
    assert.deepEqual((await store.loadStream('s', 'schema', 1)).events.map((stored) => stored.version), [2, 3]);
    await assert.rejects(store.append('s', 1, [event()]), { name: 'ConcurrencyConflict' });
    const batch = await store.appendMany([{ streamId: 's', expectedVersion: 2, events: [event()] }]);
    assert.deepEqual(batch, { conflicts: [{ index: 0, current: 3 }] });
    assert.deepEqual((await store.loadStream('s', 'schema', 3)).events, []);
    assert.deepEqual((await store.loadStream('s', 'schema', 2)).events.map((stored) => stored.version), [3]);
    await store.close();
  });

  it('a queued append refused because another process appended: a load at the version it expected sees that append, as the refusal said', async () => {
    const { file, store } = await storeKnowingS('known-after-refusal', 'other');
    await nextTurn();
    await nextTurn();
    // The append's commit is asked for first; a load of another stream then asks data_version for the turn.
    const refused = store.append('s', 1, [event()]);
    await store.loadStream('other', 'schema', 1);
    commitElsewhere(file, 's', 2);
    await assert.rejects(refused, { name: 'ConcurrencyConflict', message: /version 2/ });
    assert.deepEqual((await store.loadStream('s', 'schema', 1)).events.map((stored) => stored.version), [2]);
    await store.close();
  });

  it('another process appends, then checkpoints and starts its WAL over, or this store commits only refusals: the next load still sees the append', async () => {
    const { file, store } = await storeKnowingS('known-after-checkpoint', 'x');
    commitElsewhere(file, 's', 2);
    const other = new Database(file);
    other.pragma('wal_checkpoint(TRUNCATE)');
    other.close();
    assert.deepEqual((await store.loadStream('s', 'schema', 1)).events.map((stored) => stored.version), [2]);
    assert.deepEqual((await store.loadStream('s', 'schema', 2)).events, []);
    // A group commit of refusals alone: a write transaction of this connection that writes nothing.
    commitElsewhere(file, 's', 3);
    await assert.rejects(store.append('x', 0, [event()]), { name: 'ConcurrencyConflict' });
    assert.deepEqual((await store.loadStream('s', 'schema', 2)).events.map((stored) => stored.version), [3]);
    await store.close();
  });

  it('a read of this store that sees another process’s append, then a load of that stream in the same turn: the load sees it too', async () => {
    const { file, store } = await storeKnowingS('known-after-a-read');
    commitElsewhere(file, 's', 2);
    assert.deepEqual((await store.readAll(0, 10)).map((stored) => stored.version), [1, 2], 'the read sees version 2');
    assert.deepEqual((await store.loadStream('s', 'schema', 1)).events.map((stored) => stored.version), [2]);
    await store.close();
  });

  it('a load in the check phase (after a group commit), then another process appends and says so over a socket: the load for that message sees the append', async () => {
    const { file, store } = await storeKnowingS('known-after-a-message', 'other');
    const server = createServer();
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const accepted = new Promise<Socket>((connected) => server.once('connection', connected));
    const client = createConnection((server.address() as AddressInfo).port, '127.0.0.1');
    const [receiver] = await Promise.all([accepted, new Promise((connected) => client.once('connect', connected))]);
    await nextTurn();
    await nextTurn();
    const seen = new Promise<number[]>((answered) =>
      receiver.once('data', async () => answered((await store.loadStream('s', 'schema', 1)).events.map((stored) => stored.version))),
    );
    setImmediate(async () => {
      await store.loadStream('other', 'schema', 1);
      commitElsewhere(file, 's', 2);
      client.write('s is at version 2');
    });
    try {
      assert.deepEqual(await seen, [2]);
    } finally {
      client.destroy();
      server.close();
      await store.close();
    }
  });
});
