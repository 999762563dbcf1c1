import type { EventStore } from './ports';

/** An aggregate's state at a version, as this instance last loaded or wrote it. */
export interface CachedAggregate {
  version: number;
  state: unknown;
  /** Events folded in since the last snapshot this instance knows of: when the next is due. */
  sinceSnapshot: number;
}

/**
 * Enough for the streams an instance touches in a busy minute; each entry is one small
 * state. Past it the least recently used go, and cost a snapshot read again.
 */
export const AGGREGATE_CACHE_ENTRIES = 10_000;

/**
 * Aggregate states kept between commands, per event store, least recently used first out.
 * Never trusted alone: loading still reads the stream's events after the cached version,
 * so a write by another instance is folded in and the state stays exact. Deciders are pure
 * (evolve returns a new state), so a cached state is never changed in place.
 */
export class AggregateCache {
  private readonly entries = new Map<string, CachedAggregate>();

  constructor(private readonly capacity = AGGREGATE_CACHE_ENTRIES) {}

  get(streamId: string, schema: string): CachedAggregate | undefined {
    const key = keyOf(streamId, schema);
    const entry = this.entries.get(key);
    if (entry) {
      // Map keeps insertion order: re-inserting makes it the most recently used.
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(streamId: string, schema: string, entry: CachedAggregate): void {
    const key = keyOf(streamId, schema);
    const known = this.entries.get(key);
    // Two commands of one stream may finish out of order: the newer version stays.
    if (known && known.version > entry.version) return;
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** After a conflict: the next load starts from the snapshot again (a restored database may be behind the cache). */
  forget(streamId: string, schema: string): void {
    this.entries.delete(keyOf(streamId, schema));
  }

  get size(): number {
    return this.entries.size;
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
