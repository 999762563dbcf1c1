import { DATABASE_RETRY_AFTER_SECONDS, ServiceUnavailable } from '../../kernel/errors';

/**
 * SQLITE_BUSY: another process (an operator's sqlite3 shell, a second host on the same
 * DATA_DIR) held the lock through busy_timeout, and nothing was read or written. The caller
 * is told to come back (503 with Retry-After), as when a database server is away, not
 * answered with an unhandled error (500).
 */
export function unavailableIfBusy(error: unknown, store = 'the event store'): unknown {
  if (!isBusy(error)) return error;
  return new ServiceUnavailable(`${store} is busy (another process holds its lock); nothing was recorded: try again shortly`, DATABASE_RETRY_AFTER_SECONDS, { cause: error, nothingWritten: true });
}

export function busyAsUnavailable<T>(run: () => T, store?: string): T {
  try {
    return run();
  } catch (error) {
    throw unavailableIfBusy(error, store);
  }
}

/** SQLITE_BUSY or one of its extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_BUSY_RECOVERY…). */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
