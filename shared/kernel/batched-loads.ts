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
 * functions) knowing. Everything else goes to the store as it is, and the view keeps the
 * states the store's aggregate cache keeps.
 */
export function batchingLoads(eventStore: EventStore): EventStore {
  let pending: PendingLoad[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    eventStore.loadStreams(batch.map((load) => load.request)).then(
      (loads) => batch.forEach((load, index) => load.resolve(loads[index])),
      (error: unknown) => {
        // One stream the store cannot read must not fail the others that shared its read:
        // each is tried alone, and only what fails alone fails.
        if (batch.length === 1) return batch[0].reject(error);
        for (const { request, resolve, reject } of batch) eventStore.loadStream(request.streamId, request.schema, request.afterVersion).then(resolve, reject);
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
