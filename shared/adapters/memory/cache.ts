import type { Cache, CacheEntry, CacheTtl } from '../../kernel/ports';
import { approximateSize } from '../../kernel/size';

export { approximateSize };

interface Slot {
  value: unknown;
  freshUntil: number;
  staleUntil: number;
  /** The slot's share of the byte bound, as estimated when it was set. */
  bytes: number;
  /** When it was last put at the back of the order, on the cache's own count of placements. */
  placed: number;
}

/**
 * What a slot costs beyond its key and value (the map entry, the slot object and its
 * numbers; a slot holding `true` under a 50-character key measured 261 bytes of heap):
 * without it a flood of tiny entries (a `true` per known login client) would count for a
 * few bytes each and the bound would admit millions of them.
 */
const SLOT_OVERHEAD_BYTES = 200;

/**
 * Rate-limit windows and generation counters are bounded by count: each is a key and a
 * number or two (with a 50-character key, 250 and 175 bytes of heap measured), so 50 000
 * of each stay near 21 MB. They do not share the byte bound of the cached values: a flood
 * of large cached reads would otherwise evict the login throttling's windows.
 */
export const DEFAULT_MAX_WINDOWS = 50_000;
export const DEFAULT_MAX_COUNTERS = 50_000;

/**
 * An entry larger than this share of the bound is not cached: a few of them would empty
 * the cache of everything else at each miss.
 */
const LARGEST_SHARE = 4;

/**
 * The embedded cache: an LRU map of entries bounded by their approximate size in bytes
 * (see `approximateSize`), that stay fresh for their fresh TTL and remain as stale
 * fallbacks until their stale TTL. Values are kept by reference, so callers treat what
 * they get as read-only.
 *
 * A read moves its entry to the back of the order only when the entry is in the older half
 * of it: moving a key in a JavaScript Map (delete, then set) costs time in proportion to
 * the map's size (1 µs at 1 500 entries, 5 µs at 5 000, measured), and the hot entries,
 * read on every request, are in the newer half almost always. Eviction goes from the front,
 * so a read entry still outlives every entry that was in the older half when it was read;
 * within the newer half the order is the order of placement, not of the last read.
 */
export class MemoryCache implements Cache {
  private readonly slots = new Map<string, Slot>();
  private bytes = 0;
  /** How many times an entry was put at the back of the order (set, or moved by a read). */
  private placements = 0;
  private readonly counters = new Map<string, number>();
  /** What an unknown counter reads: 0 until counters were shed (see `shedCounters`). */
  private counterBase = 0;
  private highestCount = 0;
  private readonly windows = new Map<string, { count: number; resetsAt: number }>();
  /** Remembered members by key, each with when it was renewed; bounded as the windows are, apart from the cached reads. */
  private readonly remembered = new Map<string, Map<string, number>>();

  constructor(
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
    private readonly maxWindows = DEFAULT_MAX_WINDOWS,
    private readonly maxCounters = DEFAULT_MAX_COUNTERS,
  ) {}

  /** The estimated bytes of the entries held now (never more than the bound). */
  get size(): { entries: number; bytes: number } {
    return { entries: this.slots.size, bytes: this.bytes };
  }

  async get<T>(key: string): Promise<CacheEntry<T> | undefined> {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    const now = this.now();
    if (now >= slot.staleUntil) {
      this.drop(key, slot);
      return undefined;
    }
    // At most `placements - slot.placed` entries were placed after it: under half the map
    // means it is in the newer half already. Otherwise re-inserted, the most recently used.
    if (this.placements - slot.placed >= this.slots.size / 2) {
      this.slots.delete(key);
      this.slots.set(key, slot);
      slot.placed = ++this.placements;
    }
    return { value: slot.value as T, fresh: now < slot.freshUntil };
  }

