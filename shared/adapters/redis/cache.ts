import { createClient, type RedisClientOptions } from 'redis';
import type { TokenCredential } from '@azure/identity';
import type { Cache, CacheEntry, CacheTtl } from '../../kernel/ports';

type Client = ReturnType<typeof createClient>;
type StreamingProvider = Extract<NonNullable<RedisClientOptions['credentialsProvider']>, { type: 'streaming-credentials-provider' }>;

/** Microsoft Entra ID instead of an access key (Azure Managed Redis): no secret anywhere. */
export interface EntraIdOptions {
  /** Where the tokens come from: the app's managed identity in Azure; tests hand in their own. */
  credential: TokenCredential;
  prefix?: string;
  onError?: (message: string) => void;
}

/**
 * The cache on Redis (Azure Managed Redis in Azure). A value lives under its key for
 * its stale TTL; a separate `:fresh` marker lives for the fresh TTL, so invalidating is
 * deleting the marker and the stale copy stays for outages. Commands fail at once while
 * Redis is unreachable (no offline queue) and the client reconnects by itself: the
 * query side then reads the store, as it does on any cache miss.
 *
 * Every call answers within REDIS_COMMAND_TIMEOUT_MS (twice that after a stall of this
 * process) or fails (see `call`): a Redis that is frozen (a stopped process, a lost route:
 * the connection stays open, nothing answers) costs a caller at most that long, and after
 * a timeout calls fail at once for REDIS_PAUSE_AFTER_TIMEOUT_MS, then one call tries Redis
 * again, so a freeze costs the timeout a few times a second, not on every request.
 *
 * A frozen Redis that thaws still runs what was written to it meanwhile: a write that timed
 * out (a value a read took from the store before the document changed) lands then, fresh
 * for the whole fresh TTL from the thaw, after the invalidation that followed it failed. So
 * the keys of a write that timed out, and of an invalidation that failed, are kept, and
 * their fresh markers deleted as soon as Redis answers again: on the same connection, after
 * whatever waited in it.
 */
