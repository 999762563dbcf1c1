import type Database from 'better-sqlite3';
import { DATABASE_RETRY_AFTER_SECONDS, ServiceUnavailable } from '../../kernel/errors';

/**
 * A statement the file refused whole, nothing read or written: SQLITE_BUSY (another process,
 * an operator's sqlite3 shell or a second host on the same DATA_DIR, held the lock through
 * busy_timeout) or SQLITE_FULL (no room left). The caller is told to come back (503 with
 * Retry-After), as when a database server is away, not answered with an unhandled error (500).
 */
export function unavailableIfRefused(error: unknown, store = 'the event store'): unknown {
  if (isFull(error)) return unavailableAsFull(error, store);
  if (!isBusy(error)) return error;
  return new ServiceUnavailable(`${store} is busy (another process holds its lock); nothing was recorded: try again shortly`, DATABASE_RETRY_AFTER_SECONDS, { cause: error, nothingWritten: true });
}

/**
 * SQLITE_FULL: the disk has no room left (or the database reached max_page_count). The
 * statement failed whole and the transaction around it is rolled back, so nothing was
 * recorded: a 503 the caller may retry once an operator made room, not an unhandled error
 * (500). Readiness does not see it (it writes nothing); the warnings and 503s do.
 */
function unavailableAsFull(error: unknown, store: string): ServiceUnavailable {
  return new ServiceUnavailable(`${store} has no room left on its disk; nothing was recorded: try again later`, DATABASE_RETRY_AFTER_SECONDS, { cause: error, nothingWritten: true });
}

/** SQLITE_FULL: no room left on the disk (or past max_page_count). */
export function isFull(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 'SQLITE_FULL';
}

/** SQLITE_BUSY or one of its extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_BUSY_RECOVERY…). */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * How long a call waits for the lock once a call before it waited the whole busy_timeout
 * and found the lock still held by another process, until a call gets it again: enough for
 * another writer's own commit (a second host on the same DATA_DIR), far less than busy_timeout.
 */
const WAIT_WHILE_LOCK_HELD_ELSEWHERE_MS = 10;

/**
 * Waits on another process's lock for one database connection. better-sqlite3 waits in
 * place, the whole process still: once a call waited busy_timeout and another process still
 * held the lock (an operator's sqlite3 shell, a long transaction), the calls after it wait only
 * WAIT_WHILE_LOCK_HELD_ELSEWHERE_MS until one of them gets it. Otherwise every request sent
 * meanwhile stood the process still for busy_timeout in its turn (60 keyed commands, 5
 * minutes, health checks and reads included).
 */
export class LockWaits {
  private heldElsewhere = false;

  constructor(
    private readonly db: Database.Database,
    /** How the store is named in its 503 ("the event store", "the data key store"). */
    private readonly store: string,
  ) {}

  /**
   * Runs a statement or transaction: busy_timeout for the lock, or only a moment while another
   * process is known to hold it; SQLITE_BUSY and SQLITE_FULL become a 503 (unavailableIfRefused).
   * A transaction must ask for the write lock first (IMMEDIATE, or a write as its first statement): one that reads first
   * is refused the write lock at once, no busy handler called, and that refusal would be taken for a lock held throughout.
   */
  run<T>(run: () => T): T {
    try {
      const result = this.heldElsewhere ? this.waitingAtMost(WAIT_WHILE_LOCK_HELD_ELSEWHERE_MS, run) : run();
      this.heldElsewhere = false;
      return result;
    } catch (error) {
      // Any other failure came after the lock was taken: the lock is free again.
      this.heldElsewhere = isBusy(error);
      throw unavailableIfRefused(error, this.store);
    }
  }

  /** Runs with busy_timeout cut to `limitMs` (0: fail at once when the lock is held, a 503), leaving what is known of the lock as it is. */
  atMost<T>(limitMs: number, run: () => T): T {
    try {
      return this.waitingAtMost(limitMs, run);
    } catch (error) {
      throw unavailableIfRefused(error, this.store);
    }
  }

  private waitingAtMost<T>(limitMs: number, run: () => T): T {
    const waitMs = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${Math.min(limitMs, waitMs)}`);
    try {
      return run();
    } finally {
      this.db.pragma(`busy_timeout = ${waitMs}`);
    }
  }
}
