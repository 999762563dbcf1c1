import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ConcurrencyConflict, IdempotencyKeyReused, ReservationTaken, ServiceUnavailable } from '../../kernel/errors';
import { LockWaits, unavailableIfRefused } from './busy';
import { preparePrivateDatabaseFile } from './private-file';
import type {
  AppendManyOptions,
  AppendManyResult,
  AppendOptions,
  EventStore,
  IdempotencyClaim,
  IdempotencyClaimOutcome,
  IdempotentResponse,
  NewEvent,
  Snapshot,
  StoredEvent,
  StreamAppend,
  StreamConflict,
  StreamLoad,
  StreamLoadRequest,
  StreamSlice,
} from '../../kernel/ports';
import { assertAnswerOfClaim, assertDistinctStreams } from '../../kernel/ports';
import { projectRoot } from '../../kernel/project-root';
import { idempotentResponseOf, type IdempotencyRowOf } from '../idempotency-rows';

interface EventRow {
  position: number;
  event_id: string;
  stream_id: string;
  version: number;
  type: string;
  data: string;
  metadata: string;
  occurred_at: string;
}

type IdempotencyRow = IdempotencyRowOf<string>;

/** A stream's load in one statement: the newer snapshot, if any, on every row; no event gives one row of NULLs. */
interface LoadRow extends Omit<EventRow, 'position'> {
  position: number | null;
  snapshot_version: number | null;
  snapshot_state: string | null;
}

/** A stream's load from its rows: at least one, the snapshot's columns on each. */
function streamLoadOf(rows: readonly LoadRow[]): StreamLoad {
  const [first] = rows;
  const events = first.position === null ? [] : rows.map((row) => toStoredEvent(row as EventRow));
  if (first.snapshot_version === null) return { events };
  return { snapshot: { version: first.snapshot_version, state: JSON.parse(first.snapshot_state as string) }, events };
}

const MIGRATIONS_DIR = join(projectRoot(), 'shared', 'adapters', 'sqlite', 'migrations');

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    position: row.position,
    eventId: row.event_id,
    streamId: row.stream_id,
    version: row.version,
    type: row.type,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata),
    occurredAt: row.occurred_at,
  };
}

/**
 * Applies the numbered `.sql` files not yet recorded in schema_migrations, each in a
 * transaction; answers those it applied. Each is IMMEDIATE and asks again whether it is
 * applied: another process opening the same file (the bench beside a rebuild) may have
 * applied it since the list was read, and running it twice would fail that open.
 */
export function migrate(db: Database.Database, directory = MIGRATIONS_DIR): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const applied = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  const pending = readdirSync(directory)
    .map((name) => ({ name, version: Number(/^(\d+)_/.exec(name)?.[1]) }))
    .filter((file) => file.name.endsWith('.sql') && Number.isInteger(file.version) && !applied.has(file.version))
    .sort((a, b) => a.version - b.version);
  const appliedHere: number[] = [];
  for (const file of pending) {
    db.transaction(() => {
      if (isApplied.get(file.version) !== undefined) return;
      db.exec(readFileSync(join(directory, file.name), 'utf8'));
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        file.version,
        file.name,
        new Date().toISOString(),
      );
      appliedHere.push(file.version);
    }).immediate();
  }
  return appliedHere;
}

/** The WAL pages after which a commit checkpoints (SQLite's default is 1 000): see SqliteEventStore.open. */
export const WAL_PAGES_PER_CHECKPOINT = 4_000;
/** The size a WAL file grown past it is cut back to, once SQLite starts the file over. */
export const WAL_FILE_LIMIT_BYTES = 32 * 1024 * 1024;

/** The most appends one group commit takes: a longer transaction would hold other processes' writes back. */
export const MOST_APPENDS_PER_COMMIT = 256;

/** The most streams whose current version an instance keeps (see `knownVersions`); past it they are all read again. */
const MOST_KNOWN_VERSIONS = 50_000;

interface QueuedAppend {
  streamId: string;
  expectedVersion: number;
  events: NewEvent[];
  options: AppendOptions;
  resolve(stored: StoredEvent[]): void;
  reject(error: unknown): void;
}

