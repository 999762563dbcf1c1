import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { DATABASE_RETRY_AFTER_SECONDS, ServiceUnavailable } from '../../kernel/errors';
import type { config as SqlConfig, ConnectionPool, Transaction } from 'mssql';
import type { Connection as TdsConnection } from 'tedious';
import type { TokenCredential } from '@azure/identity';
import type { SqlConnectionSettings } from '../../kernel/settings';
import { azureCredential } from '../azure-identity/credential';

/**
 * Error numbers Azure SQL documents as transient (throttling, failover, a database being
 * moved, a dropped connection) plus deadlock and lock-timeout victims: the whole
 * transaction is safe to run again.
 */
const TRANSIENT_ERROR_NUMBERS = new Set([
  20, 64, 233, 997, 1204, 1205, 1222, 4060, 4221, 10053, 10054, 10060, 10928, 10929, 40143, 40197, 40501, 40540, 40613,
  42108, 42109, 49918, 49919, 49920,
]);
/** Driver-side failures of the connection itself (tedious codes). */
const TRANSIENT_DRIVER_CODES = new Set(['ESOCKET', 'ECONNRESET', 'ETIMEOUT', 'ECONNCLOSED', 'ETIMEDOUT']);

/**
 * Login failures whose server error was transient, by the driver's error object. tedious
 * retries a 40613 (a database failing over), 40501 or 10928 at login three times, 500 ms
 * apart, then gives up with an ELOGIN error that keeps the server's message but not its
 * number: without this, a reconfiguration longer than about two seconds was a permanent
 * error (a 500) rather than one the transient retry waits out (and then a 503).
 */
const transientLoginErrors = new WeakSet<object>();

/** mssql's hook on each new pooled connection: notes the login's error numbers before tedious drops them. */
function noteTransientLoginErrors(connection: TdsConnection) {
  let transient = false;
  const note = (token: { number: number }) => {
    if (TRANSIENT_ERROR_NUMBERS.has(token.number)) transient = true;
  };
  connection.on('errorMessage', note);
  // After mssql's own listener (it wrapped the same object as its error's originalError), before any rejection is handled.
  connection.once('connect', (error?: unknown) => {
    connection.removeListener('errorMessage', note);
    for (const failure of error instanceof AggregateError ? [error, ...error.errors] : [error]) {
      if (transient && typeof failure === 'object' && failure !== null) transientLoginErrors.add(failure);
    }
  });
}

export function isTransientSqlError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (transientLoginErrors.has(error)) return true;
  const { number, code, originalError } = error as { number?: number; code?: string; originalError?: unknown };
  if (typeof number === 'number' && TRANSIENT_ERROR_NUMBERS.has(number)) return true;
  if (typeof code === 'string' && TRANSIENT_DRIVER_CODES.has(code)) return true;
  return originalError !== undefined && originalError !== error && isTransientSqlError(originalError);
}

/** SQL Server's duplicate-key errors: a unique index (2601) or a unique/primary key constraint (2627). */
export function violatedConstraint(error: unknown): string | undefined {
  const { number, message } = (error ?? {}) as { number?: number; message?: string };
  if (number !== 2601 && number !== 2627) return undefined;
  return /(?:constraint|index) '([^']+)'/i.exec(message ?? '')?.[1] ?? 'unknown';
}

/**
 * By identity, tedious signs in with the process's one credential (`token-credential`):
 * the Function App's managed identity in Azure, DefaultAzureCredential (`az login`)
 * elsewhere. Not its `azure-active-directory-default` or `-msi-app-service` types: those
 * make a new credential, with an empty token cache, for every pooled connection's login.
 */
export function sqlConfig(settings: SqlConnectionSettings, credential?: TokenCredential): SqlConfig | string {
  if ('connectionString' in settings) return settings.connectionString;
  if (!credential) throw new Error('a credential is needed to reach Azure SQL by identity');
  return {
    server: settings.server,
    database: settings.database,
    authentication: { type: 'token-credential', options: { credential } },
    options: { encrypt: true, trustServerCertificate: false },
    pool: { max: 10, min: 0, idleTimeoutMillis: 30_000 },
    connectionTimeout: 15_000,
    requestTimeout: 30_000,
    ...DRIVER_HOOKS,
  } as SqlConfig;
}

