import type { EventStore } from './ports';
import { approximateSize } from './size';
import { WeightedLru } from './weighted-lru';

/** An aggregate's state at a version, as this instance last loaded or wrote it. */
export interface CachedAggregate {
  version: number;
  state: unknown;
  /** Events folded in since the last snapshot this instance knows of: when the next is due. */
  sinceSnapshot: number;
}

/**
 * Enough for the streams an instance touches in a busy minute, bounded by weight, not
 * count: a state may grow with its stream (a session's used refresh tokens), and 10 000
 * such states held 346 MB in a review. Past the bound the least recently used go, and
 * cost a snapshot read again; a state heavier than a sixteenth of it is not kept at all.
 */
export const AGGREGATE_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Aggregate states kept between commands, per event store, least recently used first out.
 * Never trusted alone: loading still reads the stream's events after the cached version,
 * so a write by another instance is folded in and the state stays exact. Deciders are pure
 * (evolve returns a new state), so a cached state is never changed in place.
 */
export class AggregateCache {
  private readonly states: WeightedLru<CachedAggregate>;

  constructor(capacityBytes = AGGREGATE_CACHE_BYTES, largestBytes = capacityBytes / 16) {
    this.states = new WeightedLru(capacityBytes, largestBytes);
  }

  get(streamId: string, schema: string): CachedAggregate | undefined {
    return this.states.get(keyOf(streamId, schema));
  }

  set(streamId: string, schema: string, entry: CachedAggregate): void {
    const key = keyOf(streamId, schema);
    // Two commands of one stream may finish out of order: the newer version stays.
    const known = this.states.peek(key);
    if (known && known.version > entry.version) return;
    this.states.set(key, entry, key.length + approximateSize(entry.state) + 64);
  }

  /** After a conflict: the next load starts from the snapshot again (a restored database may be behind the cache). */
  forget(streamId: string, schema: string): void {
    this.states.delete(keyOf(streamId, schema));
  }

  /** The estimated weight of the kept states. */
  get weight(): number {
    return this.states.weight;
  }

  get size(): number {
    return this.states.size;
  }
}

/** A stream id never holds a NUL, so the key is unambiguous. */
const keyOf = (streamId: string, schema: string) => `${schema}\u0000${streamId}`;

const caches = new WeakMap<EventStore, AggregateCache>();

/** The cache of one event store: another store (a test's, a tool's) starts empty. */
export function aggregateCacheOf(eventStore: EventStore): AggregateCache {
  let cache = caches.get(eventStore);
  if (!cache) {
    cache = new AggregateCache();
    caches.set(eventStore, cache);
  }
  return cache;
}

/** A view of an event store (see batchingLoads) keeps and finds the states its store keeps. */
export function shareAggregateCache(view: EventStore, eventStore: EventStore) {
  caches.set(view, aggregateCacheOf(eventStore));
}