type QueuedOutcome = { stored: StoredEvent[] } | { error: unknown };

/**
 * The embedded event store. better-sqlite3 is synchronous, so each append is one
 * uninterrupted unit: the expected-version check, the events, the outbox rows, the
 * reservations, the idempotency record and a due snapshot commit together or not at all.
 *
 * Appends asked for within one turn of the event loop share one commit (a group commit),
 * each in a savepoint of its own, so one append's conflict or taken reservation undoes that
 * append alone. The commit and its WAL pages (the events' and the outbox's last pages,
 * written again by every append) were about half of an append's CPU; under concurrent
 * commands they are paid once per turn. A load of a stream with an append queued commits
 * the queue first, so every load sees every append asked for before it, as when each append
 * committed in its caller's turn: commands on one stream (or reading it as facts) still see
 * each other in order, and only appends to streams nobody reads meanwhile share a commit.
 */
export class SqliteEventStore implements EventStore {
  private readonly statements;
  /** Made once: better-sqlite3 builds a wrapper per db.transaction() call, a few µs an append. */
  private readonly transactions;
  private queuedAppends: QueuedAppend[] = [];
  /** The streams with a queued append. */
  private readonly queuedStreams = new Set<string>();
  /**
   * Streams' current versions as this connection last read or wrote them. They hold while no
   * other connection (another process on the same file, another store of this one) commits,
   * which `PRAGMA data_version` tells: it changes with their commits, never with this
   * connection's own. Asked at every load, as the index was, it answers as of that moment;
   * unlike the index lookup it reads no page of the events' b-tree, whose cache misses made
   * that lookup ~13 % of a command's CPU on the local host (a turn-long memo of the answer
   * saved nothing more, and let a load miss a commit that the process already knew of).
   */
  private readonly knownVersions = new Map<string, number>();
  private knownAsOfDataVersion: number | undefined;
  /** Waits on another process's lock: busy_timeout once, then only a moment until a write gets it (LockWaits). */
  private readonly lockWaits: LockWaits;

