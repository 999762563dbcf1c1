import { ServiceUnavailable } from './errors';
import type { QuerySpec, ReadContainer, ReadDocument } from './ports';
import type { Services } from './services';
import { METRICS } from './telemetry';

export type CacheOutcome = 'hit' | 'miss' | 'stale';

export interface ReadResult<T> {
  value: T | undefined;
  cache: CacheOutcome;
}

/**
 * What one answer built from several cache reads says in `X-Cache`: stale if any part was,
 * else a miss if any part came from the store, else a hit.
 */
export function worstOutcome(outcomes: CacheOutcome[]): CacheOutcome {
  return outcomes.includes('stale') ? 'stale' : outcomes.includes('miss') ? 'miss' : 'hit';
}

interface Cached<T> {
  /** The cache generation the value was read in; lists are retired by bumping it. */
  generation: number;
  value: T;
}

async function tolerate<T>(services: Services, operation: string, call: () => Promise<T>): Promise<T | undefined> {
  // The cache is an accelerator: when it fails (each call is bounded by the adapter's timeout), read from the store.
  try {
    return await call();
  } catch {
    services.telemetry.metric(METRICS.cacheError, 1, { operation });
    return undefined;
  }
}

/**
 * Cache-aside with a stale fallback. A fresh entry answers at once; otherwise the read
 * store answers through its timeout and circuit breaker; when it cannot, the stale copy
 * answers (`x-cache: stale`), and without one the caller gets a quick 503.
 */
export async function readThrough<T>(
  services: Services,
  key: string,
  load: () => Promise<T | undefined>,
  generationKeys?: string | readonly string[],
): Promise<ReadResult<T>> {
  const { cache } = services;
  const counters = generationKeys === undefined ? [] : typeof generationKeys === 'string' ? [generationKeys] : generationKeys;
  const entry = tolerate(services, 'get', () => cache.get<Cached<T>>(key));
  // A by-id read has no generation: no counter call, no Promise.all on the hot path. Otherwise
  // all at once: a cache that does not answer costs one timeout, not two.
  const [generationRead, cached] =
    counters.length === 0
      ? [0, await entry]
      : await Promise.all([
          tolerate(services, 'counter', async () => (await Promise.all(counters.map((counter) => cache.counter(counter)))).reduce((sum, value) => sum + value, 0)),
          entry,
        ]);
  // Counters only grow, so their sum changes whenever any of them does.
  const generation = generationRead ?? -1;
  const counted = (result: ReadResult<T>) => {
    services.telemetry.metric(METRICS.cacheLookup, 1, { result: result.cache });
    return result;
  };
  if (cached?.fresh && cached.value.generation === generation) return counted({ value: cached.value.value, cache: 'hit' });
  let value: T | undefined;
  try {
    value = await services.guardRead(load);
  } catch {
    if (cached) return counted({ value: cached.value.value, cache: 'stale' });
    services.telemetry.metric(METRICS.cacheLookup, 1, { result: 'unavailable' });
    throw new ServiceUnavailable('the query side is unavailable; try again shortly', 5);
  }
  if (value !== undefined) remember(services, key, value, generation);
  return counted({ value, cache: 'miss' });
}

/**
 * Cache-aside for documents by id, many at once: every key asked of the cache together
 * (Redis pipelines them), and the ids without a fresh entry read from the store in one
 * call, not one read each. When the store cannot answer, stale copies stand in; an id with
 * neither makes the whole answer a quick 503, as a single read would. Ids the store does
 * not know are absent from the map.
 */
export async function readManyThrough<D extends ReadDocument>(
  services: Services,
  ids: readonly string[],
  keyOf: (id: string) => string,
  loadMany: (ids: string[]) => Promise<D[]>,
): Promise<{ values: Map<string, D>; cache: CacheOutcome }> {
  const unique = [...new Set(ids)];
  const cached = await Promise.all(unique.map((id) => tolerate(services, 'get', () => services.cache.get<Cached<D>>(keyOf(id)))));
  const values = new Map<string, D>();
  const staleCopies = new Map<string, D | undefined>();
  // Documents by id are remembered in generation 0 (no generation key), as readThrough does.
  unique.forEach((id, index) => {
    const entry = cached[index];
    if (entry?.fresh && entry.value.generation === 0) values.set(id, entry.value.value);
    else staleCopies.set(id, entry?.value.value);
  });
  const missing = [...staleCopies.keys()];
  const lookups = (result: CacheOutcome | 'unavailable', count: number) => {
    if (count > 0) services.telemetry.metric(METRICS.cacheLookup, count, { result });
  };
  lookups('hit', values.size);
  if (missing.length === 0) return { values, cache: 'hit' };
  let loaded: D[];
  try {
    loaded = await services.guardRead(() => loadMany(missing));
  } catch {
    if ([...staleCopies.values()].some((copy) => copy === undefined)) {
      lookups('unavailable', missing.length);
      throw new ServiceUnavailable('the query side is unavailable; try again shortly', 5);
    }
    for (const [id, copy] of staleCopies) values.set(id, copy!);
    lookups('stale', missing.length);
    return { values, cache: 'stale' };
  }
  for (const document of loaded) {
    values.set(document.id, document);
    remember(services, keyOf(document.id), document);
  }
  lookups('miss', missing.length);
  return { values, cache: 'miss' };
}

/**
 * Puts a value just read from the store into the cache, fresh, without waiting: the read
 * has its answer and a slow or absent cache must not hold it (a failure is counted as
 * `cache.error`). The command is issued at once, so the next read on this instance's
 * connection already finds it.
 */
export function remember<T>(services: Services, key: string, value: T, generation = 0): void {
  const { freshSeconds, staleSeconds } = services.settings.cache;
  void tolerate(services, 'set', () => services.cache.set<Cached<T>>(key, { generation, value }, { freshSeconds, staleSeconds }));
}

/**
 * Collects up to `want` documents, following continuations: Cosmos may answer a page
 * with fewer items than asked (even none) while more remain.
 */
export async function collect<D extends ReadDocument>(
  container: ReadContainer<D>,
  spec: QuerySpec,
  want: number,
): Promise<D[]> {
  const items: D[] = [];
  let continuation: string | undefined;
  do {
    const page = await container.queryPage(spec, Math.min(want - items.length, 1000), continuation);
    items.push(...page.items);
    continuation = page.continuation;
  } while (continuation && items.length < want);
  return items.slice(0, want);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Read-your-writes without sleeping: polls the read store (past the cache) until the
 * document reaches `minVersion` or `timeoutMs` passes, then answers what is there.
 */
export async function waitForVersion<D extends ReadDocument>(
  services: Services,
  load: () => Promise<D | undefined>,
  minVersion: number,
  timeoutMs = 2_000,
): Promise<D | undefined> {
  const deadline = Date.now() + timeoutMs;
  let latest: D | undefined;
  for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
    try {
      latest = await services.guardRead(load);
    } catch {
      return latest;
    }
    if ((latest?.version ?? 0) >= minVersion || Date.now() + pause > deadline) return latest;
    await sleep(pause);
  }
}
