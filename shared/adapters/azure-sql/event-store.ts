import type { ConnectionPool, Transaction } from 'mssql';
import { ConcurrencyConflict, IdempotencyKeyReused, ReservationTaken } from '../../kernel/errors';
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
  StreamLoad,
  StreamLoadRequest,
  StreamSlice,
} from '../../kernel/ports';
import { assertAnswerOfClaim, assertDistinctStreams } from '../../kernel/ports';
import { queryRecordsets, queryRows, sqlErrorNumber, transientRetry, violatedConstraint } from './connection';
import { idempotentResponseOf, type IdempotencyRowOf } from '../idempotency-rows';

/** A row of es.idempotency_keys as the driver hands it over. */
export type IdempotencyRow = IdempotencyRowOf<Date>;

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

/** One stream's new events as the batches' OPENJSON reads them: the versions after `expectedVersion`, in order. */
function eventRows(expectedVersion: number, events: NewEvent[]) {
  return events.map((event, index) => ({
    ordinal: index,
    eventId: event.eventId,
    version: expectedVersion + index + 1,
    type: event.type,
    data: JSON.stringify(event.data),
    metadata: JSON.stringify(event.metadata),
  }));
}

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
      -- A record expired by the time this one is made no longer holds its key, nor does this attempt's own claim.
      -- Times are the app's clock, as ISO 8601 (style 127).
      DELETE FROM es.idempotency_keys
      WHERE [key] = @idempotencyKey AND (expires_at <= CONVERT(DATETIME2(3), @createdAt, 127) OR claimed_by = NULLIF(@claimedBy, N''));
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

const IDEMPOTENCY_COLUMNS = '[key], request_hash, status, body, headers, subject, created_at, expires_at, claimed_by';

/**
 * Claims an idempotency key in one round trip. UPDLOCK and HOLDLOCK keep the key's row, or
 * the gap where it would be, locked to the commit: two claims of one key take turns, and
 * the second finds the first's. The claim's status, body and headers are its stand-in
 * answer (a 409 Retry-After) for code that predates claims. When nothing holds the key at the claim's time (no row, an
 * expired answer, a lapsed claim), the claim replaces it. The answer is the key's row as it
 * stands: this attempt's claim, or what holds the key. A retry after a lost answer finds its
 * own claim, so it is claimed still.
 */
export const CLAIM_IDEMPOTENCY_BATCH = `SET XACT_ABORT ON;
SET NOCOUNT ON;
DECLARE @at DATETIME2(3) = CONVERT(DATETIME2(3), @createdAt, 127), @heldUntil DATETIME2(3);
BEGIN TRANSACTION;
SELECT @heldUntil = expires_at FROM es.idempotency_keys WITH (UPDLOCK, HOLDLOCK) WHERE [key] = @key;
IF @heldUntil IS NULL OR @heldUntil <= @at
BEGIN
  DELETE FROM es.idempotency_keys WHERE [key] = @key;
  INSERT INTO es.idempotency_keys (${IDEMPOTENCY_COLUMNS})
  VALUES (@key, @requestHash, @status, @body, @headers, NULLIF(@subject, N''), @at, CONVERT(DATETIME2(3), @expiresAt, 127), @claimedBy);
END;
SELECT ${IDEMPOTENCY_COLUMNS} FROM es.idempotency_keys WHERE [key] = @key;
COMMIT TRANSACTION;`;

/**
 * Stores an answer no append carries, in one round trip: it replaces the attempt's own
 * claim (@claimedBy) or an expired record; a key held otherwise is a duplicate key (2627).
 */
export const SAVE_IDEMPOTENCY_BATCH = `SET XACT_ABORT ON;
SET NOCOUNT ON;
DECLARE @created DATETIME2(3) = CONVERT(DATETIME2(3), @createdAt, 127);
BEGIN TRANSACTION;
DELETE FROM es.idempotency_keys WHERE [key] = @key AND (expires_at <= @created OR claimed_by = NULLIF(@claimedBy, N''));
INSERT INTO es.idempotency_keys (${IDEMPOTENCY_COLUMNS})
VALUES (@key, @requestHash, @status, @body, @headers, NULLIF(@subject, N''), @created, CONVERT(DATETIME2(3), @expiresAt, 127), NULL);
COMMIT TRANSACTION;`;