  constructor(private readonly db: Database.Database) {
    this.lockWaits = new LockWaits(db, 'the event store');
    this.statements = {
      streamVersion: db.prepare('SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = ?').pluck(),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      readStream: db.prepare('SELECT * FROM events WHERE stream_id = ? AND version > ? ORDER BY version LIMIT ?'),
      readSnapshot: db.prepare('SELECT version, state FROM snapshots WHERE stream_id = ? AND schema = ?'),
      // One statement, not a snapshot read then an events read: a command loads its stream on every call.
      loadStream: db.prepare(
        `SELECT s.version AS snapshot_version, s.state AS snapshot_state, e.*
         FROM (SELECT 1)
         LEFT JOIN snapshots s ON s.stream_id = @streamId AND s.schema = @schema AND s.version > @afterVersion
         LEFT JOIN events e ON e.stream_id = @streamId AND e.version > COALESCE(s.version, @afterVersion)
         ORDER BY e.version`,
      ),
      // Many streams' loads in one statement (a partner feed's 500): each request a JSON array
      // [streamId, schema, afterVersion], its rows tagged with its index. A statement per stream
      // cost 11-15 µs a stream, this one 3-4 (measured on 500 streams).
      loadStreams: db.prepare(
        `SELECT r.key AS request, s.version AS snapshot_version, s.state AS snapshot_state, e.*
         FROM json_each(?) r
         LEFT JOIN snapshots s ON s.stream_id = r.value ->> '$[0]' AND s.schema = r.value ->> '$[1]' AND s.version > r.value ->> '$[2]'
         LEFT JOIN events e ON e.stream_id = r.value ->> '$[0]' AND e.version > COALESCE(s.version, r.value ->> '$[2]')
         ORDER BY r.key, e.version`,
      ),
      writeSnapshot: db.prepare(
        `INSERT INTO snapshots (stream_id, schema, version, state, taken_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (stream_id, schema) DO UPDATE SET version = excluded.version, state = excluded.state, taken_at = excluded.taken_at
         WHERE excluded.version > snapshots.version`,
      ),
      readAll: db.prepare('SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?'),
      insertEvent: db.prepare(
        `INSERT INTO events (event_id, stream_id, version, type, data, metadata, occurred_at)
         VALUES (@eventId, @streamId, @version, @type, @data, @metadata, @occurredAt)`,
      ),
      insertOutbox: db.prepare('INSERT INTO outbox (position, enqueued_ms) VALUES (?, ?)'),
      reservationHolder: db.prepare('SELECT stream_id FROM reservations WHERE scope = ? AND value = ?').pluck(),
      reserve: db.prepare('INSERT INTO reservations (scope, value, stream_id, reserved_at) VALUES (?, ?, ?, ?)'),
      release: db.prepare('DELETE FROM reservations WHERE scope = ? AND value = ? AND stream_id = ?'),
      findIdempotency: db.prepare('SELECT * FROM idempotency_keys WHERE key = ?'),
      index: db.prepare('INSERT OR IGNORE INTO stream_index (name, key, stream_id) VALUES (?, ?, ?)'),
      readIndex: db.prepare('SELECT stream_id FROM stream_index WHERE name = ? AND key = ? ORDER BY stream_id').pluck(),
      insertIdempotency: db.prepare(
        `INSERT INTO idempotency_keys (key, request_hash, status, body, headers, subject, created_at, expires_at, claimed_by)
         VALUES (@key, @requestHash, @status, @body, @headers, @subject, @createdAt, @expiresAt, @claimedBy)`,
      ),
      // An expired record (or lapsed claim) no longer holds its key; an attempt's own claim gives way to its answer.
      replaceIdempotency: db.prepare('DELETE FROM idempotency_keys WHERE key = ? AND (expires_at <= ? OR claimed_by = ?)'),
      releaseIdempotencyClaim: db.prepare('DELETE FROM idempotency_keys WHERE key = ? AND claimed_by = ?'),
      holdsIdempotencyClaim: db.prepare('SELECT 1 FROM idempotency_keys WHERE key = ? AND claimed_by = ?').pluck(),
      forgetIdempotencyOf: db.prepare('DELETE FROM idempotency_keys WHERE subject = ?'),
      purgeIdempotency: db.prepare('DELETE FROM idempotency_keys WHERE expires_at <= ?'),
      // The outbox in position order is in enqueue order (an append reads the clock under the
      // write lock), so the old rows come first and the scan stops at the limit; only an outbox
      // with fewer old rows than the limit is read on to its young end. A clock set back costs
      // a longer scan, never a row missed: the age is checked on every row.
      pendingOutbox: db.prepare(
        `SELECT e.* FROM outbox o JOIN events e ON e.position = o.position
         WHERE o.enqueued_ms <= ? ORDER BY o.position LIMIT ?`,
      ),
      deleteOutbox: db.prepare('DELETE FROM outbox WHERE position = (SELECT position FROM events WHERE event_id = ?)'),
    };
    this.transactions = {
      append: db.transaction((streamId: string, expectedVersion: number, events: NewEvent[], options: AppendOptions) => {
        const current = this.statements.streamVersion.get(streamId) as number;
        if (current !== expectedVersion) {
          throw new ConcurrencyConflict(`the resource changed meanwhile (version ${current}); reload and retry`);
        }
        return this.write(streamId, expectedVersion, events, options);
      }),
      appendQueued: db.transaction((queued: readonly QueuedAppend[]) =>
        queued.map(({ streamId, expectedVersion, events, options }): QueuedOutcome => {
          try {
            // Nested in this transaction, `append` runs in a savepoint: its failure undoes it alone.
            return { stored: this.transactions.append(streamId, expectedVersion, events, options) };
          } catch (error) {
            // SQLite ends the whole transaction on some failures (a full disk, an I/O error):
            // nothing of the group is then stored, and every append of it fails.
            if (!this.db.inTransaction) throw error;
            // A full disk that undid this append's savepoint alone: refused 503 as the whole group's would be.
            return { error: unavailableIfRefused(error) };
          }
        }),
      ),
      appendMany: db.transaction((appends: StreamAppend[], { claim, answer }: AppendManyOptions): AppendManyResult => {
        if (claim && this.statements.holdsIdempotencyClaim.get(claim.key, claim.owner) === undefined) {
          throw new IdempotencyKeyReused('another attempt took the Idempotency-Key meanwhile');
        }
        const conflicts = appends.flatMap(({ streamId, expectedVersion }, index): StreamConflict[] => {
          const current = this.statements.streamVersion.get(streamId) as number;
          return current === expectedVersion ? [] : [{ index, current }];
        });
        if (conflicts.length > 0) return { conflicts };
        const stored = appends.map(({ streamId, expectedVersion, events, options = {} }) => this.write(streamId, expectedVersion, events, options));
        this.storeIdempotency(answer);
        return { stored };
      }),
      claimIdempotencyKey: db.transaction((claim: IdempotencyClaim) => this.claim(claim)),
      storeIdempotency: db.transaction((response: IdempotentResponse) => this.storeIdempotency(response)),
      markPublished: db.transaction((eventIds: string[]) => {
        for (const id of eventIds) this.statements.deleteOutbox.run(id);
      }),
    };
  }

