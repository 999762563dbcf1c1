import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchingLoads } from '../../shared/kernel/batched-loads';
import type { EventStore, StreamLoad, StreamLoadRequest } from '../../shared/kernel/ports';

/** A store whose one stream, `bad`, cannot be read: a shared read that includes it fails whole. */
function storeWithOneBadStream() {
  const calls: string[] = [];
  const load = (streamId: string): StreamLoad => ({ events: [], snapshot: undefined, streamId }) as unknown as StreamLoad;
  const store = {
    async loadStreams(requests: StreamLoadRequest[]) {
      calls.push(`many:${requests.map((request) => request.streamId).join(',')}`);
      if (requests.some((request) => request.streamId === 'bad')) throw new Error('unreadable stream');
      return requests.map((request) => load(request.streamId));
    },
    async loadStream(streamId: string) {
      calls.push(`one:${streamId}`);
      if (streamId === 'bad') throw new Error('unreadable stream');
      return load(streamId);
    },
  };
  return { store: store as unknown as EventStore, calls };
}

describe('loads batched within one turn of the event loop', () => {
  it('given loads asked for together, then one shared read answers them all', async () => {
    const { store, calls } = storeWithOneBadStream();
    const view = batchingLoads(store);
    const loads = await Promise.all(['a', 'b', 'c'].map((id) => view.loadStream(id, 'v1', 0)));
    assert.deepEqual(loads.map((load) => (load as unknown as { streamId: string }).streamId), ['a', 'b', 'c']);
    assert.deepEqual(calls, ['many:a,b,c']);
  });

  it('given one unreadable stream among them, when the shared read fails, then each is tried alone and only that one fails', async () => {
    const { store, calls } = storeWithOneBadStream();
    const view = batchingLoads(store);
    const outcomes = await Promise.allSettled(['a', 'bad', 'c'].map((id) => view.loadStream(id, 'v1', 0)));
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual(calls, ['many:a,bad,c', 'one:a', 'one:bad', 'one:c']);
  });

  it('given a lone load that fails, then it fails without a second try', async () => {
    const { store, calls } = storeWithOneBadStream();
    await assert.rejects(batchingLoads(store).loadStream('bad', 'v1', 0), /unreadable/);
    assert.deepEqual(calls, ['many:bad']);
  });

  it('given the same stream asked for twice in a turn, then it is read once and both callers get its load', async () => {
    const { store, calls } = storeWithOneBadStream();
    const view = batchingLoads(store);
    const loads = await Promise.all(['a', 'b', 'a', 'a'].map((id) => view.loadStream(id, 'v1', 0)));
    assert.deepEqual(loads.map((load) => (load as unknown as { streamId: string }).streamId), ['a', 'b', 'a', 'a']);
    assert.deepEqual(calls, ['many:a,b']);
    // Another version or schema of it is another load.
    calls.length = 0;
    await Promise.all([view.loadStream('a', 'v1', 0), view.loadStream('a', 'v1', 3), view.loadStream('a', 'v2', 0)]);
    assert.deepEqual(calls, ['many:a,a,a']);
  });

  it('given a shared read that fails with a stream asked for twice, then that stream is tried alone once, for both', async () => {
    const { store, calls } = storeWithOneBadStream();
    const view = batchingLoads(store);
    const outcomes = await Promise.allSettled(['a', 'bad', 'a', 'bad'].map((id) => view.loadStream(id, 'v1', 0)));
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    assert.deepEqual(calls, ['many:a,bad', 'one:a', 'one:bad']);
  });

  it('given one stream asked for twice whose read fails, then both fail without a second try', async () => {
    const { store, calls } = storeWithOneBadStream();
    const view = batchingLoads(store);
    const outcomes = await Promise.allSettled(['bad', 'bad'].map((id) => view.loadStream(id, 'v1', 0)));
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ['rejected', 'rejected']);
    assert.deepEqual(calls, ['many:bad']);
  });
});
