import { join } from 'node:path';
import type { ContainerDefinition } from './ports';
import { systemClock } from './ports';
import type { ReadGuard, ServiceProvider, Services } from './services';
import { loadSettings, type Settings } from './settings';

/**
 * The one place that chooses adapters from settings. Defaults are the embedded ones;
 * each SDK is loaded only when its adapter is chosen, which keeps cold starts light.
 */
export async function compose(settings: Settings, containers: ContainerDefinition[]): Promise<Services> {
  const { SqliteEventStore } = await import('../adapters/sqlite/event-store');

  const eventStore = SqliteEventStore.open(join(settings.dataDir, 'events.sqlite'));
  const bus = await openBus(settings);
  const cache = await openCache(settings);
  const { readStore, ephemeral } = await openReadStore(settings, containers);
  const secrets = await loadSecrets(settings);
  const { SqliteDataKeyStore } = await import('../adapters/sqlite/data-key-store');
  // Apart from the events: erasing a person destroys their key here, and the events keep only ciphertext.
  const dataKeys = SqliteDataKeyStore.open(join(settings.dataDir, 'keys.sqlite'), secrets.masterKey);

  return {
    settings,
    eventStore,
    bus,
    readStore,
    cache,
    clock: systemClock,
    secrets,
    dataKeys,
    guardRead: await readGuard(settings),
    readStoreIsEphemeral: ephemeral,
    async close() {
      // Let deliveries in flight finish (bounded): closing the read store under them would dead-letter them.
      await Promise.race([bus.idle?.(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
      await bus.close();
      await readStore.close();
      await cache.close();
      await dataKeys.close();
      await eventStore.close();
    },
  };
}

async function openReadStore(settings: Settings, containers: ContainerDefinition[]) {
  const { CosmosClient } = await import('@azure/cosmos');
  const { CosmosReadStore } = await import('../adapters/cosmos/read-store');
  if (settings.cosmos.endpoint) {
    if (!settings.cosmos.key) throw new Error('COSMOS_KEY is required with COSMOS_ENDPOINT');
    const client = new CosmosClient({ endpoint: settings.cosmos.endpoint, key: settings.cosmos.key });
    const readStore = await CosmosReadStore.open(client, settings.cosmos.database, containers, { createContainers: false });
    return { readStore, ephemeral: false };
  }
  const { startLocalCosmos } = await import('../adapters/cosmos/local-server');
  const local = await startLocalCosmos();
  const client = new CosmosClient({
    endpoint: local.endpoint,
    key: local.key,
    connectionPolicy: { enableEndpointDiscovery: false },
  });
  const readStore = await CosmosReadStore.open(client, settings.cosmos.database, containers, {
    createContainers: true,
    onClose: local.stop,
  });
  return { readStore, ephemeral: true };
}

/** RabbitMQ when RABBITMQ_URL is set (the development profile with services), else in process. */
async function openBus(settings: Settings) {
  const { maxAttempts, retryBaseMs, maxConcurrent, rabbitMq } = settings.bus;
  const log = (level: string) => (message: string) => console.error(JSON.stringify({ level, msg: message }));
  if (rabbitMq) {
    const { RabbitMqEventBus } = await import('../adapters/rabbitmq/event-bus');
    return RabbitMqEventBus.open({ ...rabbitMq, maxAttempts, retryBaseMs, maxConcurrent, log: (message, level = 'warning') => log(level)(message) });
  }
  const { InProcessEventBus } = await import('../adapters/inprocess/event-bus');
  return new InProcessEventBus({
    maxAttempts,
    retryBaseMs,
    maxConcurrent,
    onDeadLetter: (letter) => log('error')(`dead-lettered ${letter.event.eventId} for ${letter.subscriber}: ${letter.reason}`),
  });
}

/** Redis when REDIS_URL is set (shared by every instance: login throttling holds across them), else in memory. */
async function openCache(settings: Settings) {
  if (settings.cache.redisUrl) {
    const { RedisCache } = await import('../adapters/redis/cache');
    return RedisCache.open(settings.cache.redisUrl, 'farmacias:', (message) => console.error(JSON.stringify({ level: 'warning', msg: message })));
  }
  const { MemoryCache } = await import('../adapters/memory/cache');
  return new MemoryCache(settings.cache.maxEntries);
}

async function loadSecrets(settings: Settings) {
  const { localSecrets, settingsSecrets } = await import('../adapters/local-secrets/secrets');
  const { signingKeys, masterKey, indexKey } = settings.secrets;
  if (signingKeys && masterKey && indexKey) return settingsSecrets(signingKeys, masterKey, indexKey);
  if (signingKeys || masterKey || indexKey) {
    throw new Error('set all of AUTH_SIGNING_KEYS, PERSONAL_DATA_MASTER_KEY and PERSONAL_DATA_INDEX_KEY, or none (local only)');
  }
  // Each Azure instance would make its own keys: tokens and sealed data would not survive a scale-out.
  if (settings.runsOnAzure) throw new Error('secrets are not configured: set them from Key Vault');
  return localSecrets(join(settings.dataDir, 'secrets.json'));
}

/** A timeout inside a circuit breaker: a failing read store answers fast, then gets probed. */
async function readGuard(settings: Settings): Promise<ReadGuard> {
  const { circuitBreaker, ConsecutiveBreaker, handleAll, timeout, TimeoutStrategy, wrap } = await import('cockatiel');
  const policy = wrap(
    circuitBreaker(handleAll, {
      halfOpenAfter: settings.readStore.breakerHalfOpenAfterMs,
      breaker: new ConsecutiveBreaker(settings.readStore.breakerThreshold),
    }),
    timeout(settings.readStore.timeoutMs, TimeoutStrategy.Aggressive),
  );
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
    services ??= compose(loadSettings(env), containers).then(async (composed) => {
      await onComposed(composed);
      return composed;
    }).catch((error) => {
      services = undefined;
      throw error;
    });
    return services;
  };
}