  /** `walPagesPerCheckpoint`: for `npm run bench:event-store`, which weighs the interval against SQLite's default. */
  static open(file: string, { walPagesPerCheckpoint = WAL_PAGES_PER_CHECKPOINT } = {}): SqliteEventStore {
    if (!Number.isSafeInteger(walPagesPerCheckpoint) || walPagesPerCheckpoint < 1) throw new Error('walPagesPerCheckpoint must be a positive integer');
    preparePrivateDatabaseFile(file);
    const db = new Database(file);
    // WAL keeps readers off the writer's back; NORMAL sync survives a process crash
    // (a power cut may lose the last commits, acceptable for the embedded profile).
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // A checkpoint every 4 000 WAL pages (~16 MB) instead of SQLite's 1 000: each waits on
    // fsyncs and copies the same hot pages again (the streams' tails, the outbox), so fewer
    // of them take less time in all: a command's append and load 10-15 % faster on average,
    // its p99 0.5 -> 0.17 ms (`npm run bench:event-store`). Each pause is longer: ~40 ms,
    // once every ~1 000 appends, where the default paused ~15 ms every ~250. A WAL file
    // grown past 32 MB (a long transaction, or a reader in another process holding back
    // the checkpoints) is cut back by the first commit after a checkpoint that no reader
    // held back, when SQLite starts the file over; never while a reader still needs it.
    db.pragma(`wal_autocheckpoint = ${walPagesPerCheckpoint}`);
    db.pragma(`journal_size_limit = ${WAL_FILE_LIMIT_BYTES}`);
    migrate(db);
    return new SqliteEventStore(db);
  }

  async readStream(streamId: string, slice: StreamSlice = {}): Promise<StoredEvent[]> {
    const rows = this.statements.readStream.all(streamId, slice.afterVersion ?? 0, slice.limit ?? -1) as EventRow[];
    return rows.map(toStoredEvent);
  }

  async saveIdempotentResponse(response: IdempotentResponse): Promise<void> {
    this.lockWaits.run(() => this.transactions.storeIdempotency(response));
  }

  /** IMMEDIATE: the write lock is taken before the read, so two processes sharing the file cannot both find the key free. */
  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyClaimOutcome> {
    // An append queued with this key's answer commits first: a request sent twice at once is
    // answered with the first one's answer, as before group commit, not 409 "in progress".
    if (this.queuedAppends.some(({ options }) => options.idempotency?.key === claim.key)) this.commitQueuedAppends();
    return this.lockWaits.run(() => this.transactions.claimIdempotencyKey.immediate(claim));
  }

