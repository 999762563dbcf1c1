import type { ConnectionPool, Transaction } from 'mssql';
import { ConcurrencyConflict, IdempotencyKeyReused, ReservationTaken } from '../../kernel/errors';
import type {
  AppendOptions,
  EventStore,
  IdempotentResponse,
  NewEvent,
  Snapshot,
  StoredEvent,
  StreamLoad,
  StreamSlice,
} from '../../kernel/ports';
import { queryRecordsets, queryRows, sqlErrorNumber, transientRetry, violatedConstraint } from './connection';

/** A row of es.idempotency_keys as the driver hands it over. */
export interface IdempotencyRow {
  key: string;
  request_hash: string;
  status: number;
  body: string;
  headers: string;
  subject: string | null;
  created_at: Date;
  expires_at: Date;
}

/** A row of es.events as the driver hands it over. */
export interface EventRow {
  position: string | number;
  event_id: string;
  stream_id: string;
  version: number;
  type: string;
  data: string;
  metadata: string;
  occurred_at: Date;
}

const PURGE_SLICE = 5000;
const EVENT_COLUMNS = 'position, event_id, stream_id, version, type, data, metadata, occurred_at';

function toStoredEvent(row: EventRow): StoredEvent {
  return {
    // BIGINT arrives as a string; positions stay far below 2^53.
    position: Number(row.position),
    eventId: row.event_id,
    streamId: row.stream_id,
    version: row.version,
    type: row.type,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata),
    occurredAt: row.occurred_at.toISOString(),
  };
}

/** The signals of APPEND_BATCH (THROW numbers), each mapped to its domain error by appendError. */
export const APPEND_SIGNALS = {
  /** The stream is not at the expected version; the message is `version <current>`, or none for a duplicate event. */
  conflict: 50001,
  /** A reserved value is held by another stream; the message is the reservation's ordinal in @reservations. */
  reservationTaken: 50002,
  idempotencyKeyReused: 50003,
  /** The stream's lock was not granted within its timeout. */
  busy: 50004,
} as const;

/**
 * An append in one round trip: the whole transaction runs on the server, every value a
 * bound parameter (lists as JSON through OPENJSON). An application lock on the stream
 * serialises its writers (and only them); then the expected-version check, the idempotency
 * record (first: a racing retry must be answered as a retry, not as a taken CNPJ), the
 * reservations in order, the releases, index entries, the erased subjects' records, the
 * events with their outbox rows and a due snapshot; the stored events are the answer.
 * A refusal is a THROW of APPEND_SIGNALS; a duplicate key raced past the checks is turned
 * into the signal of the step it hit; anything else (a deadlock, a failover) is thrown again
 * as it was, for the transient retry. XACT_ABORT rolls everything back on any error,
 * a client timeout included. A retry (@retry = 1) whose first attempt committed (its answer
 * was lost) finds its first event stored in this stream, looked for under the stream's
 * lock, and answers the events it stored.
 */