/** Gives a failed attempt's claim up; an answer, or another attempt's claim, stays. */
export const RELEASE_IDEMPOTENCY_CLAIM = 'DELETE FROM es.idempotency_keys WHERE [key] = @key AND claimed_by = @claimedBy';

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

/**
 * Many streams' loads in one round trip (a feed's offers, or the pharmacies and products
 * its items name): LOAD_STREAM_BATCH for each row of @streams, tagged with its ordinal.
 * The snapshots are read once into a table variable, so the events read after them agree
 * with the snapshot answered even if a newer one is written meanwhile.
 */
export const LOAD_STREAMS_BATCH = `SET NOCOUNT ON;
DECLARE @loads TABLE (ordinal INT PRIMARY KEY, stream_id NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL, after_version INT NOT NULL,
  snapshot_version INT NULL, state NVARCHAR(MAX) NULL);
INSERT INTO @loads (ordinal, stream_id, after_version, snapshot_version, state)
SELECT r.ordinal, r.streamId, r.afterVersion, s.version, s.state
FROM OPENJSON(@streams) WITH (ordinal INT, streamId NVARCHAR(200), [schema] NVARCHAR(100), afterVersion INT) AS r
LEFT JOIN es.snapshots AS s
  ON s.stream_id = r.streamId COLLATE Latin1_General_100_BIN2 AND s.[schema] = r.[schema] COLLATE Latin1_General_100_BIN2 AND s.version > r.afterVersion;
SELECT ordinal, snapshot_version AS version, state FROM @loads WHERE snapshot_version IS NOT NULL;
SELECT l.ordinal, ${EVENT_COLUMNS.split(', ').map((column) => `e.${column}`).join(', ')}
FROM @loads AS l JOIN es.events AS e ON e.stream_id = l.stream_id AND e.version > COALESCE(l.snapshot_version, l.after_version)
ORDER BY l.ordinal, e.version;`;

/**
 * Many streams' appends in one transaction and one round trip (a partner feed's items), all
 * or nothing. Each stream is locked with the same application lock a single append takes,
 * in the order of @streams (the adapter sorts them by stream id, so two batches sharing
 * streams take them in the same order and cannot deadlock). Then each stream's version is
 * read under its lock: when one is not at its expected version nothing is written, and the
 * first result set lists those streams with their current versions. Otherwise the events,
 * outbox rows, index entries and due snapshots are written set-based, and with an answer
 * (@hasAnswer) the attempt's claim is replaced by it; the first result set is empty and the
 * second holds the stored events, tagged with their stream's ordinal. A retry (@retry = 1)
 * whose first attempt committed finds a stream's first event stored (all were, or none),
 * and answers the events stored, the claim's answer already in place. With a claim
 * (@claimKey), nothing commits unless the attempt's claim is still the key's row, kept
 * locked to the commit (a feed's attempt that outlived its lease, its key taken by a retry,
 * writes nothing). XACT_ABORT rolls everything back on any error.
 */