export class RedisCache implements Cache {
  /** Until when calls fail at once after a timeout (0: Redis answers). */
  private pausedUntil = 0;
  /** A call trying Redis again after a pause is under way: the others still fail at once. */
  private probing = false;
  /** Fresh markers to delete once Redis answers again, each with the number of its last failure. */
  private readonly unretired = new Map<string, number>();
  /** Generations whose bump failed, to bump once Redis answers again, each with the number of its last failure. */
  private readonly unbumped = new Map<string, number>();
  private failures = 0;
  private retiring = false;
  /** Generations whose owed bump is sent and not yet answered: a read sent after it sees it. */
  private readonly bumping = new Set<string>();
  /** When a call last asked Redis (performance.now()), and the timer that retires what is kept once this instance is idle. */
  private lastCallAt = 0;
  private idleRetirement: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly client: Client,
    private readonly prefix: string,
    private readonly release: () => void = () => {},
  ) {}

  static open(url: string, prefix = 'farmacias:', onError: (message: string) => void = () => {}): RedisCache {
    return RedisCache.start(url, undefined, prefix, onError);
  }

  /**
   * Authenticates with Microsoft Entra ID tokens (the username is the token's `oid`, the
   * password the token itself). node-redis's Entra ID provider asks for a new token at 70%
   * of the current one's lifetime and re-authenticates the open connection with it (AUTH);
   * a reconnection uses the newest token. @redis/entraid loads only here, on this path.
   */
  static async openWithEntraId(url: string, options: EntraIdOptions): Promise<RedisCache> {
    const { username, password } = new URL(url);
    // node-redis would let credentials in the URL override the token provider.
    if (username || password) throw new Error('a Redis URL for Microsoft Entra ID must carry no user or password');
    const { prefix = 'farmacias:', onError = () => {} } = options;
    const { EntraIdCredentialsProviderFactory, REDIS_SCOPE_DEFAULT } = await import('@redis/entraid');
    const source = options.credential;
    // Once closed, a token request still in flight never settles: the provider's token manager,
    // stopped by then, would otherwise throw from its refresh timer (an unhandled rejection).
    let closed = false;
    const credential: TokenCredential = {
      getToken: (scopes, getTokenOptions) =>
        new Promise((resolve, reject) => {
          source.getToken(scopes, getTokenOptions).then(
            (token) => {
              if (!closed) resolve(token);
            },
            (error: unknown) => {
              if (!closed) reject(error instanceof Error ? error : new Error(String(error)));
            },
          );
        }),
    };
    const provider = EntraIdCredentialsProviderFactory.createForDefaultAzureCredential({
      credential,
      scopes: REDIS_SCOPE_DEFAULT,
      tokenManagerConfig: {
        expirationRefreshRatio: 0.7,
        // A failed refresh is tried again while the current token still holds (Entra ID
        // tokens live for hours); should every attempt fail, the next reconnection asks anew.
        retry: { maxAttempts: 20, initialDelayMs: 1_000, maxDelayMs: 300_000, backoffMultiplier: 2, jitterPercentage: 10, isRetryable: () => true },
      },
      onRetryableError: (message) => onError(`redis token refresh failed, retrying: ${message}`),
      onReAuthenticationError: (error) => onError(`redis re-authentication failed: ${error.message}`),
    });
    const stream = oneSubscription(provider);
    return RedisCache.start(url, stream.provider, prefix, onError, () => {
      closed = true;
      stream.dispose();
    });
  }

  private static start(
    url: string,
    credentialsProvider: StreamingProvider | undefined,
    prefix: string,
    onError: (message: string) => void,
    release?: () => void,
  ): RedisCache {
    const client = createClient({
      url,
      ...(credentialsProvider ? { credentialsProvider } : {}),
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
    const cache = new RedisCache(client, prefix, release);
    // A new connection (after a loss) is tried at once.
    client.on('ready', () => (cache.pausedUntil = 0));
    // Not awaited: the app starts, and serves from the read store, while Redis is away.
    client.connect().catch(() => {});
    return cache;
  }

  /**
   * One call to Redis, bounded. Fails at once while not connected: node-redis refuses a
   * plain command then (no offline queue), but queues a MULTI until the next reconnection
   * (up to 5 s). Fails at once during a pause after a timeout. Otherwise waits at most
   * REDIS_COMMAND_TIMEOUT_MS: node-redis's own per-command `timeout` only covers a command
   * not yet written, never one waiting for its reply, so the wait is abandoned here (a
   * frozen Redis that wakes up answers it later, to nobody).
   */
  private async call<T>(operation: string, command: () => Promise<T>): Promise<T> {
    this.lastCallAt = performance.now();
    if (!this.client.isReady) throw new Error(`redis is not connected (${operation})`);
    if (this.pausedUntil) {
      if (Date.now() < this.pausedUntil || this.probing) throw new Error(`redis did not answer lately; not asked (${operation})`);
      this.probing = true;
    }
    const probe = this.pausedUntil !== 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      const giveUp = () => {
        if (settled) return;
        this.pausedUntil = Date.now() + REDIS_PAUSE_AFTER_TIMEOUT_MS;
        reject(new Error(`redis did not answer ${operation} within ${REDIS_COMMAND_TIMEOUT_MS} ms`));
      };
      const due = performance.now() + REDIS_COMMAND_TIMEOUT_MS;
      timer = setTimeout(() => {
        // A timer that fires late tells of a stall in this process (a long task, a starved
        // CPU), not in Redis: the command may have been written only after it, or its answer
        // be waiting unread (timers run before the event loop reads its sockets). Redis gets
        // one more window from now. On time, the verdict still waits for the check phase,
        // after this turn's sockets are read.
        if (performance.now() - due > STALL_MS) timer = setTimeout(() => setImmediate(giveUp), REDIS_COMMAND_TIMEOUT_MS);
        else setImmediate(giveUp);
      }, REDIS_COMMAND_TIMEOUT_MS);
    });
    const pending = command();
    // Abandoned after a timeout: its later outcome is nobody's (and no unhandled rejection).
    pending.catch(() => {});
    try {
      const result = await Promise.race([pending, timeout]);
      this.pausedUntil = 0;
      if ((this.unretired.size || this.unbumped.size) && !this.retiring) void this.retireUnretired();
      return result;
    } finally {
      settled = true;
      clearTimeout(timer);
      if (probe) this.probing = false;
    }
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
    const marker = `${this.key(key)}:fresh`;
    const [value, fresh] = await this.call('get', () => this.client.mGet([this.key(key), marker]));
    // A marker still to be deleted (this answer may be the first since a thaw) is not fresh.
    return value === null ? undefined : { value: JSON.parse(value) as T, fresh: fresh !== null && !this.unretired.has(marker) };
  }

  async set<T>(key: string, value: T, ttl: CacheTtl): Promise<void> {
    const multi = this.client.multi().set(this.key(key), JSON.stringify(value), { PX: Math.max(ttl.freshSeconds, ttl.staleSeconds, 1) * 1000 });
    if (ttl.freshSeconds > 0) multi.set(`${this.key(key)}:fresh`, '1', { PX: ttl.freshSeconds * 1000 });
    else multi.del(`${this.key(key)}:fresh`);
    let written = false;
    try {
      await this.call('set', () => {
        written = true;
        return multi.exec();
      });
    } catch (error) {
      // Written, unanswered: it may land later (a frozen Redis thawing), after newer invalidations.
      if (written && ttl.freshSeconds > 0) this.keep(this.unretired, [`${this.key(key)}:fresh`], true);
      throw error;
    }
  }

  async invalidate(keys: string[]): Promise<void> {
    if (!keys.length) return;
    const markers = keys.map((key) => `${this.key(key)}:fresh`);
    try {
      await this.call('invalidate', () => this.client.del(markers));
    } catch (error) {
      this.keep(this.unretired, markers);
      throw error;
    }
  }

  /**
   * Keeps fresh markers, or generations, for the retirement once Redis answers, with this
   * failure's number. A late write's marker is always kept (at most one is written per
   * timeout window); failed invalidations and bumps up to UNRETIRED_MAX (past it, their copies
   * stay fresh for at most the fresh TTL they were set with).
   */
  private keep(kept: Map<string, number>, keys: string[], always = false) {
    const failure = ++this.failures;
    for (const key of keys) if (always || kept.size < UNRETIRED_MAX || kept.has(key)) kept.set(key, failure);
    this.retireWhenIdle();
  }

  /**
   * What is kept is retired after the next answer from Redis; an instance that asks Redis
   * nothing more (idle, or about to be scaled in) would keep it, and its late write would stay
   * fresh for every instance. So, once no call has asked Redis for RETIRE_WHEN_IDLE_MS, the
   * retirement asks itself (the probe after a pause, if one is due), and again while it fails.
   */
  private retireWhenIdle() {
    if (this.idleRetirement || this.closed) return;
    const check = () => {
      this.idleRetirement = undefined;
      if (this.closed || (!this.unretired.size && !this.unbumped.size)) return;
      const idleFor = performance.now() - this.lastCallAt;
      if (idleFor < RETIRE_WHEN_IDLE_MS || this.retiring) {
        this.idleRetirement = setTimeout(check, Math.max(RETIRE_WHEN_IDLE_MS - idleFor, 50)).unref();
        return;
      }
      void this.retireUnretired().finally(() => this.retireWhenIdle());
    };
    this.idleRetirement = setTimeout(check, RETIRE_WHEN_IDLE_MS).unref();
  }

  /**
   * Deletes the kept fresh markers and bumps the kept generations, a chunk at a time; one
   * that failed again meanwhile is kept for the next answer. A bump that timed out may have
   * landed too: bumped twice, its lists miss once more, as callers only compare generations.
   */
  private async retireUnretired() {
    this.retiring = true;
    const settle = (kept: Map<string, number>, chunk: [string, number][]) => {
      for (const [key, failure] of chunk) if (kept.get(key) === failure) kept.delete(key);
    };
    try {
      while (this.unretired.size) {
        const chunk = [...this.unretired].slice(0, 1_000);
        await this.call('invalidate', () => this.client.del(chunk.map(([marker]) => marker)));
        settle(this.unretired, chunk);
      }
      while (this.unbumped.size) {
        const chunk = [...this.unbumped].slice(0, 1_000);
        const bumps = this.client.multi();
        for (const [key] of chunk) {
          bumps.incr(key);
          this.bumping.add(key);
        }
        try {
          await this.call('increment', () => bumps.exec());
        } finally {
          for (const [key] of chunk) this.bumping.delete(key);
        }
        settle(this.unbumped, chunk);
      }
    } catch {
      // Redis is away again: the next answer tries again.
    } finally {
      this.retiring = false;
    }
  }

  async incrementWithin(key: string, windowSeconds: number): Promise<{ count: number; resetsInSeconds: number }> {
    // The window starts with its first count: SET NX sets the expiry once, INCR keeps it.
    const [, count, ttl] = (await this.call('incrementWithin', () =>
      this.client
        .multi()
        .set(this.key(key), '0', { PX: windowSeconds * 1000, NX: true })
        .incr(this.key(key))
        .pTTL(this.key(key))
        .exec(),
    )) as unknown as [unknown, number, number];
    return { count: Number(count), resetsInSeconds: Math.max(1, Math.ceil(Number(ttl) / 1000)) };
  }

  /** One script, so atomic: a key that expired meanwhile is not brought back without its expiry. */
  async uncount(key: string): Promise<void> {
    await this.call('uncount', () => this.client.eval(UNCOUNT, { keys: [this.key(key)] }));
  }

  async peekWindow(key: string): Promise<{ count: number; resetsInSeconds: number } | undefined> {
    const [count, ttl] = (await this.call('peekWindow', () => this.client.multi().get(this.key(key)).pTTL(this.key(key)).exec())) as unknown as [
      string | null,
      number,
    ];
    if (count === null || Number(ttl) <= 0) return undefined;
    return { count: Number(count), resetsInSeconds: Math.max(1, Math.ceil(Number(ttl) / 1000)) };
  }

  async resetWindow(key: string): Promise<void> {
    await this.call('resetWindow', () => this.client.del(this.key(key)));
  }

  /**
   * A sorted set scored by when each member was renewed, by Redis's clock (one clock for every
   * instance: one whose clock lags would otherwise score its renewal among the oldest), each
   * renewal above the one before. One script renews the member, drops those not renewed for
   * `seconds` and all but the `keep` most recently renewed, and renews the key's own expiry.
   */
  async remember(key: string, member: string, seconds: number, keep: number): Promise<void> {
    await this.call('remember', () => this.client.eval(REMEMBER, { keys: [this.key(key)], arguments: [member, String(seconds * 1000), String(keep)] }));
  }

  async recalls(key: string, member: string, seconds: number): Promise<boolean> {
    return (await this.call('recalls', () => this.client.eval(RECALLS, { keys: [this.key(key)], arguments: [member, String(seconds * 1000)] }))) === 1;
  }

  /**
   * An unknown counter starts at the clock's milliseconds, set once (SET NX): Redis may
   * evict a counter (the cache evicts any key when full), and a counter that came back
   * at 0 could meet a generation an old cached list was stored with. Started from the
   * clock it comes back above every value it had (a counter is bumped far less often
   * than once a millisecond).
   */
  async counter(key: string): Promise<number> {
    const owed = this.unbumped.get(this.key(key));
    if (owed !== undefined && !this.bumping.has(this.key(key))) {
      // A bump still owed (it failed while Redis was away; this answer may be the first since):
      // done now, so lists cached under the old generation miss, as the read that follows it.
      const bumped = Number(await this.call('counter', () => this.client.incr(this.key(key))));
      if (this.unbumped.get(this.key(key)) === owed) this.unbumped.delete(this.key(key));
      return bumped;
    }
    const start = Date.now();
    const known = await this.call('counter', () => this.client.set(this.key(key), String(start), { NX: true, GET: true }));
    return known === null ? start : Number(known);
  }

  async increment(key: string): Promise<number> {
    try {
      return Number(await this.call('increment', () => this.client.incr(this.key(key))));
    } catch (error) {
      // A list cached before the bump would stay fresh for its whole fresh TTL: bumped once Redis answers.
      this.keep(this.unbumped, [this.key(key)]);
      throw error;
    }
  }

  /**
   * A write, not PING: a Redis at its memory limit with `noeviction` answers PING and reads
   * but refuses every write, the login counters' included, so logins are refused (503) then.
   */
  async ping(): Promise<void> {
    await this.call('ping', () => this.client.set(this.key('readiness-probe'), '1', { PX: 10_000 }));
  }

  /** Safe in every state: connected, still reconnecting, or never connected at all. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.idleRetirement);
    try {
      // A frozen Redis never answers QUIT: the connection is then dropped.
      if (this.client.isReady) await this.call('quit', () => this.client.quit());
      else if (this.client.isOpen) await this.client.disconnect();
    } catch {
      if (this.client.isOpen) this.client.destroy();
    } finally {
      this.release();
    }
  }
}

/**
 * How long one cache call may take. Redis answers in well under a millisecond on the same
 * machine and in a few milliseconds in the same Azure region (p99.9 included); 200 ms is
 * far past that, and short next to what a read may cost (the read store answers in tens
 * of milliseconds and has its own timeout), so a read or a login that meets a frozen
 * Redis stays well within half a second.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 200;
/** How late a timeout may fire before it counts as this process's stall rather than Redis's. */
export const STALL_MS = 50;
/** After a timeout, how long calls fail at once before one tries Redis again. */
export const REDIS_PAUSE_AFTER_TIMEOUT_MS = 1_000;
/** How long an instance asks Redis nothing before it retires what it kept itself. */
export const RETIRE_WHEN_IDLE_MS = 2 * REDIS_PAUSE_AFTER_TIMEOUT_MS;
/** How many fresh markers of failed invalidations, and generations of failed bumps, are kept for when Redis answers again (about 100 bytes each). */
export const UNRETIRED_MAX = 50_000;