/**
 * mssql checks a pooled connection before lending it with a `SELECT 1`: a round trip to
 * the server per borrow, four of a command's eleven. The socket check (logged in, socket
 * writable) costs none; a connection that died anyway fails its statement, which the
 * transient retry runs again on another.
 */
const CHEAP_VALIDATION = { validateConnection: 'socket' } as const;
/** What every pool's configuration adds: the cheap validation, and the note of a login's transient error numbers. */
const DRIVER_HOOKS = { ...CHEAP_VALIDATION, beforeConnect: noteTransientLoginErrors };

/** A pool's configuration, from a connection string too (the string form cannot say how to validate). */
export function poolConfig(mssql: typeof import('mssql'), config: SqlConfig | string): SqlConfig {
  if (typeof config !== 'string') return config;
  return { ...mssql.ConnectionPool.parseConnectionString(config), ...DRIVER_HOOKS } as SqlConfig;
}

export async function openPool(settings: SqlConnectionSettings): Promise<ConnectionPool> {
  const mssql = await import('mssql');
  const config =
    'connectionString' in settings ? sqlConfig(settings) : sqlConfig(settings, await azureCredential(settings.managedIdentityClientId));
  const pool = new mssql.ConnectionPool(poolConfig(mssql, config));
  // An idle pooled connection dropped by a failover must not crash the process.
  pool.on('error', () => {});
  await pool.connect();
  return pool;
}

/**
 * A retry policy for whole transactions: transient errors run the operation again with
 * exponential back-off; anything else goes to the caller as it is. A transient error that
 * outlasts the retries (the server unreachable, failing over, throttling) becomes
 * ServiceUnavailable: the client is told to come back, and the error says nothing of the server.
 */
export function transientRetry(maxAttempts = 5) {
  const policy = retry(handleWhen(isTransientSqlError), {
    maxAttempts: maxAttempts - 1,
    backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5_000 }),
  });
  return {
    async execute<T>(work: (context: { attempt: number }) => Promise<T>): Promise<T> {
      try {
        return await policy.execute(work);
      } catch (error) {
        if (!isTransientSqlError(error)) throw error;
        // The SQL error stays the cause, for the log; the client is told nothing of the server.
        throw new ServiceUnavailable('the database is unavailable for a moment; the change may still be recorded: retry with the same Idempotency-Key', DATABASE_RETRY_AFTER_SECONDS, { cause: error });
      }
    },
  };
}

/** Runs one statement on a pool or inside a transaction, every value bound as a parameter. */
export async function queryRows<R>(runner: ConnectionPool | Transaction, sql: string, parameters: Record<string, string | number>): Promise<R[]> {
  const request = runner.request();
  for (const [name, value] of Object.entries(parameters)) request.input(name, value);
  return (await request.query<R>(sql)).recordset ?? [];
}

/** Runs one batch that answers several result sets (a snapshot and the events after it), every value bound as a parameter. */
export async function queryRecordsets(runner: ConnectionPool | Transaction, sql: string, parameters: Record<string, string | number>): Promise<unknown[][]> {
  const request = runner.request();
  for (const [name, value] of Object.entries(parameters)) request.input(name, value);
  const { recordsets } = await request.query(sql);
  return Array.isArray(recordsets) ? (recordsets as unknown[][]) : [];
}

/** The error number SQL Server raised (THROW's own number for the batches' signals), wherever the driver put it. */
export function sqlErrorNumber(error: unknown): number | undefined {
  const { number, originalError } = (error ?? {}) as { number?: unknown; originalError?: { number?: unknown; info?: { number?: unknown } } };
  for (const candidate of [number, originalError?.number, originalError?.info?.number]) if (typeof candidate === 'number') return candidate;
  return undefined;
}
