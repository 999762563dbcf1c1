import type { ConnectionPool, Transaction } from 'mssql';
import { ConcurrencyConflict, IdempotencyKeyReused, ReservationTaken } from '../../kernel/errors';
import type {
  AppendOptions,
  EventStore,
  IdempotentResponse,
  NewEvent,
  Snapshot,
  StoredEvent,
  StreamSlice,
} from '../../kernel/ports';
import { queryRows, transientRetry, violatedConstraint } from './connection';

interface EventRow {
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

/**
 * The production event store on Azure SQL. An append is one transaction: an application
 * lock on the stream serialises writers of that stream (and only of that stream), then
 * the expected-version check, the idempotency record, reservations, index entries, the
 * events and their outbox rows. Transient faults run the whole transaction again; a
 * retry that finds its own events committed (the first attempt's commit answer was lost)
 * returns them instead of reporting a conflict.
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

  async readAll(afterPosition: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.query<EventRow>(
      `SELECT TOP (@limit) ${EVENT_COLUMNS} FROM es.events WHERE position > @after ORDER BY position`,
      { after: afterPosition, limit },
    );
    return rows.map(toStoredEvent);
  }

  async append(streamId: string, expectedVersion: number, events: NewEvent[], options: AppendOptions = {}): Promise<StoredEvent[]> {
    return this.retry.execute(({ attempt }) =>
      this.inTransaction(async (transaction) => {
        if (attempt > 0 && events.length > 0) {
          const committed = await this.committedEarlier(transaction, streamId, events);
          if (committed) return committed;
        }
        await this.lockStream(transaction, streamId, expectedVersion);
        // The key first: a racing retry must be answered as a retry, not as a taken CNPJ.
        if (options.idempotency) await this.insertIdempotency(transaction, options.idempotency);
        await this.reserve(transaction, streamId, options);
        await this.index(transaction, streamId, options);
        for (const subject of options.erasedSubjects ?? []) {
          await this.query('DELETE FROM es.idempotency_keys WHERE subject = @subject', { subject }, transaction);
        }
        return this.insertEvents(transaction, streamId, expectedVersion, events);
      }),
    );
  }

  private async committedEarlier(transaction: Transaction, streamId: string, events: NewEvent[]) {
    const first = await this.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM es.events WHERE event_id = @eventId`, { eventId: events[0].eventId }, transaction);
    if (first.length === 0 || first[0].stream_id !== streamId) return undefined;
    const rows = await this.query<EventRow>(
      `SELECT TOP (@count) ${EVENT_COLUMNS} FROM es.events WHERE stream_id = @streamId AND version >= @from ORDER BY version`,
      { streamId, from: first[0].version, count: events.length },
      transaction,
    );
    return rows.map(toStoredEvent);
  }

  private async lockStream(transaction: Transaction, streamId: string, expectedVersion: number) {
    const [row] = await this.query<{ granted: number; current: number }>(
      `DECLARE @granted INT;
       EXEC @granted = sp_getapplock @Resource = @resource, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 10000;
       SELECT @granted AS granted, COALESCE((SELECT MAX(version) FROM es.events WHERE stream_id = @streamId), 0) AS [current];`,
      { resource: `stream:${streamId}`.slice(0, 255), streamId },
      transaction,
    );
    if (row.granted < 0) throw new ConcurrencyConflict('the resource is busy; retry');
    if (row.current !== expectedVersion) {
      throw new ConcurrencyConflict(`the resource changed meanwhile (version ${row.current}); reload and retry`);
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

  private async reserve(transaction: Transaction, streamId: string, options: AppendOptions) {
    for (const { scope, value } of options.reservations ?? []) {
      try {
        const [holder] = await this.query<{ stream_id: string }>(
          `SELECT stream_id FROM es.reservations WITH (UPDLOCK, HOLDLOCK) WHERE scope = @scope AND value = @value;`,
          { scope, value },
          transaction,
        );
        if (holder?.stream_id === streamId) continue;
        if (holder) throw new ReservationTaken(scope, `this ${scope} is already registered`);
        await this.query(
          'INSERT INTO es.reservations (scope, value, stream_id, reserved_at) VALUES (@scope, @value, @streamId, SYSUTCDATETIME())',
          { scope, value, streamId },
          transaction,
        );
      } catch (error) {
        if (violatedConstraint(error)) throw new ReservationTaken(scope, `this ${scope} is already registered`);
        throw error;
      }
    }
    for (const { scope, value } of options.releases ?? []) {
      await this.query('DELETE FROM es.reservations WHERE scope = @scope AND value = @value AND stream_id = @streamId', { scope, value, streamId }, transaction);
    }
  }

  private async index(transaction: Transaction, streamId: string, options: AppendOptions) {
    for (const { name, key } of options.indexes ?? []) {
      await this.query(
        `IF NOT EXISTS (SELECT 1 FROM es.stream_index WHERE name = @name AND [key] = @key AND stream_id = @streamId)
           INSERT INTO es.stream_index (name, [key], stream_id) VALUES (@name, @key, @streamId)`,
        { name, key, streamId },
        transaction,
      );
    }
  }

  /** One statement for the events (identity in ORDER BY order, as SQL Server guarantees) and one for their outbox rows. */
  private async insertEvents(transaction: Transaction, streamId: string, expectedVersion: number, events: NewEvent[]) {
    if (events.length === 0) return [];
    const payload = JSON.stringify(
      events.map((event, index) => ({
        ordinal: index,
        eventId: event.eventId,
        version: expectedVersion + index + 1,
        type: event.type,
        data: JSON.stringify(event.data),
        metadata: JSON.stringify(event.metadata),
      })),
    );
    try {
      const rows = await this.query<EventRow>(
        `DECLARE @now DATETIME2(3) = SYSUTCDATETIME();
         INSERT INTO es.events (event_id, stream_id, version, type, data, metadata, occurred_at)
         SELECT e.eventId, @streamId, e.version, e.type, e.data, e.metadata, @now
         FROM OPENJSON(@events) WITH (ordinal INT, eventId NVARCHAR(64), version INT, type NVARCHAR(100), data NVARCHAR(MAX), metadata NVARCHAR(4000)) AS e
         ORDER BY e.ordinal;
         INSERT INTO es.outbox (event_id, position, enqueued_at)
         SELECT event_id, position, @now FROM es.events WHERE stream_id = @streamId AND version > @expectedVersion;
         SELECT ${EVENT_COLUMNS} FROM es.events WHERE stream_id = @streamId AND version > @expectedVersion ORDER BY version;`,
        { streamId, expectedVersion, events: payload },
        transaction,
      );
      return rows.map(toStoredEvent);
    } catch (error) {
      if (violatedConstraint(error)) throw new ConcurrencyConflict('the resource changed meanwhile; reload and retry');
      throw error;
    }
  }

  async findIdempotentResponse(key: string, now: Date): Promise<IdempotentResponse | undefined> {
    // Expired: as if never stored, even before the purge deletes it.
    const [row] = await this.query<{
      key: string;
      request_hash: string;
      status: number;
      body: string;
      headers: string;
      subject: string | null;
      created_at: Date;
      expires_at: Date;
    }>(
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