// Redis's own clock in milliseconds, for the scripts below.
const REDIS_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) ";
// Renewals in one millisecond still take turns: each scores above the latest (ties would go by name).
const REMEMBER =
  REDIS_NOW +
  "local latest = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES') " +
  "local score = now if latest[2] and tonumber(latest[2]) >= now then score = tonumber(latest[2]) + 1 end " +
  "redis.call('ZADD', KEYS[1], score, ARGV[1]) " +
  "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2])) " +
  "redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[3]) + 1)) " +
  "redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1";
const RECALLS = REDIS_NOW + "local renewed = redis.call('ZSCORE', KEYS[1], ARGV[1]) if renewed and tonumber(renewed) > now - tonumber(ARGV[2]) then return 1 end return 0";
const UNCOUNT = "if (tonumber(redis.call('GET', KEYS[1]) or '0') > 0) then return redis.call('DECR', KEYS[1]) end return 0";

/**
 * node-redis (5.12) subscribes to the token stream on every connection it makes and, when
 * closed, disposes only its latest subscription: the older ones would send AUTH again on
 * each refresh and keep the refresh timer, and so the process, alive after close. Here a
 * new subscription replaces the previous one, and `dispose` ends the last.
 */
function oneSubscription(source: StreamingProvider): { provider: StreamingProvider; dispose: () => void } {
  let current: { dispose: () => void } | undefined;
  return {
    provider: {
      type: 'streaming-credentials-provider',
      onReAuthenticationError: (error) => source.onReAuthenticationError(error),
      subscribe: async (listener) => {
        const [credentials, subscription] = await source.subscribe(listener);
        // Subscribed first, then the old one let go: the token manager keeps running in between.
        current?.dispose();
        current = subscription;
        return [credentials, subscription];
      },
    },
    dispose: () => {
      current?.dispose();
      current = undefined;
    },
  };
}