  async set<T>(key: string, value: T, ttl: CacheTtl): Promise<void> {
    const now = this.now();
    const previous = this.slots.get(key);
    // Dropped even when the new value is refused: the old one must not answer in its place.
    if (previous) this.drop(key, previous);
    const bytes = SLOT_OVERHEAD_BYTES + key.length + approximateSize(value);
    if (bytes > this.maxBytes / LARGEST_SHARE) return;
    this.slots.set(key, {
      value,
      freshUntil: now + ttl.freshSeconds * 1000,
      staleUntil: now + Math.max(ttl.freshSeconds, ttl.staleSeconds) * 1000,
      bytes,
      placed: ++this.placements,
    });
    this.bytes += bytes;
    // The map keeps insertion order and reads re-insert, so the first key is the least recently used.
    for (const [oldest, slot] of this.slots) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(oldest, slot);
    }
  }

  private drop(key: string, slot: Slot) {
    this.slots.delete(key);
    this.bytes -= slot.bytes;
  }

  async invalidate(keys: string[]): Promise<void> {
    for (const key of keys) {
      const slot = this.slots.get(key);
      if (slot) slot.freshUntil = 0;
    }
  }

  async incrementWithin(key: string, windowSeconds: number): Promise<{ count: number; resetsInSeconds: number }> {
    const now = this.now();
    let window = this.windows.get(key);
    if (!window || window.resetsAt <= now) {
      window = { count: 0, resetsAt: now + windowSeconds * 1000 };
      // Re-inserted, so the map's order stays the order the windows opened in.
      this.windows.delete(key);
      this.windows.set(key, window);
      if (this.windows.size > this.maxWindows) this.shedWindows(now);
    }
    window.count += 1;
    return { count: window.count, resetsInSeconds: Math.ceil((window.resetsAt - now) / 1000) };
  }

  async uncount(key: string): Promise<void> {
    const window = this.windows.get(key);
    if (window && window.resetsAt > this.now() && window.count > 0) window.count -= 1;
  }

  async peekWindow(key: string): Promise<{ count: number; resetsInSeconds: number } | undefined> {
    const window = this.windows.get(key);
    const now = this.now();
    if (!window || window.resetsAt <= now) return undefined;
    return { count: window.count, resetsInSeconds: Math.ceil((window.resetsAt - now) / 1000) };
  }

  async resetWindow(key: string): Promise<void> {
    this.windows.delete(key);
  }

  async remember(key: string, member: string, seconds: number, keep: number): Promise<void> {
    const now = this.now();
    const members = this.remembered.get(key) ?? new Map<string, number>();
    // Re-inserted, so each map's order is the order of renewal: the first are the least recently renewed.
    members.delete(member);
    members.set(member, now);
    for (const [name, renewed] of members) if (members.size > keep || renewed <= now - seconds * 1000) members.delete(name);
    this.remembered.delete(key);
    this.remembered.set(key, members);
    // The keys renewed longest ago go first past the bound, as the windows do.
    for (const name of this.remembered.keys()) {
      if (this.remembered.size <= this.maxWindows) break;
      this.remembered.delete(name);
    }
  }

  async recalls(key: string, member: string, seconds: number): Promise<boolean> {
    const renewed = this.remembered.get(key)?.get(member);
    return renewed !== undefined && renewed > this.now() - seconds * 1000;
  }

  /**
   * Over the bound: the ended windows go, and if that is not enough, the longest open
   * ones, down to nine tenths of the bound so that the next thousands of new windows do not
   * each pay a full pass. Forgetting an open window forgives its count; the bound puts the
   * instance's memory first (instances that share throttling use Redis, which has its own).
   */
  private shedWindows(now: number) {
    for (const [key, window] of this.windows) if (window.resetsAt <= now) this.windows.delete(key);
    const target = Math.max(1, Math.floor(this.maxWindows * 0.9));
    for (const key of this.windows.keys()) {
      if (this.windows.size <= target) break;
      this.windows.delete(key);
    }
  }

  async counter(key: string): Promise<number> {
    return this.counters.get(key) ?? this.counterBase;
  }

  async increment(key: string): Promise<number> {
    const next = (this.counters.get(key) ?? this.counterBase) + 1;
    this.highestCount = Math.max(this.highestCount, next);
    // Re-inserted, so the first keys are those bumped longest ago.
    this.counters.delete(key);
    this.counters.set(key, next);
    if (this.counters.size > this.maxCounters) this.shedCounters();
    return next;
  }

  /**
   * Over the bound: the counters bumped longest ago go, down to nine tenths of the bound.
   * A forgotten counter must not read a value it had before, or an entry cached under that
   * generation would pass as current: from now on an unknown counter starts above every
   * value any counter has had (callers compare generations for equality, never with 0), so
   * entries cached under a forgotten generation miss once and are read again.
   */
  private shedCounters() {
    const target = Math.max(1, Math.floor(this.maxCounters * 0.9));
    for (const key of this.counters.keys()) {
      if (this.counters.size <= target) break;
      this.counters.delete(key);
    }
    this.counterBase = Math.max(this.highestCount, this.counterBase) + 1;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.slots.clear();
    this.bytes = 0;
  }
}
