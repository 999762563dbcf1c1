import type { Cache, CacheEntry, CacheTtl } from '../../kernel/ports';

interface Slot {
  value: unknown;
  freshUntil: number;
  staleUntil: number;
}

/**
 * The embedded cache: a bounded LRU map of entries that stay fresh for their fresh TTL
 * and remain as stale fallbacks until their stale TTL. Values are kept by reference, so
 * callers treat what they get as read-only.
 */
export class MemoryCache implements Cache {
  private readonly slots = new Map<string, Slot>();
  private readonly counters = new Map<string, number>();
  private readonly windows = new Map<string, { count: number; resetsAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get<T>(key: string): Promise<CacheEntry<T> | undefined> {
    const slot = this.slots.get(key);
    if (!slot) return undefined;
    const now = this.now();
    if (now >= slot.staleUntil) {
      this.slots.delete(key);
      return undefined;
    }
    // Re-insert to mark it the most recently used.
    this.slots.delete(key);
    this.slots.set(key, slot);
    return { value: slot.value as T, fresh: now < slot.freshUntil };
  }

  async set<T>(key: string, value: T, ttl: CacheTtl): Promise<void> {
    const now = this.now();
    this.slots.delete(key);
    this.slots.set(key, {
      value,
      freshUntil: now + ttl.freshSeconds * 1000,
      staleUntil: now + Math.max(ttl.freshSeconds, ttl.staleSeconds) * 1000,
    });
    while (this.slots.size > this.maxEntries) this.slots.delete(this.slots.keys().next().value as string);
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
      this.windows.set(key, window);
    }
    window.count += 1;
    if (this.windows.size > this.maxEntries) this.dropEndedWindows(now);
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

  private dropEndedWindows(now: number) {
    for (const [key, window] of this.windows) if (window.resetsAt <= now) this.windows.delete(key);
  }

  async counter(key: string): Promise<number> {
    return this.counters.get(key) ?? 0;
  }

  async increment(key: string): Promise<number> {
    const next = (this.counters.get(key) ?? 0) + 1;
    this.counters.set(key, next);
    return next;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.slots.clear();
  }
}
