import type { AttemptCounters, Cache, Clock, DataKeyStore, EventBus, EventStore, ReadStore, Secrets, Telemetry } from './ports';
import type { Settings } from './settings';

/** Runs a read-store call through the timeout and circuit breaker. */
export type ReadGuard = <T>(call: () => Promise<T>) => Promise<T>;

export interface Services {
  settings: Settings;
  eventStore: EventStore;
  bus: EventBus;
  readStore: ReadStore;
  cache: Cache;
  /** Login and registration throttling: the cache itself, or a store of their own (REDIS_COUNTERS_URL). */
  counters: AttemptCounters;
  clock: Clock;
  secrets: Secrets;
  dataKeys: DataKeyStore;
  guardRead: ReadGuard;
  telemetry: Telemetry;
  /**
   * Set when the read store is the in-process local server, which forgets on restart (so
   * must be rebuilt from the events): where operator tools reach it while this process runs.
   */
  ephemeralReadStore?: { endpoint: string; key: string };
  close(): Promise<void>;
}

/** Handlers get their services lazily, so a cold start loads no SDK before it needs one. */
export type ServiceProvider = () => Promise<Services>;