export const APPEND_BATCH = `SET XACT_ABORT ON;
SET NOCOUNT ON;
DECLARE @first INT, @stage NVARCHAR(16) = N'lock', @message NVARCHAR(2048), @granted INT, @current INT, @i INT = 0, @n INT,
  @scope NVARCHAR(100), @value NVARCHAR(200), @holder NVARCHAR(200), @now DATETIME2(3) = SYSUTCDATETIME();
BEGIN TRY
  BEGIN TRANSACTION;
  EXEC @granted = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 10000;
  IF @granted < 0
    THROW 50004, N'the stream is busy', 1;
  -- Under the stream's lock: a first attempt still running on the server (its connection
  -- lost, not yet noticed) has committed or rolled back by now. Read before the lock, under
  -- read committed snapshot, its uncommitted events were invisible, and its commit then
  -- turned this retry into a conflict for a change that was recorded.
  IF @retry = 1
    SELECT @first = version FROM es.events WHERE event_id = @firstEventId AND stream_id = @streamId;
  IF @first IS NOT NULL
  BEGIN
    SELECT TOP (@count) ${EVENT_COLUMNS} FROM es.events WHERE stream_id = @streamId AND version >= @first ORDER BY version;
    COMMIT TRANSACTION;
  END
  ELSE
  BEGIN
    SELECT @current = COALESCE(MAX(version), 0) FROM es.events WHERE stream_id = @streamId;
    IF @current <> @expectedVersion
    BEGIN
      SET @message = CONCAT(N'version ', @current);
      THROW 50001, @message, 1;
    END;

    SET @stage = N'idempotency';
    IF @hasIdempotency = 1
    BEGIN
      -- A record expired by the time this one is made no longer holds its key. Times are the app's clock, as ISO 8601 (style 127).
      DELETE FROM es.idempotency_keys WHERE [key] = @idempotencyKey AND expires_at <= CONVERT(DATETIME2(3), @createdAt, 127);
      INSERT INTO es.idempotency_keys ([key], request_hash, status, body, headers, subject, created_at, expires_at)
      VALUES (@idempotencyKey, @requestHash, @status, @body, @headers, NULLIF(@subject, N''),
        CONVERT(DATETIME2(3), @createdAt, 127), CONVERT(DATETIME2(3), @expiresAt, 127));
    END;

    SET @stage = N'reservation';
    SELECT @n = COUNT(*) FROM OPENJSON(@reservations);
    WHILE @i < @n
    BEGIN
      SELECT @scope = r.scope, @value = r.value
      FROM OPENJSON(@reservations) WITH (ordinal INT, scope NVARCHAR(100), value NVARCHAR(200)) AS r WHERE r.ordinal = @i;
      SET @holder = NULL;
      SELECT @holder = stream_id FROM es.reservations WITH (UPDLOCK, HOLDLOCK) WHERE scope = @scope AND value = @value;
      IF @holder IS NULL
        INSERT INTO es.reservations (scope, value, stream_id, reserved_at) VALUES (@scope, @value, @streamId, @now);
      ELSE IF @holder <> @streamId COLLATE Latin1_General_100_BIN2
      BEGIN
        SET @message = CONCAT(N'', @i);
        THROW 50002, @message, 1;
      END;
      SET @i += 1;
    END;

    SET @stage = N'release';
    IF @releases <> N'[]'
      DELETE r FROM es.reservations AS r
      JOIN OPENJSON(@releases) WITH (scope NVARCHAR(100), value NVARCHAR(200)) AS x
        ON r.scope = x.scope COLLATE Latin1_General_100_BIN2 AND r.value = x.value COLLATE Latin1_General_100_BIN2
      WHERE r.stream_id = @streamId;

    SET @stage = N'index';
    IF @indexes <> N'[]'
      INSERT INTO es.stream_index (name, [key], stream_id)
      SELECT DISTINCT x.name, x.[key], @streamId FROM OPENJSON(@indexes) WITH (name NVARCHAR(100), [key] NVARCHAR(200)) AS x
      WHERE NOT EXISTS (
        SELECT 1 FROM es.stream_index AS s
        WHERE s.name = x.name COLLATE Latin1_General_100_BIN2 AND s.[key] = x.[key] COLLATE Latin1_General_100_BIN2 AND s.stream_id = @streamId);

    SET @stage = N'erasure';
    IF @erased <> N'[]'
      DELETE FROM es.idempotency_keys
      WHERE subject IN (SELECT x.subject COLLATE Latin1_General_100_BIN2 FROM OPENJSON(@erased) WITH (subject NVARCHAR(200) '$') AS x);

    -- Identities follow the ORDER BY of the INSERT ... SELECT, as SQL Server guarantees.
    SET @stage = N'events';
    INSERT INTO es.events (event_id, stream_id, version, type, data, metadata, occurred_at)
    SELECT e.eventId, @streamId, e.version, e.type, e.data, e.metadata, @now
    FROM OPENJSON(@events) WITH (ordinal INT, eventId NVARCHAR(64), version INT, type NVARCHAR(100), data NVARCHAR(MAX), metadata NVARCHAR(4000)) AS e
    ORDER BY e.ordinal;
    INSERT INTO es.outbox (event_id, position, enqueued_at)
    SELECT event_id, position, @now FROM es.events WHERE stream_id = @streamId AND version > @expectedVersion;

    SET @stage = N'snapshot';
    IF @snapshotSchema <> N''
    BEGIN
      UPDATE es.snapshots WITH (UPDLOCK, SERIALIZABLE) SET version = @snapshotVersion, state = @snapshotState, taken_at = @now
      WHERE stream_id = @streamId AND [schema] = @snapshotSchema AND version < @snapshotVersion;
      IF @@ROWCOUNT = 0 AND NOT EXISTS (SELECT 1 FROM es.snapshots WITH (UPDLOCK, SERIALIZABLE) WHERE stream_id = @streamId AND [schema] = @snapshotSchema)
        INSERT INTO es.snapshots (stream_id, [schema], version, state, taken_at) VALUES (@streamId, @snapshotSchema, @snapshotVersion, @snapshotState, @now);
    END;

    SELECT ${EVENT_COLUMNS} FROM es.events WHERE stream_id = @streamId AND version > @expectedVersion ORDER BY version;
    COMMIT TRANSACTION;
  END;
END TRY
BEGIN CATCH
  IF XACT_STATE() <> 0
    ROLLBACK TRANSACTION;
  IF ERROR_NUMBER() IN (2601, 2627) AND @stage = N'idempotency'
    THROW 50003, N'the idempotency key was stored meanwhile', 1;
  IF ERROR_NUMBER() IN (2601, 2627) AND @stage = N'reservation'
  BEGIN
    SET @message = CONCAT(N'', @i);
    THROW 50002, @message, 1;
  END;
  IF ERROR_NUMBER() IN (2601, 2627) AND @stage = N'events'
    THROW 50001, N'a duplicate event', 1;
  THROW;
END CATCH;`;

