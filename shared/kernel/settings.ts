import Joi from 'joi';
import { unresolvedKeyVaultReferences } from './key-vault-references';

/** How the app reaches Azure SQL: by managed identity in Azure, by connection string in development. */
export type SqlConnectionSettings =
  | { connectionString: string }
  | { server: string; database: string; managedIdentityClientId?: string };

/** How the app reaches Service Bus: by managed identity in Azure, by connection string in development. */
export type ServiceBusConnectionSettings =
  | { connectionString: string }
  | { fullyQualifiedNamespace: string; managedIdentityClientId?: string };

/**
 * Every setting the code reads, in one place. Names are environment variables (app
 * settings in Azure, `Values` in local.settings.json); defaults are the embedded profile.
 */
export interface Settings {
  /** Port of the local host (the Functions host ignores it). */
  localHostPort: number;
  /** Where the embedded adapters keep their files. */
  dataDir: string;
  /** Unset: the SQLite event store in DATA_DIR (one machine only; refused on Azure). */
  azureSql?: SqlConnectionSettings;
  cosmos: {
    /** Unset: an in-process Cosmos DB server, memory only, rebuilt from the events at start. */
    endpoint?: string;
    /** Unset with an endpoint: Microsoft Entra ID (the managed identity), as in Azure. */
    key?: string;
    database: string;
  };
  /** A user-assigned managed identity's client id; unset: the system-assigned one. */
  managedIdentityClientId?: string;
  /**
   * `redisCredential`: `key`, any credentials ride in `redisUrl`; `managedidentity`, Microsoft
   * Entra ID tokens of the app's credential (in Azure the managed identity `managedIdentityClientId`).
   * `redisKeyPrefix` keeps environments that share one Redis apart.
   */
  cache: { freshSeconds: number; staleSeconds: number; memoryMaxBytes: number; redisUrl?: string; redisCountersUrl?: string; redisCredential: 'key' | 'managedidentity'; redisKeyPrefix: string };
  bus: {
    maxAttempts: number;
    retryBaseMs: number;
    maxConcurrent: number;
    rabbitMq?: { url: string; exchange: string; queuePrefix: string };
    serviceBus?: ServiceBusConnectionSettings;
  };
  /** Unset: no Application Insights SDK is loaded; telemetry goes to JSON log lines. */
  appInsightsConnectionString?: string;
  readStore: { timeoutMs: number; breakerThreshold: number; breakerHalfOpenAfterMs: number };
  /** The longest any one event-store or data-key call may take before the caller gets a 503. */
  databaseCallTimeoutMs: number;
  outboxRelayMinAgeMs: number;
  seedDemoData: boolean;
  requestLog: boolean;
  auth: {
    issuer: string;
    audience: string;
    accessTokenSeconds: number;
    refreshTokenDays: number;
    maxFailuresPerAccount: number;
    maxFailuresPerAddress: number;
    /** Registrations per client address and hour (each hashes a password at full cost). */
    registrationsPerAddressPerHour: number;
    failureWindowSeconds: number;
    /** scrypt's N is 2 to this (17, OWASP's minimum; lower only for tests, never on Azure). */
    passwordScryptLog2N: number;
  };
  /** Unset: generated once into DATA_DIR/secrets.json (local profile only). */
  secrets: { signingKeys?: string; masterKey?: string; indexKey?: string };
  /** The first administrator, made at start-up when both are set. */
  bootstrapAdmin?: { email: string; password: string };
  /** Set by Azure App Service on every instance: no secret may be made up there. */
  runsOnAzure: boolean;
}

/** A Redis URL; with Microsoft Entra ID, none with a user or password in it (they would override the tokens). */
const redisUrl = Joi.string()
  .uri({ scheme: ['redis', 'rediss'] })
  .when('REDIS_CREDENTIAL', {
    is: 'managedidentity',
    then: Joi.custom((url: string, helpers) => (new URL(url).username || new URL(url).password ? helpers.error('any.invalid') : url)),
  });

