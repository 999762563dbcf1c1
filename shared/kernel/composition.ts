import { join } from 'node:path';
import type { ContainerDefinition, DataKeyStore, DeadLetterQueue, EventStore, Secrets, StoredEvent, Telemetry } from './ports';
import { DATABASE_RETRY_AFTER_SECONDS, ServiceUnavailable } from './errors';
import { systemClock } from './ports';
import { withCallDeadline } from './timeout';
import { flushPublishedMarks } from './outbox-marks';
import { DOMAIN_EVENTS_TOPIC } from './routes';
import { LogTelemetry, METRICS, MetricsAggregator } from './telemetry';
import type { ReadGuard, ServiceProvider, Services } from './services';
import { loadSettings, SettingsError, type Settings } from './settings';

/**
 * The one place that chooses adapters from settings. Defaults are the embedded ones;
 * each SDK is loaded only when its adapter is chosen, which keeps cold starts light.
 */
export async function compose(settings: Settings, containers: ContainerDefinition[]): Promise<Services> {
  refuseEmbeddedOnAzure(settings);
  // Before anything opens (it loads no SDK): a configuration error leaves nothing to close.
  const secrets = await loadSecrets(settings);
  // First, so that its instrumentation wraps the SDKs the other adapters load.
  const telemetry = await openTelemetry(settings);
  // The stores and the bus connect at once: a cold start waits for the slowest, not the sum.
  const opened = await Promise.allSettled([
    openEventStore(settings, secrets).then(({ eventStore, dataKeys }) => boundedDatabase(settings, eventStore, dataKeys)),
    openBus(settings, telemetry),
    openCache(settings),
    openReadStore(settings, containers),
    openCounters(settings),
  ] as const);
  const [stores, busOpened, cacheOpened, readOpened, countersOpened] = opened;
  if (
    stores.status === 'rejected' ||
    busOpened.status === 'rejected' ||
    cacheOpened.status === 'rejected' ||
    readOpened.status === 'rejected' ||
    countersOpened.status === 'rejected'
  ) {
    // Close what did open: a retried composition must not leak connections.
    const closers = [
      stores.status === 'fulfilled' ? [stores.value.eventStore, stores.value.dataKeys] : [],
      busOpened.status === 'fulfilled' ? [busOpened.value] : [],
      cacheOpened.status === 'fulfilled' ? [cacheOpened.value] : [],
      readOpened.status === 'fulfilled' ? [readOpened.value.readStore] : [],
      countersOpened.status === 'fulfilled' && countersOpened.value ? [countersOpened.value] : [],
    ].flat();
    await Promise.allSettled(closers.map((adapter) => adapter.close()));
    throw opened.map((result) => (result.status === 'rejected' ? result.reason : undefined)).find((reason) => reason !== undefined);
  }
  const { eventStore, dataKeys } = stores.value;
  const bus = busOpened.value;
  const cache = cacheOpened.value;
  const { readStore, ephemeral } = readOpened.value;
  const ownCounters = countersOpened.value;

  return {
    settings,
    eventStore,
    bus,
    readStore,
    cache,
    counters: ownCounters ?? cache,
    clock: systemClock,
    secrets,
    dataKeys,
    telemetry,
    guardRead: await readGuard(settings, telemetry),
    ...(ephemeral ? { ephemeralReadStore: ephemeral } : {}),
    async close() {
      // Let deliveries in flight finish (bounded): closing the read store under them would dead-letter them.
      await Promise.race([bus.idle?.(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      await bus.close();
      await readStore.close();
      await cache.close();
      await ownCounters?.close();
      await dataKeys.close();
      // The published marks still gathered, while the store is open (else the relay would publish those events again).
      await flushPublishedMarks(eventStore);
      await eventStore.close();
      await telemetry.flush();
      if (telemetry instanceof LogTelemetry) telemetry.stop();
    },
  };
}

/**
 * An Azure instance's disk and memory are its own: an embedded event store or bus there
 * would give every instance a different history, an embedded read store a different view
 * (each projector delivery lands in one instance's copy, and nothing rebuilds it under the
 * Functions host), and a memory cache per-instance login counters (the limits multiplied
 * by the instances). Refused before anything opens.
 */
function refuseEmbeddedOnAzure(settings: Settings) {
  if (!settings.runsOnAzure) return;
  if (!settings.azureSql) {
    throw new SettingsError('the event store is not configured: set AZURE_SQL_SERVER and AZURE_SQL_DATABASE', ['AZURE_SQL_SERVER', 'AZURE_SQL_DATABASE']);
  }
  if (!settings.bus.serviceBus) {
    throw new SettingsError('the bus is not configured: set ServiceBusConnection__fullyQualifiedNamespace', ['ServiceBusConnection__fullyQualifiedNamespace']);
  }
  if (!settings.cosmos.endpoint) {
    throw new SettingsError('the read store is not configured: set COSMOS_ENDPOINT', ['COSMOS_ENDPOINT']);
  }
  if (!settings.cache.redisUrl) {
    throw new SettingsError('the shared cache is not configured: set REDIS_URL', ['REDIS_URL']);
  }
  if (!settings.cache.redisCountersUrl) {
    throw new SettingsError('the throttling counters have no store of their own: set REDIS_COUNTERS_URL (a Redis that never evicts)', ['REDIS_COUNTERS_URL']);
  }
}

const logLine = (level: string) => (message: string) => console.error(JSON.stringify({ level, msg: message }));

/**
 * A frozen database server holds a call for as long as the driver's timeouts and retries
 * (minutes for Azure SQL): each call gets DATABASE_CALL_TIMEOUT_MS, then the caller a 503.
 * An append that commits after its caller gave up is in the outbox: the relay publishes it,
 * and a retry with the same Idempotency-Key gets its answer.
 */
export function boundedDatabase(settings: Settings, eventStore: EventStore, dataKeys: DataKeyStore) {
  const unavailable = (timedOut: Error) =>
    new ServiceUnavailable('the database did not answer in time; the change may still be recorded: retry with the same Idempotency-Key', DATABASE_RETRY_AFTER_SECONDS, { cause: timedOut });
  return {
    eventStore: withCallDeadline(eventStore, settings.databaseCallTimeoutMs, unavailable),
    dataKeys: withCallDeadline(dataKeys, settings.databaseCallTimeoutMs, unavailable),
  };
}

/** Azure SQL when configured (data keys beside the events, in their own schema), else SQLite files in DATA_DIR. */
async function openEventStore(settings: Settings, secrets: Secrets): Promise<{ eventStore: EventStore; dataKeys: DataKeyStore }> {
  if (settings.azureSql) {
    const { openPool } = await import('../adapters/azure-sql/connection');
    const { AzureSqlEventStore } = await import('../adapters/azure-sql/event-store');
    const { AzureSqlDataKeyStore } = await import('../adapters/azure-sql/data-key-store');
    const pool = await openPool(settings.azureSql);
    return { eventStore: new AzureSqlEventStore(pool), dataKeys: new AzureSqlDataKeyStore(pool, secrets.masterKey) };
  }
  const { SqliteEventStore } = await import('../adapters/sqlite/event-store');
  const { SqliteDataKeyStore } = await import('../adapters/sqlite/data-key-store');
  return {
    eventStore: SqliteEventStore.open(join(settings.dataDir, 'events.sqlite')),
    // Apart from the events: erasing a person destroys their key here, and the events keep only ciphertext.
    dataKeys: SqliteDataKeyStore.open(join(settings.dataDir, 'keys.sqlite'), secrets.masterKey),
  };
}

async function openTelemetry(settings: Settings): Promise<Telemetry> {
  if (settings.appInsightsConnectionString) {
    const { openAppInsights } = await import('../adapters/app-insights/telemetry');
    // With an identity configured, ingestion is by Entra ID (local auth is disabled on the resource in Azure).
    const credential = settings.managedIdentityClientId ? await azureCredential(settings) : undefined;
    return openAppInsights(settings.appInsightsConnectionString, { credential });
  }
  // REQUEST_LOG=false (tests, benchmarks) keeps the figures in memory only.
  return settings.requestLog ? new LogTelemetry((line) => console.error(line)) : new MetricsAggregator();
}

async function openReadStore(settings: Settings, containers: ContainerDefinition[]) {
  const { CosmosClient } = await import('@azure/cosmos');
  const { CosmosReadStore } = await import('../adapters/cosmos/read-store');
  // Local auth is disabled on the Azure account: the managed identity holds a data-plane role.
  if (settings.cosmos.endpoint) {
    // Plain http is only ever a local server, which advertises https regions it does not serve.
    const connectionPolicy = { enableEndpointDiscovery: settings.cosmos.endpoint.startsWith('https:') };
    const endpoint = settings.cosmos.endpoint;
    const client = settings.cosmos.key
      ? new CosmosClient({ endpoint, key: settings.cosmos.key, connectionPolicy })
      : new CosmosClient({ endpoint, aadCredentials: await azureCredential(settings), connectionPolicy });
    const readStore = await CosmosReadStore.open(client, settings.cosmos.database, containers, { createContainers: false });
    return { readStore, ephemeral: undefined };
  }
  return openLocalReadStore(settings.cosmos.database, containers);
}

/**
 * The in-process Cosmos DB server with the declared containers made, for the embedded
 * profile and for a benchmark that runs the read store in a process of its own; its
 * address and per-start key are what another process needs to reach it.
 */
export async function openLocalReadStore(database: string, containers: ContainerDefinition[]) {
  const { CosmosClient } = await import('@azure/cosmos');
  const { CosmosReadStore } = await import('../adapters/cosmos/read-store');
  const { startLocalCosmos } = await import('../adapters/cosmos/local-server');
  const local = await startLocalCosmos();
  const client = new CosmosClient({
    endpoint: local.endpoint,
    key: local.key,
    connectionPolicy: { enableEndpointDiscovery: false },
  });
  const readStore = await CosmosReadStore.open(client, database, containers, {
    createContainers: true,
    onClose: local.stop,
  });
  return { readStore, ephemeral: { endpoint: local.endpoint, key: local.key } };
}

/** The process's one Entra ID credential: the managed identity in Azure, DefaultAzureCredential elsewhere. */
async function azureCredential(settings: Settings) {
  const { azureCredential: credentialFor } = await import('../adapters/azure-identity/credential');
  return credentialFor(settings.managedIdentityClientId);
}

/**
 * Service Bus in Azure (it publishes; the Functions host delivers to the projectors),
 * RabbitMQ in the development profile with services, else in process.
 */
async function openBus(settings: Settings, telemetry: Telemetry) {
  const { maxAttempts, retryBaseMs, maxConcurrent, rabbitMq, serviceBus } = settings.bus;
  const deadLettered = (subscription: string) => telemetry.metric(METRICS.deadLettered, 1, { subscription });
  const log = (message: string, level = 'warning') => logLine(level)(message);
  if (serviceBus) {
    const { ServiceBusEventBus } = await import('../adapters/service-bus/event-bus');
    return ServiceBusEventBus.open({ connection: serviceBus, topic: DOMAIN_EVENTS_TOPIC, maxAttempts, retryBaseMs, maxConcurrent, log, onDeadLetter: deadLettered });
  }
  if (rabbitMq) {
    const { RabbitMqEventBus } = await import('../adapters/rabbitmq/event-bus');
    return RabbitMqEventBus.open({ ...rabbitMq, maxAttempts, retryBaseMs, maxConcurrent, log, onDeadLetter: deadLettered });
  }
  const { InProcessEventBus } = await import('../adapters/inprocess/event-bus');
  return new InProcessEventBus({
    maxAttempts,
    retryBaseMs,
    maxConcurrent,
    onDeadLetter: (letter) => {
      deadLettered(letter.subscriber);
      logLine('error')(`dead-lettered ${letter.event.eventId} for ${letter.subscriber}: ${letter.reason}`);
    },
  });
}

/**
 * The operator's view of the configured bus's dead letters (`npm run dlq`); none for the
 * in-process bus. Service Bus replays through `handlerFor` (the Functions host owns the
 * live subscriptions); RabbitMQ hands them back to the subscription's queue.
 */
export async function openDeadLetters(
  settings: Settings,
  handlerFor: (subscription: string) => Promise<(event: StoredEvent) => Promise<void>>,
): Promise<DeadLetterQueue> {
  const { rabbitMq, serviceBus } = settings.bus;
  if (serviceBus) {
    const { ServiceBusDeadLetters } = await import('../adapters/service-bus/dead-letters');
    return ServiceBusDeadLetters.open(serviceBus, DOMAIN_EVENTS_TOPIC, handlerFor);
  }
  if (rabbitMq) {
    const { RabbitMqDeadLetters } = await import('../adapters/rabbitmq/dead-letters');
    return RabbitMqDeadLetters.open(rabbitMq.url, rabbitMq.queuePrefix);
  }
  throw new Error('the in-process bus keeps no dead letters beyond its process: set RABBITMQ_URL or ServiceBusConnection');
}

/**
 * Redis when REDIS_URL is set (shared by every instance: login throttling holds across them), else in memory;
 * REDIS_CREDENTIAL=managedidentity signs in with Entra ID tokens of the app's one credential (the managed identity in Azure) instead of a key.
 */
async function openCache(settings: Settings) {
  if (settings.cache.redisUrl) return openRedis(settings, settings.cache.redisUrl, 'cache');
  const { MemoryCache } = await import('../adapters/memory/cache');
  return new MemoryCache(settings.cache.memoryMaxBytes);
}

/**
 * The throttling windows' own Redis when REDIS_COUNTERS_URL is set: one that never evicts,
 * so that no flood of cached reads can make it forget a count (undefined: the cache keeps them).
 */
async function openCounters(settings: Settings) {
  return settings.cache.redisCountersUrl ? openRedis(settings, settings.cache.redisCountersUrl, 'counters') : undefined;
}

/** Its log lines say which Redis they are about: with two, an outage of one is not the other's. */
async function openRedis(settings: Settings, url: string, role: 'cache' | 'counters') {
  const { RedisCache } = await import('../adapters/redis/cache');
  const onError = (message: string) => logLine('warning')(`${role}: ${message}`);
  if (settings.cache.redisCredential === 'managedidentity') {
    return RedisCache.openWithEntraId(url, { credential: await azureCredential(settings), prefix: settings.cache.redisKeyPrefix, onError });
  }
  return RedisCache.open(url, settings.cache.redisKeyPrefix, onError);
}

async function loadSecrets(settings: Settings) {
  const { localSecrets, settingsSecrets } = await import('../adapters/local-secrets/secrets');
  const { signingKeys, masterKey, indexKey } = settings.secrets;
  const given = { AUTH_SIGNING_KEYS: signingKeys, PERSONAL_DATA_MASTER_KEY: masterKey, PERSONAL_DATA_INDEX_KEY: indexKey };
  const names = Object.keys(given);
  if (signingKeys && masterKey && indexKey) {
    try {
      return settingsSecrets(signingKeys, masterKey, indexKey);
    } catch (error) {
      // Its messages name the setting, never the value.
      const message = error instanceof Error ? error.message : String(error);
      throw new SettingsError(message, names.filter((name) => message.includes(name)));
    }
  }
  if (signingKeys || masterKey || indexKey) {
    throw new SettingsError(
      'set all of AUTH_SIGNING_KEYS, PERSONAL_DATA_MASTER_KEY and PERSONAL_DATA_INDEX_KEY, or none (local only)',
      Object.entries(given).filter(([, value]) => !value).map(([name]) => name),
    );
  }
  // Each Azure instance would make its own keys: tokens and sealed data would not survive a scale-out.
  if (settings.runsOnAzure) throw new SettingsError('secrets are not configured: set them from Key Vault', names);
  return localSecrets(join(settings.dataDir, 'secrets.json'));
}

/** A timeout inside a circuit breaker: a failing read store answers fast, then gets probed. */
async function readGuard(settings: Settings, telemetry: Telemetry): Promise<ReadGuard> {
  const { circuitBreaker, CircuitState, ConsecutiveBreaker, handleAll, timeout, TimeoutStrategy, wrap } = await import('cockatiel');
  const breaker = circuitBreaker(handleAll, {
    halfOpenAfter: settings.readStore.breakerHalfOpenAfterMs,
    breaker: new ConsecutiveBreaker(settings.readStore.breakerThreshold),
  });
  // The failure that opened the circuit is the operator's lead (a credential refused, a role
  // missing); a query's own 503 says nothing of it, rightly.
  let lastFailure = '';
  breaker.onFailure(({ reason }) => {
    if ('error' in reason) lastFailure = reason.error instanceof Error ? reason.error.message : String(reason.error);
  });
  breaker.onStateChange((state) => {
    telemetry.metric(METRICS.circuitState, state === CircuitState.Open ? 1 : 0, { state: CircuitState[state] });
    if (state === CircuitState.Open) logLine('warning')(`read store circuit opened: queries answer from stale copies; the last failure: ${lastFailure}`);
    if (state === CircuitState.Closed) logLine('info')('read store circuit closed');
  });
  const policy = wrap(breaker, timeout(settings.readStore.timeoutMs, TimeoutStrategy.Aggressive));
  // A signal per execution: without one, cockatiel hangs every in-flight timeout on one
  // shared signal, and more than ten concurrent reads trip Node's listener-leak warning.
  return (call) => policy.execute(() => call(), new AbortController().signal);
}

/**
 * Composes once, on first use, then runs `onComposed` (start-up work such as the first
 * administrator); a failed composition is retried by the next call.
 */
export function lazyServices(
  containers: ContainerDefinition[],
  env: NodeJS.ProcessEnv = process.env,
  onComposed: (services: Services) => Promise<void> = async () => {},
): ServiceProvider {
  let services: Promise<Services> | undefined;
  return () => {
    // The settings are read on each attempt, and a bad one rejects (never throws): a later call retries.
    services ??= Promise.resolve().then(() => compose(loadSettings(env), containers)).then(async (composed) => {
      // A failed start-up step is retried by the next call, which composes anew: these close.
      await onComposed(composed).catch(async (error: unknown) => {
        await composed.close().catch(() => {});
        throw error;
      });
      return composed;
    }).catch((error) => {
      services = undefined;
      throw error;
    });
    return services;
  };
}