  private claim(claim: IdempotencyClaim): IdempotencyClaimOutcome {
    const held = this.statements.findIdempotency.get(claim.key) as IdempotencyRow | undefined;
    if (held && held.expires_at > claim.createdAt.toISOString()) {
      if (held.claimed_by === claim.owner) return { claimed: true };
      return held.claimed_by === null
        ? { answered: idempotentResponseOf(held) }
        : { inProgress: { requestHash: held.request_hash, expiresAt: new Date(held.expires_at) } };
    }
    this.statements.replaceIdempotency.run(claim.key, claim.createdAt.toISOString(), null);
    this.statements.insertIdempotency.run({
      key: claim.key,
      requestHash: claim.requestHash,
      status: claim.standIn.status,
      body: JSON.stringify(claim.standIn.body),
      headers: JSON.stringify(claim.standIn.headers),
      subject: claim.subject ?? null,
      createdAt: claim.createdAt.toISOString(),
      expiresAt: claim.expiresAt.toISOString(),
      claimedBy: claim.owner,
    });
    return { claimed: true };
  }

  /**
   * Without waiting for the write lock: better-sqlite3 waits busy_timeout in place, the whole
   * process with it, and a release that meets another process's lock is tried again in the
   * background (releaseClaim), where each try would stand the process still once more.
   */
  async releaseIdempotencyClaim(key: string, owner: string): Promise<void> {
    this.lockWaits.atMost(0, () => this.statements.releaseIdempotencyClaim.run(key, owner));
  }

  async findReservation(scope: string, value: string): Promise<string | undefined> {
    return this.statements.reservationHolder.get(scope, value) as string | undefined;
  }

  async readIndex(name: string, key: string): Promise<string[]> {
    return this.statements.readIndex.all(name, key) as string[];
  }

  async readSnapshot(streamId: string, schema: string): Promise<Snapshot | undefined> {
    const row = this.statements.readSnapshot.get(streamId, schema) as { version: number; state: string } | undefined;
    return row && { version: row.version, state: JSON.parse(row.state) };
  }

  async writeSnapshot(streamId: string, schema: string, snapshot: Snapshot): Promise<void> {
    this.lockWaits.run(() => this.storeSnapshot(streamId, schema, snapshot));
  }

  private storeSnapshot(streamId: string, schema: string, snapshot: Snapshot) {
    this.statements.writeSnapshot.run(streamId, schema, snapshot.version, JSON.stringify(snapshot.state), new Date().toISOString());
  }

  /** Events are never changed, so the snapshot and the events after it need no transaction to agree. */
  async loadStream(streamId: string, schema: string, afterVersion: number): Promise<StreamLoad> {
    if (this.queuedStreams.has(streamId)) this.commitQueuedAppends();
    // A caller holding the stream's last version (an instance's kept state, the usual case)
    // learns it from the version alone (known, or read from the index): no snapshot can be
    // newer, no event follows.
    if (afterVersion > 0 && this.currentVersion(streamId) === afterVersion) return { events: [] };
    return streamLoadOf(this.statements.loadStream.all({ streamId, schema, afterVersion }) as LoadRow[]);
  }

  /** The stream's version: known (see `knownVersions`) or read from the index, then known. */
  private currentVersion(streamId: string): number {
    this.forgetVersionsIfAnotherConnectionCommitted();
    const known = this.knownVersions.get(streamId);
    if (known !== undefined) return known;
    const version = this.statements.streamVersion.get(streamId) as number;
    this.knowVersion(streamId, version);
    return version;
  }

  private forgetVersionsIfAnotherConnectionCommitted() {
    const dataVersion = this.statements.dataVersion.get() as number;
    if (dataVersion === this.knownAsOfDataVersion) return;
    this.knownVersions.clear();
    this.knownAsOfDataVersion = dataVersion;
  }

  private knowVersion(streamId: string, version: number) {
    if (this.knownVersions.size >= MOST_KNOWN_VERSIONS) this.knownVersions.clear();
    this.knownVersions.set(streamId, version);
  }

  /** After a commit: the versions this connection wrote are the streams' current ones. */
  private knowStored(streamId: string, stored: StoredEvent[]) {
    // Only streams already known: a partner feed's batches write many streams that no command loads next.
    if (stored.length > 0 && this.knownVersions.has(streamId)) this.knowVersion(streamId, stored[stored.length - 1].version);
  }