export const APPEND_MANY_BATCH = `SET XACT_ABORT ON;
SET NOCOUNT ON;
DECLARE @i INT = 0, @n INT, @resource NVARCHAR(255), @granted INT, @committed BIT = 0, @now DATETIME2(3) = SYSUTCDATETIME();
DECLARE @appends TABLE (ordinal INT PRIMARY KEY, stream_id NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL, resource NVARCHAR(255) NOT NULL,
  expected_version INT NOT NULL, first_event_id NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NOT NULL, event_count INT NOT NULL, current_version INT NULL,
  snapshot_schema NVARCHAR(100) COLLATE Latin1_General_100_BIN2 NOT NULL, snapshot_version INT NOT NULL, snapshot_state NVARCHAR(MAX) NOT NULL);
INSERT INTO @appends (ordinal, stream_id, resource, expected_version, first_event_id, event_count, snapshot_schema, snapshot_version, snapshot_state)
SELECT a.ordinal, a.streamId, a.resource, a.expectedVersion, a.firstEventId, a.eventCount, a.snapshotSchema, a.snapshotVersion, a.snapshotState
FROM OPENJSON(@streams) WITH (ordinal INT, streamId NVARCHAR(200), resource NVARCHAR(255), expectedVersion INT, firstEventId NVARCHAR(64),
  eventCount INT, snapshotSchema NVARCHAR(100), snapshotVersion INT, snapshotState NVARCHAR(MAX)) AS a;
SELECT @n = COUNT(*) FROM @appends;
BEGIN TRY
  BEGIN TRANSACTION;
  WHILE @i < @n
  BEGIN
    SELECT @resource = resource FROM @appends WHERE ordinal = @i;
    EXEC @granted = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 10000;
    IF @granted < 0
      THROW 50004, N'a stream is busy', 1;
    SET @i += 1;
  END;

  -- Under the locks: a first attempt that committed left every stream's first event (see APPEND_BATCH); a stream may append
  -- none, and a batch that changes nothing appends none at all: it left its answer, made at its own instant, in its claim's
  -- place. Another attempt's answer equal to it in all that (a retry in the same millisecond) would be the same answer.
  IF @retry = 1 AND (EXISTS (
    SELECT 1 FROM @appends AS a JOIN es.events AS e ON e.event_id = a.first_event_id AND e.stream_id = a.stream_id)
    OR (@hasAnswer = 1 AND EXISTS (
      SELECT 1 FROM es.idempotency_keys WHERE [key] = @claimKey AND claimed_by IS NULL AND request_hash = @requestHash
        AND created_at = CONVERT(DATETIME2(3), @createdAt, 127) AND body = @body)))
    SET @committed = 1;
  IF @committed = 0
  BEGIN
    IF @claimKey <> N'' AND NOT EXISTS (
      SELECT 1 FROM es.idempotency_keys WITH (UPDLOCK, HOLDLOCK) WHERE [key] = @claimKey AND claimed_by = @claimedBy)
      THROW 50003, N'another attempt took the idempotency key', 1;
    UPDATE a SET current_version = COALESCE((SELECT MAX(e.version) FROM es.events AS e WHERE e.stream_id = a.stream_id), 0)
    FROM @appends AS a;
  END;

  IF @committed = 0 AND NOT EXISTS (SELECT 1 FROM @appends WHERE current_version <> expected_version)
  BEGIN
    -- Identities follow the ORDER BY of the INSERT ... SELECT, as SQL Server guarantees.
    INSERT INTO es.events (event_id, stream_id, version, type, data, metadata, occurred_at)
    SELECT e.eventId, a.stream_id, e.version, e.type, e.data, e.metadata, @now
    FROM OPENJSON(@events) WITH (stream INT, ordinal INT, eventId NVARCHAR(64), version INT, type NVARCHAR(100), data NVARCHAR(MAX), metadata NVARCHAR(4000)) AS e
    JOIN @appends AS a ON a.ordinal = e.stream
    ORDER BY e.stream, e.ordinal;
    INSERT INTO es.outbox (event_id, position, enqueued_at)
    SELECT e.event_id, e.position, @now
    FROM @appends AS a JOIN es.events AS e ON e.stream_id = a.stream_id AND e.version > a.expected_version;

    INSERT INTO es.stream_index (name, [key], stream_id)
    SELECT DISTINCT x.name, x.[key], a.stream_id
    FROM OPENJSON(@indexes) WITH (stream INT, name NVARCHAR(100), [key] NVARCHAR(200)) AS x
    JOIN @appends AS a ON a.ordinal = x.stream
    WHERE NOT EXISTS (
      SELECT 1 FROM es.stream_index AS s
      WHERE s.name = x.name COLLATE Latin1_General_100_BIN2 AND s.[key] = x.[key] COLLATE Latin1_General_100_BIN2 AND s.stream_id = a.stream_id);

    UPDATE s SET version = a.snapshot_version, state = a.snapshot_state, taken_at = @now
    FROM es.snapshots AS s WITH (UPDLOCK, SERIALIZABLE)
    JOIN @appends AS a ON s.stream_id = a.stream_id AND s.[schema] = a.snapshot_schema
    WHERE a.snapshot_schema <> N'' AND s.version < a.snapshot_version;
    INSERT INTO es.snapshots (stream_id, [schema], version, state, taken_at)
    SELECT a.stream_id, a.snapshot_schema, a.snapshot_version, a.snapshot_state, @now
    FROM @appends AS a
    WHERE a.snapshot_schema <> N'' AND NOT EXISTS (
      SELECT 1 FROM es.snapshots AS s WITH (UPDLOCK, SERIALIZABLE) WHERE s.stream_id = a.stream_id AND s.[schema] = a.snapshot_schema);

    IF @hasAnswer = 1
    BEGIN
      DELETE FROM es.idempotency_keys WHERE [key] = @claimKey AND claimed_by = @claimedBy;
      INSERT INTO es.idempotency_keys (${IDEMPOTENCY_COLUMNS})
      VALUES (@claimKey, @requestHash, @status, @body, @headers, NULLIF(@subject, N''),
        CONVERT(DATETIME2(3), @createdAt, 127), CONVERT(DATETIME2(3), @expiresAt, 127), NULL);
    END;
    SET @committed = 1;
  END;

  SELECT ordinal, current_version AS [current] FROM @appends WHERE @committed = 0 AND current_version <> expected_version ORDER BY ordinal;
  SELECT a.ordinal, ${EVENT_COLUMNS.split(', ').map((column) => `e.${column}`).join(', ')}
  FROM @appends AS a JOIN es.events AS e ON e.stream_id = a.stream_id AND e.version > a.expected_version AND e.version <= a.expected_version + a.event_count
  WHERE @committed = 1
  ORDER BY a.ordinal, e.version;
  COMMIT TRANSACTION;
END TRY
BEGIN CATCH
  IF XACT_STATE() <> 0
    ROLLBACK TRANSACTION;
  IF ERROR_NUMBER() IN (2601, 2627)
    THROW 50001, N'a duplicate event', 1;
  THROW;
END CATCH;`;