/**
 * A stream's load in one round trip: the snapshot of the schema when newer than what the
 * caller holds (@afterVersion), then the events after whichever is newer. Events are never
 * changed, so the two reads agree without a transaction.
 */
export const LOAD_STREAM_BATCH = `SET NOCOUNT ON;
DECLARE @snapshotVersion INT, @state NVARCHAR(MAX);
SELECT @snapshotVersion = version, @state = state FROM es.snapshots
WHERE stream_id = @streamId AND [schema] = @schema AND version > @afterVersion;
SELECT @snapshotVersion AS version, @state AS state WHERE @snapshotVersion IS NOT NULL;
SELECT ${EVENT_COLUMNS} FROM es.events WHERE stream_id = @streamId AND version > COALESCE(@snapshotVersion, @afterVersion) ORDER BY version;`;

/** The parameters of APPEND_BATCH: absent options are empty lists, 0 flags and empty strings, never NULL (untyped). */
function appendParameters(streamId: string, expectedVersion: number, events: NewEvent[], options: AppendOptions, retrying: boolean) {
  const idempotency = options.idempotency;
  const snapshot = options.snapshot;
  return {
    streamId,
    expectedVersion,
    resource: `stream:${streamId}`.slice(0, 255),
    retry: retrying && events.length > 0 ? 1 : 0,
    firstEventId: events[0]?.eventId ?? '',
    count: events.length,
    hasIdempotency: idempotency ? 1 : 0,
    idempotencyKey: idempotency?.key ?? '',
    requestHash: idempotency?.requestHash ?? '',
    status: idempotency?.status ?? 0,
    body: idempotency ? JSON.stringify(idempotency.body) : '',
    headers: idempotency ? JSON.stringify(idempotency.headers) : '',
    subject: idempotency?.subject ?? '',
    createdAt: idempotency?.createdAt.toISOString() ?? '',
    expiresAt: idempotency?.expiresAt.toISOString() ?? '',
    reservations: JSON.stringify((options.reservations ?? []).map(({ scope, value }, ordinal) => ({ ordinal, scope, value }))),
    releases: JSON.stringify((options.releases ?? []).map(({ scope, value }) => ({ scope, value }))),
    indexes: JSON.stringify((options.indexes ?? []).map(({ name, key }) => ({ name, key }))),
    erased: JSON.stringify(options.erasedSubjects ?? []),
    events: JSON.stringify(
      events.map((event, index) => ({
        ordinal: index,
        eventId: event.eventId,
        version: expectedVersion + index + 1,
        type: event.type,
        data: JSON.stringify(event.data),
        metadata: JSON.stringify(event.metadata),
      })),
    ),
    snapshotSchema: snapshot?.schema ?? '',
    snapshotVersion: snapshot?.snapshot.version ?? 0,
    snapshotState: snapshot ? JSON.stringify(snapshot.snapshot.state) : '',
  };
}

/** The domain error an append's signal stands for; any other error as it is. */
function appendError(error: unknown, options: AppendOptions): unknown {
  const message = error instanceof Error ? error.message : '';
  switch (sqlErrorNumber(error)) {
    case APPEND_SIGNALS.conflict: {
      const current = /^version (\d+)$/.exec(message)?.[1];
      return new ConcurrencyConflict(current === undefined ? 'the resource changed meanwhile; reload and retry' : `the resource changed meanwhile (version ${current}); reload and retry`);
    }
    case APPEND_SIGNALS.reservationTaken: {
      const scope = options.reservations?.[Number(message)]?.scope ?? 'value';
      return new ReservationTaken(scope, `this ${scope} is already registered`);
    }
    case APPEND_SIGNALS.idempotencyKeyReused:
      return new IdempotencyKeyReused('this Idempotency-Key was used meanwhile');
    case APPEND_SIGNALS.busy:
      return new ConcurrencyConflict('the resource is busy; retry');
    default:
      return error;
  }
}