  async readAll(afterPosition: number, limit: number): Promise<StoredEvent[]> {
    return (this.statements.readAll.all(afterPosition, limit) as EventRow[]).map(toStoredEvent);
  }

  /** Queued for this turn's group commit (see the class); answers once it committed. */
  async append(streamId: string, expectedVersion: number, events: NewEvent[], options: AppendOptions = {}): Promise<StoredEvent[]> {
    return new Promise((resolve, reject) => {
      this.queuedAppends.push({ streamId, expectedVersion, events, options, resolve, reject });
      this.queuedStreams.add(streamId);
      // setImmediate, not a microtask: the requests read in the same turn (each in a callback
      // of its own) have all queued their appends by then.
      if (this.queuedAppends.length === 1) setImmediate(() => this.commitQueuedAppends());
    });
  }

  /**
   * Commits what is queued, in groups of at most MOST_APPENDS_PER_COMMIT, and settles each
   * append. Called early (a load of a queued stream, a batch of appends, a claim, a close) it
   * leaves its turn's call nothing to do.
   */
  private commitQueuedAppends() {
    const queued = this.queuedAppends;
    this.queuedAppends = [];
    this.queuedStreams.clear();
    let busy: unknown;
    for (let start = 0; start < queued.length; start += MOST_APPENDS_PER_COMMIT) {
      const group = queued.slice(start, start + MOST_APPENDS_PER_COMMIT);
      let outcomes: QueuedOutcome[];
      try {
        // Another process held the write lock through busy_timeout: the later groups would each
        // wait as long again, and better-sqlite3 waits in place, the whole process stopped.
        if (busy) throw busy;
        outcomes = this.lockWaits.run(() => this.transactions.appendQueued.immediate(group));
      } catch (error) {
        // The lock held elsewhere through busy_timeout (LockWaits answers that as a 503).
        if (error instanceof ServiceUnavailable) busy = error;
        for (const append of group) append.reject(error);
        continue;
      }
      group.forEach((append, index) => {
        const outcome = outcomes[index];
        if ('stored' in outcome) {
          this.knowStored(append.streamId, outcome.stored);
          append.resolve(outcome.stored);
        } else {
          // A conflict says another connection moved the stream on: its version is read again, as after a batch's.
          this.knownVersions.delete(append.streamId);
          append.reject(outcome.error);
        }
      });
    }
  }

  /** One transaction for all streams, all or nothing: a stream at another version leaves everything unwritten. */
  async appendMany(appends: StreamAppend[], options: AppendManyOptions = {}): Promise<AppendManyResult> {
    assertDistinctStreams(appends);
    assertAnswerOfClaim(options);
    // The appends queued were asked for first, so they commit first: a stream both write is then
    // the batch's to find changed (its command is decided again), as before group commit.
    if (this.queuedAppends.length > 0) this.commitQueuedAppends();
    // IMMEDIATE: the lock is asked for before the first read. A read transaction asking for the write lock gets no busy
    // handler from SQLite: a second host's ordinary commit refused the batch at once, and LockWaits took that for a
    // lock held through busy_timeout (the writes after it then waited only a moment).
    const result = this.lockWaits.run(() => this.transactions.appendMany.immediate(appends, options));
    if ('stored' in result) result.stored.forEach((stored, index) => this.knowStored(appends[index].streamId, stored));
    else for (const { index } of result.conflicts) this.knownVersions.delete(appends[index].streamId);
    return result;
  }

  async loadStreams(requests: StreamLoadRequest[]): Promise<StreamLoad[]> {
    if (requests.some(({ streamId }) => this.queuedStreams.has(streamId))) this.commitQueuedAppends();
    const asked = JSON.stringify(requests.map(({ streamId, schema, afterVersion }) => [streamId, schema, afterVersion]));
    const rowsOf = requests.map((): LoadRow[] => []);
    for (const row of this.statements.loadStreams.all(asked) as (LoadRow & { request: number })[]) rowsOf[row.request].push(row);
    return rowsOf.map(streamLoadOf);
  }

