import { createClient } from 'redis';
import type { Cache, CacheEntry, CacheTtl } from '../../kernel/ports';

type Client = ReturnType<typeof createClient>;

/**
 * The cache on Redis (Azure Cache for Redis in Azure). A value lives under its key for
 * its stale TTL; a separate `:fresh` marker lives for the fresh TTL, so invalidating is
 * deleting the marker and the stale copy stays for outages. Commands fail at once while
 * Redis is unreachable (no offline queue) and the client reconnects by itself: the
 * query side then reads the store, as it does on any cache miss.
 */
export class RedisCache implements Cache {
  private constructor(
    private readonly client: Client,
    private readonly prefix: string,
  ) {}

  static open(url: string, prefix = 'farmacias:', onError: (message: string) => void = () => {}): RedisCache {
    const client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 2_000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5_000) },
    });
    // Without a listener a connection error would end the process; one line per outage is enough.
    let reported = false;
    client.on('error', (error: Error) => {
      if (!reported) onError(`redis unavailable: ${error.message}`);
      reported = true;
    });
    client.on('ready', () => (reported = false));
    // Not awaited: the app starts, and serves from the read store, while Redis is away.
    client.connect().catch(() => {});
    return new RedisCache(client, prefix);
  }

  /** Resolves once connected (for tests and start-up checks); rejects after `timeoutMs`. */
  async ready(timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.client.isReady) {
      if (Date.now() > deadline) throw new Error('redis is not reachable');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private key(key: string) {
    return this.prefix + key;
  }

  async get<T>(key: string): Promise<CacheEntry<T> | undefined> {
    const [value, fresh] = await this.client.mGet([this.key(key), `${this.key(key)}:fresh`]);
    return value === null ? undefined : { value: JSON.parse(value) as T, fresh: fresh !== null };
  }

  async set<T>(key: string, value: T, ttl: CacheTtl): Promise<void> {
    const multi = this.client.multi().set(this.key(key), JSON.stringify(value), { PX: Math.max(ttl.freshSeconds, ttl.staleSeconds, 1) * 1000 });
    if (ttl.freshSeconds > 0) multi.set(`${this.key(key)}:fresh`, '1', { PX: ttl.freshSeconds * 1000 });
    else multi.del(`${this.key(key)}:fresh`);
    await multi.exec();
  }

  async invalidate(keys: string[]): Promise<void> {
    if (keys.length) await this.client.del(keys.map((key) => `${this.key(key)}:fresh`));
  }

  async incrementWithin(key: string, windowSeconds: number): Promise<{ count: number; resetsInSeconds: number }> {
    // The window starts with its first count: SET NX sets the expiry once, INCR keeps it.
    const [, count, ttl] = (await this.client
      .multi()
      .set(this.key(key), '0', { PX: windowSeconds * 1000, NX: true })
      .incr(this.key(key))
      .pTTL(this.key(key))
      .exec()) as unknown as [unknown, number, number];
    return { count: Number(count), resetsInSeconds: Math.max(1, Math.ceil(Number(ttl) / 1000)) };
  }

  async peekWindow(key: string): Promise<{ count: number; resetsInSeconds: number } | undefined> {
    const [count, ttl] = (await this.client.multi().get(this.key(key)).pTTL(this.key(key)).exec()) as unknown as [string | null, number];
    if (count === null || Number(ttl) <= 0) return undefined;
    return { count: Number(count), resetsInSeconds: Math.max(1, Math.ceil(Number(ttl) / 1000)) };
  }

  async resetWindow(key: string): Promise<void> {
    await this.client.del(this.key(key));
  }

  async counter(key: string): Promise<number> {
    return Number((await this.client.get(this.key(key))) ?? 0);
  }

  async increment(key: string): Promise<number> {
    return Number(await this.client.incr(this.key(key)));
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  /** Safe in every state: connected, still reconnecting, or never connected at all. */
  async close(): Promise<void> {
    try {
      if (this.client.isReady) await this.client.quit();
      else if (this.client.isOpen) await this.client.disconnect();
    } catch {
      /* already closed */
    }
  }
}
