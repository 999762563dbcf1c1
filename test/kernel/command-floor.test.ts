import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { migrate, SqliteEventStore } from '../../shared/adapters/sqlite/event-store';
import { AggregateCache, aggregateCacheOf } from '../../shared/kernel/aggregate-cache';
import { loadAggregate } from '../../shared/kernel/command';
import { flushPublishedMarks, MARK_PUBLISHED_AFTER_MS, MARK_PUBLISHED_BATCH, markPublishedSoon } from '../../shared/kernel/outbox-marks';
import type { EventStore } from '../../shared/kernel/ports';

/** A store on a private in-memory database, with the calls of interest recorded. */
function recordedStore() {
  const db = new Database(':memory:');
  migrate(db);
  const inner = new SqliteEventStore(db);
  const loads: number[] = [];
  const marks: string[][] = [];
  let failMarks = false;
  const store = new Proxy(inner, {
    get(target, property) {
      if (property === 'loadStream') {
        return (streamId: string, schema: string, afterVersion: number) => (loads.push(afterVersion), target.loadStream(streamId, schema, afterVersion));
      }
      if (property === 'markPublished') {
        return async (ids: string[]) => {
          marks.push(ids);
          if (failMarks) throw new Error('database away');
          return target.markPublished(ids);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as EventStore;
  return { store, loads, marks, failing: (fail: boolean) => (failMarks = fail) };
}

const counter = { initialState: { count: 0, types: [] as string[] }, evolve: (state: { count: number; types: string[] }, event: { type: string }) => ({ count: state.count + 1, types: [...state.types, event.type] }) };
const policy = { schema: 'counter-v1', every: 1000 };
const unexpected = (error: unknown) => assert.fail(`a mark failed: ${String(error)}`);
const event = (type = 'Counted') => ({ eventId: randomUUID(), type, data: {}, metadata: { correlationId: 'c' } });

describe('aggregate state kept between commands', () => {
  it('keeps the most recently used states, up to its capacity, and never goes back to an older version', () => {
    // Room for two of these small states (about 71 bytes each), not three.
    const cache = new AggregateCache(160, 160);
    cache.set('a', 's', { version: 1, state: 'a1', sinceSnapshot: 1 });
    cache.set('b', 's', { version: 1, state: 'b1', sinceSnapshot: 1 });
    cache.get('a', 's');
    cache.set('c', 's', { version: 1, state: 'c1', sinceSnapshot: 1 });
    assert.equal(cache.get('b', 's'), undefined, 'the least recently used went');
    assert.equal(cache.get('a', 's')?.state, 'a1');
    cache.set('a', 's', { version: 3, state: 'a3', sinceSnapshot: 3 });
    cache.set('a', 's', { version: 2, state: 'a2', sinceSnapshot: 2 });
    assert.equal(cache.get('a', 's')?.state, 'a3', 'a command finishing late does not replace a newer state');
    assert.equal(cache.get('a', 'other-schema'), undefined, 'per snapshot schema');
  });

  it('given states that grow with their streams, the kept ones stay under the byte bound, and one too heavy is not kept', () => {
    const cache = new AggregateCache(1024 * 1024);
    const session = (refreshes: number) => ({ usedHashes: Array.from({ length: refreshes }, (_, i) => `hash-${i}-${'x'.repeat(40)}`) });
    for (let i = 0; i < 2_000; i++) cache.set(`session-${i}`, 's', { version: 500, state: session(50), sinceSnapshot: 1 });
    assert.ok(cache.weight <= 1024 * 1024, `${cache.weight} bytes kept`);
    assert.ok(cache.size > 100 && cache.size < 2_000, `${cache.size} states kept: the newest, as many as fit`);
    assert.ok(cache.get('session-1999', 's'));
    cache.set('huge', 's', { version: 1, state: session(5_000), sinceSnapshot: 1 });
    assert.equal(cache.get('huge', 's'), undefined, 'a state heavier than a sixteenth of the bound is loaded each time instead');
    cache.forget('session-1999', 's');
    assert.equal(cache.get('session-1999', 's'), undefined);
  });

  it('reads only the events after the kept version, and still folds in what another instance appended', async () => {
    const { store, loads } = recordedStore();
    const id = `counter-${randomUUID()}`;
    await store.append(id, 0, [event('A'), event('B')]);
    assert.deepEqual(await loadAggregate(store, counter, policy, id), { state: { count: 2, types: ['A', 'B'] }, version: 2, sinceSnapshot: 2 });
    // Another instance (or a raw append) writes: this instance's kept state is behind, and the tail says so.
    await store.append(id, 2, [event('C')]);
    assert.deepEqual((await loadAggregate(store, counter, policy, id)).state, { count: 3, types: ['A', 'B', 'C'] });
    assert.deepEqual(loads, [0, 2], 'the second load read after version 2 only');
    assert.equal((await loadAggregate(store, counter, policy, id)).version, 3);
    assert.deepEqual(loads, [0, 2, 3]);
  });

  it('starts from a snapshot newer than the kept state', async () => {
    const { store } = recordedStore();
    const id = `counter-${randomUUID()}`;
    await store.append(id, 0, [event('A')]);
    await loadAggregate(store, counter, policy, id);
    await store.append(id, 1, [event('B'), event('C')]);
    await store.writeSnapshot(id, policy.schema, { version: 2, state: { count: 2, types: ['A', 'B'] } });
    assert.deepEqual(await loadAggregate(store, counter, policy, id), { state: { count: 3, types: ['A', 'B', 'C'] }, version: 3, sinceSnapshot: 1 });
  });

  it('is per event store: another store starts empty', () => {
    const [a, b] = [recordedStore().store, recordedStore().store];
    aggregateCacheOf(a).set('x', 's', { version: 1, state: 1, sinceSnapshot: 1 });
    assert.equal(aggregateCacheOf(b).get('x', 's'), undefined);
  });
});

describe('published marks, off the command path', () => {
  it(`gathers the marks of many commands into one write within ${MARK_PUBLISHED_AFTER_MS} ms`, async () => {
    const { store, marks } = recordedStore();
    const appended = await Promise.all(Array.from({ length: 20 }, () => store.append(`s-${randomUUID()}`, 0, [event()])));
    for (const events of appended) markPublishedSoon(store, events.map((e) => e.eventId), unexpected);
    assert.equal(marks.length, 0, 'nothing written on the caller’s path');
    await new Promise((resolve) => setTimeout(resolve, MARK_PUBLISHED_AFTER_MS + 50));
    assert.equal(marks.length, 1);
    assert.equal(marks[0].length, 20);
    assert.deepEqual(await store.pendingOutbox(0, 100), []);
  });

  it(`writes at once past ${MARK_PUBLISHED_BATCH} marks`, async () => {
    const { store, marks } = recordedStore();
    markPublishedSoon(store, Array.from({ length: MARK_PUBLISHED_BATCH }, () => randomUUID()), unexpected);
    await flushPublishedMarks(store);
    assert.equal(marks.length, 1);
    assert.equal(marks[0].length, MARK_PUBLISHED_BATCH);
  });

  it('loses nothing when the marks cannot be written: the events stay in the outbox for the relay, and the failure is told', async () => {
    const { store, failing } = recordedStore();
    const [stored] = await store.append(`s-${randomUUID()}`, 0, [event()]);
    failing(true);
    const told: unknown[] = [];
    markPublishedSoon(store, [stored.eventId], (error) => told.push(error));
    await flushPublishedMarks(store);
    assert.equal(told.length, 1);
    assert.deepEqual((await store.pendingOutbox(0, 100)).map((e) => e.eventId), [stored.eventId]);
  });
});