  /** An append's writes, inside the caller's transaction, after its version check. */
  private write(streamId: string, expectedVersion: number, events: NewEvent[], options: AppendOptions): StoredEvent[] {
    // The key first: a racing retry must be answered as a retry, not as a taken CNPJ.
    this.storeIdempotency(options.idempotency);
    this.reserve(streamId, options);
    for (const { scope, value } of options.releases ?? []) this.statements.release.run(scope, value, streamId);
    for (const { name, key } of options.indexes ?? []) this.statements.index.run(name, key, streamId);
    for (const subject of options.erasedSubjects ?? []) this.statements.forgetIdempotencyOf.run(subject);
    if (options.snapshot) this.storeSnapshot(streamId, options.snapshot.schema, options.snapshot.snapshot);
    const occurredAt = new Date().toISOString();
    const now = Date.now();
    return events.map((event, index) => {
      const version = expectedVersion + index + 1;
      const row = {
        eventId: event.eventId,
        streamId,
        version,
        type: event.type,
        data: JSON.stringify(event.data),
        metadata: JSON.stringify(event.metadata),
        occurredAt,
      };
      const position = Number(this.insertEvent(row).lastInsertRowid);
      this.statements.insertOutbox.run(position, now);
      return { ...event, streamId, version, position, occurredAt };
    });
  }

  private insertEvent(row: Record<string, unknown>) {
    try {
      return this.statements.insertEvent.run(row);
    } catch (error) {
      if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        throw new ConcurrencyConflict('the resource changed meanwhile; reload and retry');
      }
      throw error;
    }
  }

  private reserve(streamId: string, options: AppendOptions) {
    for (const { scope, value } of options.reservations ?? []) {
      const holder = this.statements.reservationHolder.get(scope, value) as string | undefined;
      if (holder === streamId) continue;
      if (holder !== undefined) throw new ReservationTaken(scope, `this ${scope} is already registered`);
      this.statements.reserve.run(scope, value, streamId, new Date().toISOString());
    }
  }

  private storeIdempotency(record: IdempotentResponse | undefined) {
    if (!record) return;
    // A record expired by the time this one is made no longer holds its key, nor does this attempt's own claim.
    this.statements.replaceIdempotency.run(record.key, record.createdAt.toISOString(), record.owner ?? null);
    if (this.statements.findIdempotency.get(record.key)) {
      throw new IdempotencyKeyReused('this Idempotency-Key was used meanwhile');
    }
    this.statements.insertIdempotency.run({
      key: record.key,
      requestHash: record.requestHash,
      status: record.status,
      body: JSON.stringify(record.body),
      headers: JSON.stringify(record.headers),
      subject: record.subject ?? null,
      createdAt: record.createdAt.toISOString(),
      expiresAt: record.expiresAt.toISOString(),
      claimedBy: null,
    });
  }

  async findIdempotentResponse(key: string, now: Date): Promise<IdempotentResponse | undefined> {
    const row = this.statements.findIdempotency.get(key) as IdempotencyRow | undefined;
    // Expired: as if never stored, even before the purge deletes it. A claim is no answer.
    if (!row || row.expires_at <= now.toISOString() || row.claimed_by !== null) return undefined;
    return idempotentResponseOf(row);
  }

  async purgeIdempotentResponses(now: Date): Promise<number> {
    return this.lockWaits.run(() => this.statements.purgeIdempotency.run(now.toISOString()).changes);
  }

  async pendingOutbox(olderThanMs: number, limit: number): Promise<StoredEvent[]> {
    return (this.statements.pendingOutbox.all(Date.now() - olderThanMs, limit) as EventRow[]).map(toStoredEvent);
  }

  async markPublished(eventIds: string[]): Promise<void> {
    this.lockWaits.run(() => this.transactions.markPublished(eventIds));
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    // What is queued was asked for before the close: it commits (or fails) first.
    if (this.db.open && this.queuedAppends.length > 0) this.commitQueuedAppends();
    if (this.db.open) this.db.close();
  }
}