/**
 * The production event store on Azure SQL. An append is one transaction in one round
 * trip (APPEND_BATCH); loading an aggregate is one read (LOAD_STREAM_BATCH). Transient
 * faults run the whole batch again; a retry that finds its own events committed (the
 * first attempt's commit answer was lost) returns them instead of reporting a conflict.
 */
export class AzureSqlEventStore implements EventStore {
  private readonly retry = transientRetry();

  constructor(private readonly pool: ConnectionPool) {}

  async readStream(streamId: string, slice: StreamSlice = {}): Promise<StoredEvent[]> {
    const top = slice.limit === undefined ? '' : 'TOP (@limit)';
    const rows = await this.query<EventRow>(
      `SELECT ${top} ${EVENT_COLUMNS} FROM es.events WHERE stream_id = @streamId AND version > @after ORDER BY version`,
      { streamId, after: slice.afterVersion ?? 0, ...(slice.limit === undefined ? {} : { limit: slice.limit }) },
    );
    return rows.map(toStoredEvent);
  }

  async loadStream(streamId: string, schema: string, afterVersion: number): Promise<StreamLoad> {
    const [snapshots = [], events = []] = await this.retry.execute(() => queryRecordsets(this.pool, LOAD_STREAM_BATCH, { streamId, schema, afterVersion }));
    const [snapshot] = snapshots as { version: number; state: string }[];
    const tail = (events as EventRow[]).map(toStoredEvent);
    return snapshot ? { snapshot: { version: snapshot.version, state: JSON.parse(snapshot.state) }, events: tail } : { events: tail };
  }

  async readAll(afterPosition: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.query<EventRow>(
      `SELECT TOP (@limit) ${EVENT_COLUMNS} FROM es.events WHERE position > @after ORDER BY position`,
      { after: afterPosition, limit },
    );
    return rows.map(toStoredEvent);
  }

  async append(streamId: string, expectedVersion: number, events: NewEvent[], options: AppendOptions = {}): Promise<StoredEvent[]> {
    try {
      const rows = await this.retry.execute(({ attempt }) =>
        queryRows<EventRow>(this.pool, APPEND_BATCH, appendParameters(streamId, expectedVersion, events, options, attempt > 0)),
      );
      return rows.map(toStoredEvent);
    } catch (error) {
      throw appendError(error, options);
    }
  }

  private async insertIdempotency(transaction: Transaction, record: IdempotentResponse) {
    try {
      // A record expired by the time this one is made no longer holds its key. Times are the app's clock, as ISO 8601 (style 127).
      await this.query(
        `DECLARE @created DATETIME2(3) = CONVERT(DATETIME2(3), @createdAt, 127);
         DELETE FROM es.idempotency_keys WHERE [key] = @key AND expires_at <= @created;
         INSERT INTO es.idempotency_keys ([key], request_hash, status, body, headers, subject, created_at, expires_at)
         VALUES (@key, @requestHash, @status, @body, @headers, NULLIF(@subject, N''), @created, CONVERT(DATETIME2(3), @expiresAt, 127))`,
        {
          key: record.key,
          requestHash: record.requestHash,
          status: record.status,
          body: JSON.stringify(record.body),
          headers: JSON.stringify(record.headers),
          subject: record.subject ?? '',
          createdAt: record.createdAt.toISOString(),
          expiresAt: record.expiresAt.toISOString(),
        },
        transaction,
      );
    } catch (error) {
      if (violatedConstraint(error)) throw new IdempotencyKeyReused('this Idempotency-Key was used meanwhile');
      throw error;
    }
  }

  async findIdempotentResponse(key: string, now: Date): Promise<IdempotentResponse | undefined> {
    // Expired: as if never stored, even before the purge deletes it.
    const [row] = await this.query<IdempotencyRow>(
      `SELECT [key], request_hash, status, body, headers, subject, created_at, expires_at FROM es.idempotency_keys
       WHERE [key] = @key AND expires_at > CONVERT(DATETIME2(3), @now, 127)`,
      { key, now: now.toISOString() },
    );
    return (
      row && {
        key: row.key,
        requestHash: row.request_hash,
        status: row.status,
        body: JSON.parse(row.body),
        headers: JSON.parse(row.headers),
        ...(row.subject === null ? {} : { subject: row.subject }),
        createdAt: row.created_at,
        expiresAt: row.expires_at,
      }
    );
  }