const schema = Joi.object({
  LOCAL_HOST_PORT: Joi.number().port().default(7071),
  DATA_DIR: Joi.string().default('.data'),
  // It must name a server: without one the SQL driver fails at the first connection, naming no setting.
  AZURE_SQL_CONNECTION_STRING: Joi.string().pattern(/(?:^|;)\s*(?:server|data source|address|addr|network address)\s*=\s*[^;\s]/i),
  AZURE_SQL_SERVER: Joi.string().hostname(),
  AZURE_SQL_DATABASE: Joi.string().pattern(/^[\w.-]{1,128}$/),
  AZURE_CLIENT_ID: Joi.string().guid(),
  ServiceBusConnection: Joi.string().pattern(/^Endpoint=sb:\/\//i),
  ServiceBusConnection__fullyQualifiedNamespace: Joi.string().hostname(),
  APPLICATIONINSIGHTS_CONNECTION_STRING: Joi.string().pattern(/InstrumentationKey=/i),
  COSMOS_ENDPOINT: Joi.string().uri({ scheme: ['https', 'http'] }),
  COSMOS_KEY: Joi.string(),
  COSMOS_DATABASE: Joi.string().pattern(/^[A-Za-z0-9-]{1,255}$/).default('farmacias'),
  CACHE_FRESH_SECONDS: Joi.number().integer().min(0).default(30),
  CACHE_STALE_SECONDS: Joi.number().integer().min(0).default(86_400),
  // The embedded cache's bound in MiB of estimated value size; 64 of a Functions instance's 2 048 MB (see docs/settings.md).
  MEMORY_CACHE_MAX_MB: Joi.number().integer().min(1).default(64),
  // With Microsoft Entra ID the URL is required, and carries no user or password (they would override the tokens).
  REDIS_URL: redisUrl.when('REDIS_CREDENTIAL', { is: 'managedidentity', then: Joi.required() }),
  // The throttling windows' own Redis (never evicting), signed in to as REDIS_URL is; unset: REDIS_URL's.
  REDIS_COUNTERS_URL: redisUrl,
  REDIS_CREDENTIAL: Joi.string().valid('key', 'managedidentity').default('key'),
  REDIS_KEY_PREFIX: Joi.string().pattern(/^[\w.:-]{0,100}$/).default('farmacias:'),
  BUS_MAX_ATTEMPTS: Joi.number().integer().min(1).max(100).default(10),
  BUS_RETRY_BASE_MS: Joi.number().integer().min(1).default(100),
  BUS_MAX_CONCURRENT: Joi.number().integer().min(1).max(256).default(64),
  RABBITMQ_URL: Joi.string().uri({ scheme: ['amqp', 'amqps'] }),
  RABBITMQ_EXCHANGE: Joi.string().pattern(/^[\w.:-]{1,200}$/).default('domain-events'),
  RABBITMQ_QUEUE_PREFIX: Joi.string().pattern(/^[\w.:-]{0,100}$/).default('farmacias.'),
  READ_STORE_TIMEOUT_MS: Joi.number().integer().min(50).default(2_000),
  DATABASE_CALL_TIMEOUT_MS: Joi.number().integer().min(100).default(10_000),
  READ_STORE_BREAKER_THRESHOLD: Joi.number().integer().min(1).default(5),
  READ_STORE_BREAKER_HALF_OPEN_MS: Joi.number().integer().min(100).default(5_000),
  OUTBOX_RELAY_MIN_AGE_MS: Joi.number().integer().min(0).default(5_000),
  SEED_DEMO_DATA: Joi.boolean().default(true),
  REQUEST_LOG: Joi.boolean().default(true),
  AUTH_ISSUER: Joi.string().max(200).default('https://farmacias.local/auth'),
  AUTH_AUDIENCE: Joi.string().max(200).default('farmacias-api'),
  AUTH_ACCESS_TOKEN_SECONDS: Joi.number().integer().min(60).max(3600).default(900),
  AUTH_REFRESH_TOKEN_DAYS: Joi.number().integer().min(1).max(365).default(30),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: Joi.number().integer().min(1).default(5),
  LOGIN_MAX_FAILURES_PER_ADDRESS: Joi.number().integer().min(1).default(20),
  REGISTRATIONS_PER_ADDRESS_PER_HOUR: Joi.number().integer().min(1).default(10),
  LOGIN_FAILURE_WINDOW_SECONDS: Joi.number().integer().min(1).default(900),
  // Below 17 only where tests want speed: an instance on Azure refuses to start with less.
  PASSWORD_SCRYPT_LOG2_N: Joi.number()
    .integer()
    .min(10)
    .max(20)
    .default(17)
    .when('WEBSITE_INSTANCE_ID', { is: Joi.exist(), then: Joi.number().min(17) }),
  AUTH_SIGNING_KEYS: Joi.string(),
  PERSONAL_DATA_MASTER_KEY: Joi.string().base64(),
  PERSONAL_DATA_INDEX_KEY: Joi.string().base64(),
  WEBSITE_INSTANCE_ID: Joi.string(),
  BOOTSTRAP_ADMIN_EMAIL: Joi.string().email({ tlds: false }),
  BOOTSTRAP_ADMIN_PASSWORD: Joi.string().min(10),
})
  .oxor('AZURE_SQL_CONNECTION_STRING', 'AZURE_SQL_SERVER')
  .and('AZURE_SQL_SERVER', 'AZURE_SQL_DATABASE')
  .oxor('ServiceBusConnection', 'ServiceBusConnection__fullyQualifiedNamespace', 'RABBITMQ_URL')
  // One without the other would make no administrator and leave the e-mail unreserved, in silence.
  .and('BOOTSTRAP_ADMIN_EMAIL', 'BOOTSTRAP_ADMIN_PASSWORD')
  // The rest of the environment is not ours to judge.
  .unknown(true);

/** A configuration the app cannot run with. Its message and `settings` name settings, never a value. */
/** Every setting the code reads, by name (what the docs, the Bicep and the example file are checked against); not made at start-up. */
export function settingNames(): string[] {
  return Object.keys(schema.describe().keys ?? {});
}

export class SettingsError extends Error {
  constructor(
    message: string,
    readonly settings: string[] = [],
  ) {
    super(message);
    this.name = 'SettingsError';
  }
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  // Before the rules: a Key Vault reference App Service could not resolve is the real fault.
  const unresolved = unresolvedKeyVaultReferences(env);
  if (unresolved.length) throw new SettingsError(`unresolved Key Vault references: ${unresolved.join(', ')}`, unresolved);
  const { value, error } = schema.validate(env, { abortEarly: false, convert: true });
  // Name the setting, never echo its value: it may be a secret.
  if (error) {
    const named = [...new Set(error.details.flatMap(settingsNamed))];
    throw new SettingsError(`invalid settings: ${error.details.map(settingNamed).join(', ')}`, named);
  }
  const managedIdentityClientId: string | undefined = value.AZURE_CLIENT_ID;
  return {
    localHostPort: value.LOCAL_HOST_PORT,
    dataDir: value.DATA_DIR,
    ...(value.AZURE_SQL_CONNECTION_STRING || value.AZURE_SQL_SERVER
      ? {
          azureSql: value.AZURE_SQL_CONNECTION_STRING
            ? { connectionString: value.AZURE_SQL_CONNECTION_STRING }
            : { server: value.AZURE_SQL_SERVER, database: value.AZURE_SQL_DATABASE, managedIdentityClientId },
        }
      : {}),
    cosmos: { endpoint: value.COSMOS_ENDPOINT, key: value.COSMOS_KEY, database: value.COSMOS_DATABASE },
    managedIdentityClientId,
    appInsightsConnectionString: value.APPLICATIONINSIGHTS_CONNECTION_STRING,
    cache: {
      freshSeconds: value.CACHE_FRESH_SECONDS,
      staleSeconds: value.CACHE_STALE_SECONDS,
      memoryMaxBytes: value.MEMORY_CACHE_MAX_MB * 1024 * 1024,
      redisUrl: value.REDIS_URL,
      redisCountersUrl: value.REDIS_COUNTERS_URL,
      redisCredential: value.REDIS_CREDENTIAL,
      redisKeyPrefix: value.REDIS_KEY_PREFIX,
    },
    bus: {
      maxAttempts: value.BUS_MAX_ATTEMPTS,
      retryBaseMs: value.BUS_RETRY_BASE_MS,
      maxConcurrent: value.BUS_MAX_CONCURRENT,
      ...(value.RABBITMQ_URL
        ? { rabbitMq: { url: value.RABBITMQ_URL, exchange: value.RABBITMQ_EXCHANGE, queuePrefix: value.RABBITMQ_QUEUE_PREFIX } }
        : {}),
      ...(value.ServiceBusConnection || value.ServiceBusConnection__fullyQualifiedNamespace
        ? {
            serviceBus: value.ServiceBusConnection
              ? { connectionString: value.ServiceBusConnection }
              : { fullyQualifiedNamespace: value.ServiceBusConnection__fullyQualifiedNamespace, managedIdentityClientId },
          }
        : {}),
    },
    readStore: {
      timeoutMs: value.READ_STORE_TIMEOUT_MS,
      breakerThreshold: value.READ_STORE_BREAKER_THRESHOLD,
      breakerHalfOpenAfterMs: value.READ_STORE_BREAKER_HALF_OPEN_MS,
    },
    databaseCallTimeoutMs: value.DATABASE_CALL_TIMEOUT_MS,
    outboxRelayMinAgeMs: value.OUTBOX_RELAY_MIN_AGE_MS,
    seedDemoData: value.SEED_DEMO_DATA,
    requestLog: value.REQUEST_LOG,
    auth: {
      issuer: value.AUTH_ISSUER,
      audience: value.AUTH_AUDIENCE,
      accessTokenSeconds: value.AUTH_ACCESS_TOKEN_SECONDS,
      refreshTokenDays: value.AUTH_REFRESH_TOKEN_DAYS,
      maxFailuresPerAccount: value.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerAddress: value.LOGIN_MAX_FAILURES_PER_ADDRESS,
      registrationsPerAddressPerHour: value.REGISTRATIONS_PER_ADDRESS_PER_HOUR,
      failureWindowSeconds: value.LOGIN_FAILURE_WINDOW_SECONDS,
      passwordScryptLog2N: value.PASSWORD_SCRYPT_LOG2_N,
    },
    secrets: { signingKeys: value.AUTH_SIGNING_KEYS, masterKey: value.PERSONAL_DATA_MASTER_KEY, indexKey: value.PERSONAL_DATA_INDEX_KEY },
    runsOnAzure: value.WEBSITE_INSTANCE_ID !== undefined,
    ...(value.BOOTSTRAP_ADMIN_EMAIL && value.BOOTSTRAP_ADMIN_PASSWORD
      ? { bootstrapAdmin: { email: value.BOOTSTRAP_ADMIN_EMAIL, password: value.BOOTSTRAP_ADMIN_PASSWORD } }
      : {}),
  };
}

/**
 * The local host's port alone, for a host that serves the other settings' errors: it needs
 * a port even when they are wrong, and cannot open one when this is.
 */
export function localHostPort(env: NodeJS.ProcessEnv = process.env): number {
  const { value, error } = schema.extract('LOCAL_HOST_PORT').validate(env.LOCAL_HOST_PORT, { convert: true });
  if (error) throw new SettingsError('invalid settings: LOCAL_HOST_PORT', ['LOCAL_HOST_PORT']);
  return value;
}

/** The settings a failed rule is about, by name. */
function settingsNamed(detail: Joi.ValidationErrorItem): string[] {
  const { peers, missing } = (detail.context ?? {}) as { peers?: string[]; missing?: string[] };
  return peers ?? missing ?? [detail.path.join('.')];
}

/** The setting a failed rule is about (for a rule across settings, the ones it names), never its value. */
function settingNamed(detail: Joi.ValidationErrorItem): string {
  const { peers, missing } = (detail.context ?? {}) as { peers?: string[]; missing?: string[] };
  if (peers) return `one of ${peers.join(' / ')}`;
  if (missing) return missing.join(', ');
  return detail.path.join('.');
}