/** The lock order of APPEND_MANY_BATCH: the positions in `appends`, sorted by stream id; ordinal k is `appends[order[k]]`. */
function lockOrder(appends: StreamAppend[]): number[] {
  const key = (index: number) => appends[index].streamId;
  return appends.map((_, index) => index).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The parameters of APPEND_MANY_BATCH, the streams numbered in lock order. */
function appendManyParameters(appends: StreamAppend[], order: number[], retrying: boolean, { claim, answer }: AppendManyOptions) {
  const sorted = order.map((index) => appends[index]);
  return {
    retry: retrying ? 1 : 0,
    claimKey: claim?.key ?? '',
    claimedBy: claim?.owner ?? '',
    hasAnswer: answer ? 1 : 0,
    ...recordParameters(answer),
    streams: JSON.stringify(
      sorted.map(({ streamId, expectedVersion, events, options = {} }, ordinal) => ({
        ordinal,
        streamId,
        resource: `stream:${streamId}`.slice(0, 255),
        expectedVersion,
        firstEventId: events[0]?.eventId ?? '',
        eventCount: events.length,
        snapshotSchema: options.snapshot?.schema ?? '',
        snapshotVersion: options.snapshot?.snapshot.version ?? 0,
        snapshotState: options.snapshot ? JSON.stringify(options.snapshot.snapshot.state) : '',
      })),
    ),
    events: JSON.stringify(sorted.flatMap(({ expectedVersion, events }, stream) => eventRows(expectedVersion, events).map((row) => ({ stream, ...row })))),
    indexes: JSON.stringify(sorted.flatMap(({ options = {} }, stream) => (options.indexes ?? []).map(({ name, key }) => ({ stream, name, key })))),
  };
}

/** An idempotency record's columns as parameters: empty strings and 0 without one, never NULL (untyped). */
function recordParameters(record: IdempotentResponse | undefined) {
  return {
    requestHash: record?.requestHash ?? '',
    status: record?.status ?? 0,
    body: record ? JSON.stringify(record.body) : '',
    headers: record ? JSON.stringify(record.headers) : '',
    subject: record?.subject ?? '',
    createdAt: record?.createdAt.toISOString() ?? '',
    expiresAt: record?.expiresAt.toISOString() ?? '',
  };
}

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
    claimedBy: idempotency?.owner ?? '',
    ...recordParameters(idempotency),
    reservations: JSON.stringify((options.reservations ?? []).map(({ scope, value }, ordinal) => ({ ordinal, scope, value }))),
    releases: JSON.stringify((options.releases ?? []).map(({ scope, value }) => ({ scope, value }))),
    indexes: JSON.stringify((options.indexes ?? []).map(({ name, key }) => ({ name, key }))),
    erased: JSON.stringify(options.erasedSubjects ?? []),
    events: JSON.stringify(eventRows(expectedVersion, events)),
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

  async loadStreams(requests: StreamLoadRequest[]): Promise<StreamLoad[]> {
    if (requests.length === 0) return [];
    const streams = JSON.stringify(requests.map(({ streamId, schema, afterVersion }, ordinal) => ({ ordinal, streamId, schema, afterVersion })));
    const [snapshots = [], events = []] = await this.retry.execute(() => queryRecordsets(this.pool, LOAD_STREAMS_BATCH, { streams }));
    const loads: StreamLoad[] = requests.map(() => ({ events: [] }));
    for (const row of snapshots as { ordinal: number; version: number; state: string }[]) {
      loads[row.ordinal].snapshot = { version: row.version, state: JSON.parse(row.state) };
    }
    for (const row of events as (EventRow & { ordinal: number })[]) loads[row.ordinal].events.push(toStoredEvent(row));
    return loads;
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

  async appendMany(appends: StreamAppend[], options: AppendManyOptions = {}): Promise<AppendManyResult> {
    assertDistinctStreams(appends);
    assertAnswerOfClaim(options);
    // With an answer and nothing to append, the batch still runs: it stores the answer under the claim's check, as SQLite does.
    if (appends.length === 0 && !options.answer) return { stored: [] };
    try {
      const order = lockOrder(appends);
      const [conflicts = [], events = []] = await this.retry.execute(({ attempt }) =>
        queryRecordsets(this.pool, APPEND_MANY_BATCH, appendManyParameters(appends, order, attempt > 0, options)),
      );
      if (conflicts.length > 0) {
        const listed = (conflicts as { ordinal: number; current: number }[]).map(({ ordinal, current }) => ({ index: order[ordinal], current }));
        return { conflicts: listed.sort((a, b) => a.index - b.index) };
      }
      const stored: StoredEvent[][] = appends.map(() => []);
      for (const row of events as (EventRow & { ordinal: number })[]) stored[order[row.ordinal]].push(toStoredEvent(row));
      return { stored };
    } catch (error) {
      throw appendError(error, {});
    }
  }

  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyClaimOutcome> {
    const [row] = await this.query<IdempotencyRow>(CLAIM_IDEMPOTENCY_BATCH, {
      key: claim.key,
      requestHash: claim.requestHash,
      subject: claim.subject ?? '',
      createdAt: claim.createdAt.toISOString(),
      expiresAt: claim.expiresAt.toISOString(),
      claimedBy: claim.owner,
      status: claim.standIn.status,
      body: JSON.stringify(claim.standIn.body),
      headers: JSON.stringify(claim.standIn.headers),
    });
    if (!row) throw new Error('the idempotency claim answered no row');
    if (row.claimed_by === null) return { answered: idempotentResponseOf(row) };
    if (row.claimed_by === claim.owner) return { claimed: true };
    return { inProgress: { requestHash: row.request_hash, expiresAt: row.expires_at } };
  }

  async releaseIdempotencyClaim(key: string, owner: string): Promise<void> {
    await this.query(RELEASE_IDEMPOTENCY_CLAIM, { key, claimedBy: owner });
  }

  async findIdempotentResponse(key: string, now: Date): Promise<IdempotentResponse | undefined> {
    // Expired: as if never stored, even before the purge deletes it. A claim is no answer.
    const [row] = await this.query<IdempotencyRow>(
      `SELECT ${IDEMPOTENCY_COLUMNS} FROM es.idempotency_keys
       WHERE [key] = @key AND expires_at > CONVERT(DATETIME2(3), @now, 127) AND claimed_by IS NULL`,
      { key, now: now.toISOString() },
    );
    return row && idempotentResponseOf(row);
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

  /** One round trip, its transaction on the server. */
  async saveIdempotentResponse(response: IdempotentResponse): Promise<void> {
    try {
      await this.query(SAVE_IDEMPOTENCY_BATCH, { key: response.key, ...recordParameters(response), claimedBy: response.owner ?? '' });
    } catch (error) {
      if (violatedConstraint(error)) throw new IdempotencyKeyReused('this Idempotency-Key was used meanwhile');
      throw error;
    }
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