  /** In slices, so a large backlog never holds one long lock on the table. */
  async purgeIdempotentResponses(now: Date): Promise<number> {
    let purged = 0;
    for (;;) {
      const [row] = await this.query<{ deleted: number }>(
        `DELETE TOP (@slice) FROM es.idempotency_keys WHERE expires_at <= CONVERT(DATETIME2(3), @now, 127);
         SELECT @@ROWCOUNT AS deleted;`,
        { slice: PURGE_SLICE, now: now.toISOString() },
      );
      purged += row?.deleted ?? 0;
      if ((row?.deleted ?? 0) < PURGE_SLICE) return purged;
    }
  }

  async saveIdempotentResponse(response: IdempotentResponse): Promise<void> {
    await this.retry.execute(() => this.inTransaction((transaction) => this.insertIdempotency(transaction, response)));
  }

  async findReservation(scope: string, value: string): Promise<string | undefined> {
    const [row] = await this.query<{ stream_id: string }>('SELECT stream_id FROM es.reservations WHERE scope = @scope AND value = @value', { scope, value });
    return row?.stream_id;
  }

  async readIndex(name: string, key: string): Promise<string[]> {
    const rows = await this.query<{ stream_id: string }>(
      'SELECT stream_id FROM es.stream_index WHERE name = @name AND [key] = @key ORDER BY stream_id',
      { name, key },
    );
    return rows.map((row) => row.stream_id);
  }

  async readSnapshot(streamId: string, schema: string): Promise<Snapshot | undefined> {
    const [row] = await this.query<{ version: number; state: string }>(
      'SELECT version, state FROM es.snapshots WHERE stream_id = @streamId AND [schema] = @schema',
      { streamId, schema },
    );
    return row && { version: row.version, state: JSON.parse(row.state) };
  }

  async writeSnapshot(streamId: string, schema: string, snapshot: Snapshot): Promise<void> {
    const parameters = { streamId, schema, version: snapshot.version, state: JSON.stringify(snapshot.state) };
    await this.retry.execute(() =>
      this.inTransaction((transaction) =>
        this.query(
          `UPDATE es.snapshots WITH (UPDLOCK, SERIALIZABLE) SET version = @version, state = @state, taken_at = SYSUTCDATETIME()
             WHERE stream_id = @streamId AND [schema] = @schema AND version < @version;
           IF @@ROWCOUNT = 0 AND NOT EXISTS (SELECT 1 FROM es.snapshots WHERE stream_id = @streamId AND [schema] = @schema)
             INSERT INTO es.snapshots (stream_id, [schema], version, state, taken_at) VALUES (@streamId, @schema, @version, @state, SYSUTCDATETIME());`,
          parameters,
          transaction,
        ),
      ),
    );
  }

  async pendingOutbox(olderThanMs: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.query<EventRow>(
      `SELECT TOP (@limit) ${EVENT_COLUMNS.split(', ').map((column) => `e.${column}`).join(', ')}
       FROM es.outbox o JOIN es.events e ON e.event_id = o.event_id
       WHERE o.enqueued_at <= DATEADD(millisecond, -@olderThanMs, SYSUTCDATETIME())
       ORDER BY o.position`,
      { limit, olderThanMs },
    );
    return rows.map(toStoredEvent);
  }

  async markPublished(eventIds: string[]): Promise<void> {
    if (eventIds.length === 0) return;
    await this.query('DELETE FROM es.outbox WHERE event_id IN (SELECT value FROM OPENJSON(@ids))', { ids: JSON.stringify(eventIds) });
  }

  async ping(): Promise<void> {
    await this.pool.request().query('SELECT 1 AS ok');
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async inTransaction<T>(work: (transaction: Transaction) => Promise<T>): Promise<T> {
    const transaction = this.pool.transaction();
    await transaction.begin();
    try {
      const result = await work(transaction);
      await transaction.commit();
      return result;
    } catch (error) {
      // XACT_ABORT-style errors may have rolled back already; the original error matters.
      await transaction.rollback().catch(() => {});
      throw error;
    }
  }

  /** Every statement goes through here, its values bound as parameters. Reads outside a transaction retry on transient faults. */
  private async query<R = unknown>(sql: string, parameters: Record<string, string | number>, transaction?: Transaction): Promise<R[]> {
    const run = () => queryRows<R>(transaction ?? this.pool, sql, parameters);
    return transaction ? run() : this.retry.execute(run);
  }
}
