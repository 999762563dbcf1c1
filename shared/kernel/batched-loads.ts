import { shareAggregateCache } from './aggregate-cache';
import type { EventStore, StreamLoad, StreamLoadRequest } from './ports';

interface PendingLoad {
  request: StreamLoadRequest;
  resolve(load: StreamLoad): void;
  reject(error: unknown): void;
}

/**
 * The event store as many concurrent commands see it (a feed's items): the `loadStream`s
 * asked for within one turn of the event loop go out as one `loadStreams`, so loading
 * 500 offers, or the pharmacies and products their items name, is one round trip instead
 * of one each, without the callers (loadAggregate, the contexts' published status
 * functions) knowing; a stream asked for twice in the turn is read once. Everything else goes to the store as it is, and the view keeps the
 * states the store's aggregate cache keeps.
 */
export function batchingLoads(eventStore: EventStore): EventStore {
  let pending: PendingLoad[] = [];
  const flush = () => {
    const groups = sameLoadsTogether(pending);
    pending = [];
    const resolveAll = (group: PendingLoad[]) => (load: StreamLoad) => group.forEach((waiter) => waiter.resolve(load));
    const rejectAll = (group: PendingLoad[]) => (error: unknown) => group.forEach((waiter) => waiter.reject(error));
    eventStore.loadStreams(groups.map(([first]) => first.request)).then(
      (loads) => groups.forEach((group, index) => resolveAll(group)(loads[index])),
      (error: unknown) => {
        // One stream the store cannot read must not fail the others that shared its read:
        // each is tried alone, and only what fails alone fails.
        if (groups.length === 1) return rejectAll(groups[0])(error);
        for (const group of groups) {
          const { streamId, schema, afterVersion } = group[0].request;
          eventStore.loadStream(streamId, schema, afterVersion).then(resolveAll(group), rejectAll(group));
        }
      },
    );
  };
  const loadStream = (streamId: string, schema: string, afterVersion: number) =>
    new Promise<StreamLoad>((resolve, reject) => {
      // setImmediate, not a microtask: callers that await a few promises before loading still join this batch.
      if (pending.length === 0) setImmediate(flush);
      pending.push({ request: { streamId, schema, afterVersion }, resolve, reject });
    });
  const view = new Proxy(eventStore, {
    get(target, property) {
      if (property === 'loadStream') return loadStream;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  shareAggregateCache(view, eventStore);
  return view;
}

/** The loads asked for, those of the same stream, schema and version together: read once, the load shared (callers only read it). */
function sameLoadsTogether(pending: PendingLoad[]): PendingLoad[][] {
  const groups = new Map<string, PendingLoad[]>();
  for (const load of pending) {
    const { streamId, schema, afterVersion } = load.request;
    const key = `${streamId}\u0000${schema}\u0000${afterVersion}`;
    const group = groups.get(key);
    if (group) group.push(load);
    else groups.set(key, [load]);
  }
  return [...groups.values()];
}

const sharedViews = new WeakMap<EventStore, EventStore>();

/**
 * The one `batchingLoads` view of an event store for the whole process: handlers of a
 * subscription that the bus runs several at a time (maxConcurrentCalls, a RabbitMQ
 * prefetch) share it, so the loads of the deliveries in flight go out together, while each
 * delivery still succeeds or fails, and is settled, on its own. A failed read fails the
 * deliveries that shared it, each of which the bus then redelivers by itself.
 */
export function sharedBatchingLoads(eventStore: EventStore): EventStore {
  let view = sharedViews.get(eventStore);
  if (!view) {
    view = batchingLoads(eventStore);
    sharedViews.set(eventStore, view);
  }
  return view;
}
