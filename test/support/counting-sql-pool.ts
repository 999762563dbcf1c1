import type { ConnectionPool } from 'mssql';
import {
  APPEND_BATCH,
  APPEND_MANY_BATCH,
  APPEND_SIGNALS,
  CLAIM_IDEMPOTENCY_BATCH,
  LOAD_STREAM_BATCH,
  LOAD_STREAMS_BATCH,
  RELEASE_IDEMPOTENCY_CLAIM,
  SAVE_IDEMPOTENCY_BATCH,
  type EventRow as AzureEventRow,
  type IdempotencyRow,
} from '../../shared/adapters/azure-sql/event-store';
import type { StoredEvent } from '../../shared/kernel/ports';

type Parameters = Record<string, string | number>;

/** The pool hands rows over with positions as numbers. */
type EventRow = Omit<AzureEventRow, 'position'> & { position: number };

/** The idempotency record a batch's parameters describe, as the table would hold it. */
function idempotencyRow(key: string, p: Parameters): IdempotencyRow {
  return {
    key,
    request_hash: String(p.requestHash),
    status: Number(p.status),
    body: String(p.body),
    headers: String(p.headers),
    subject: p.subject === '' ? null : String(p.subject),
    created_at: new Date(String(p.createdAt)),
    expires_at: new Date(String(p.expiresAt)),
    claimed_by: null,
  };
}

/** The key is free for a new record at `at`: nothing holds it, or what does expired, or it is the claim of `owner`. */
function keyFree(held: IdempotencyRow | undefined, at: Date, owner: unknown) {
  return !held || held.expires_at <= at || (held.claimed_by !== null && held.claimed_by === owner);
}

const duplicateKey = () => Object.assign(new Error("Violation of PRIMARY KEY constraint 'pk_idempotency_keys'"), { name: 'RequestError', number: 2627 });

/** The adapter's readStream statement (with TOP when a slice has a limit). */
const READ_STREAM = /^SELECT +(TOP \(@limit\) +)?[\w, ]+ FROM es\.events WHERE stream_id = @streamId AND version > @after ORDER BY version$/;

/** What a round trip was, by the statement the adapter sent. */
export type Trip = 'append' | 'append many' | 'load' | 'load many' | 'read stream' | 'idempotency lookup' | 'claim idempotency' | 'release idempotency' | 'save idempotency' | 'mark published' | 'BEGIN' | 'COMMIT' | 'ROLLBACK';

/** SQL Server's answer to a statement: the first result set and all of them, as mssql gives them. */
const answer = (...recordsets: unknown[][]) => ({ recordset: recordsets[0] ?? [], recordsets, rowsAffected: [] as number[] });

/**
 * A stand-in for an mssql ConnectionPool that counts every round trip to the server (each
 * `query` or `batch`, and a transaction's `begin`, `commit` and `rollback`) and answers the
 * Azure SQL adapter's statements from memory, as the server would: the version check, the
 * idempotency record, reservations and the outbox of APPEND_BATCH, the per-stream version
 * checks (all or nothing), outbox, snapshots and answer of APPEND_MANY_BATCH, the snapshot and tail of
 * LOAD_STREAM_BATCH and LOAD_STREAMS_BATCH, a stream's read, an idempotency key's claim, release
 * and standalone record. A statement it does not know fails the test: a new round trip on the
 * command path is noticed, not answered.
 */
export class CountingSqlPool {
  readonly trips: Trip[] = [];
  /** The version each load read after: 0 for a cold one, the kept state's version for a warm one. */
  readonly loadedAfter: number[] = [];
  private readonly events: EventRow[] = [];
  private readonly outbox = new Set<string>();
  private readonly idempotency = new Map<string, IdempotencyRow>();
  private readonly reservations = new Map<string, string>();
  private readonly snapshots = new Map<string, { version: number; state: string }>();
  /** Runs before the next append is answered; throwing from it fails that round trip. */
  beforeNextAppend?: (parameters: Parameters) => void;
  /** Runs before the next appendMany is answered (the streams' JSON as the adapter sent it): a concurrent writer's moment. */
  beforeNextAppendMany?: (streams: { streamId: string; expectedVersion: number }[]) => void;
  /** Runs after the next append is stored, before its answer: throwing from it loses the answer of a committed append. */
  afterNextAppend?: () => void;
  /** Runs after the next appendMany is committed, before its answer: throwing from it loses the answer of a committed batch. */
  afterNextAppendMany?: () => void;

  get pool(): ConnectionPool {
    return this as unknown as ConnectionPool;
  }

  /** Copies events stored elsewhere (the embedded store), as if committed here earlier. */
  seed(events: StoredEvent[]) {
    for (const event of events) {
      this.events.push({
        position: this.events.length + 1,
        event_id: event.eventId,
        stream_id: event.streamId,
        version: event.version,
        type: event.type,
        data: JSON.stringify(event.data),
        metadata: JSON.stringify(event.metadata),
        occurred_at: new Date(event.occurredAt),
      });
    }
  }

  request() {
    return new CountingRequest(this);
  }

  transaction() {
    return {
      begin: async () => void this.trips.push('BEGIN'),
      commit: async () => void this.trips.push('COMMIT'),
      rollback: async () => void this.trips.push('ROLLBACK'),
      request: () => new CountingRequest(this),
    };
  }

  async close() {}

  /** The trips made since the last call. */
  take(): Trip[] {
    return this.trips.splice(0);
  }

  run(sql: string, parameters: Parameters) {
    if (sql === APPEND_BATCH) return this.append(parameters);
    if (sql === LOAD_STREAM_BATCH) return this.load(parameters);
    if (sql === APPEND_MANY_BATCH) return this.appendMany(parameters);
    if (sql === LOAD_STREAMS_BATCH) return this.loadMany(parameters);
    if (sql === CLAIM_IDEMPOTENCY_BATCH) return this.claimIdempotency(parameters);
    if (sql === SAVE_IDEMPOTENCY_BATCH) return this.saveIdempotency(parameters);
    if (sql === RELEASE_IDEMPOTENCY_CLAIM) return this.releaseIdempotency(parameters);
    if (/^SELECT \[key\], request_hash/.test(sql)) return this.findIdempotency(parameters);
    if (READ_STREAM.test(sql)) return this.readStream(parameters);
    if (/^DELETE FROM es\.outbox/.test(sql)) {
      this.trips.push('mark published');
      for (const id of JSON.parse(String(parameters.ids)) as string[]) this.outbox.delete(id);
      return answer([]);
    }
    throw new Error(`a statement the counting pool does not know: ${sql.slice(0, 80)}`);
  }

  private streamRows(streamId: unknown, after: number) {
    return this.events.filter((row) => row.stream_id === streamId && row.version > after).sort((a, b) => a.version - b.version);
  }

  /** EventStore.readStream: a stream's events after a version, the first `limit` of them when given. */
  private readStream(p: Parameters) {
    this.trips.push('read stream');
    return answer(this.streamRows(p.streamId, Number(p.after)).slice(0, p.limit === undefined ? undefined : Number(p.limit)));
  }

  private load(p: Parameters) {
    this.trips.push('load');
    this.loadedAfter.push(Number(p.afterVersion));
    const snapshot = this.snapshots.get(`${p.streamId}\u0000${p.schema}`);
    const newer = snapshot && snapshot.version > Number(p.afterVersion) ? snapshot : undefined;
    return answer(newer ? [newer] : [], this.streamRows(p.streamId, newer?.version ?? Number(p.afterVersion)));
  }

  private loadMany(p: Parameters) {
    this.trips.push('load many');
    const requests = JSON.parse(String(p.streams)) as { ordinal: number; streamId: string; schema: string; afterVersion: number }[];
    const snapshots: { ordinal: number; version: number; state: string }[] = [];
    const events: (EventRow & { ordinal: number })[] = [];
    for (const { ordinal, streamId, schema, afterVersion } of requests) {
      this.loadedAfter.push(afterVersion);
      const snapshot = this.snapshots.get(`${streamId}\u0000${schema}`);
      const newer = snapshot && snapshot.version > afterVersion ? snapshot : undefined;
      if (newer) snapshots.push({ ordinal, ...newer });
      events.push(...this.streamRows(streamId, newer?.version ?? afterVersion).map((row) => ({ ordinal, ...row })));
    }
    return answer(snapshots, events);
  }

  private appendMany(p: Parameters) {
    this.trips.push('append many');
    type Append = { ordinal: number; streamId: string; expectedVersion: number; firstEventId: string; eventCount: number; snapshotSchema: string; snapshotVersion: number; snapshotState: string };
    const streams = JSON.parse(String(p.streams)) as Append[];
    const hook = this.beforeNextAppendMany;
    this.beforeNextAppendMany = undefined;
    hook?.(streams);
    const storedOf = (append: Append) => this.streamRows(append.streamId, append.expectedVersion).slice(0, append.eventCount).map((row) => ({ ordinal: append.ordinal, ...row }));
    // A retry whose first attempt committed: all of it was (all or nothing), its answer with it.
    const answerStored = () => {
      const held = this.idempotency.get(String(p.claimKey));
      return (
        p.hasAnswer === 1 &&
        held?.claimed_by === null &&
        held.request_hash === p.requestHash &&
        held.created_at.getTime() === new Date(String(p.createdAt)).getTime() &&
        held.body === p.body
      );
    };
    if (p.retry === 1 && (streams.some((append) => this.events.some((row) => row.event_id === append.firstEventId && row.stream_id === append.streamId)) || answerStored())) {
      return answer([], streams.flatMap(storedOf));
    }
    if (p.claimKey !== '' && this.idempotency.get(String(p.claimKey))?.claimed_by !== p.claimedBy) {
      throw signal(APPEND_SIGNALS.idempotencyKeyReused, 'another attempt took the idempotency key');
    }
    const conflicts = streams.flatMap((append) => {
      const current = Math.max(0, ...this.streamRows(append.streamId, 0).map((row) => row.version));
      return current === append.expectedVersion ? [] : [{ ordinal: append.ordinal, current }];
    });
    if (conflicts.length > 0) return answer(conflicts, []);
    const events = JSON.parse(String(p.events)) as { stream: number; eventId: string; version: number; type: string; data: string; metadata: string }[];
    const now = new Date();
    for (const append of streams) {
      for (const event of events.filter((candidate) => candidate.stream === append.ordinal)) {
        this.events.push({ position: this.events.length + 1, event_id: event.eventId, stream_id: append.streamId, version: event.version, type: event.type, data: event.data, metadata: event.metadata, occurred_at: now });
        this.outbox.add(event.eventId);
      }
      if (append.snapshotSchema !== '') this.snapshots.set(`${append.streamId}\u0000${append.snapshotSchema}`, { version: append.snapshotVersion, state: append.snapshotState });
    }
    if (p.hasAnswer === 1) this.idempotency.set(String(p.claimKey), idempotencyRow(String(p.claimKey), p));
    const after = this.afterNextAppendMany;
    this.afterNextAppendMany = undefined;
    after?.();
    return answer([], streams.flatMap(storedOf));
  }

  private claimIdempotency(p: Parameters) {
    this.trips.push('claim idempotency');
    const key = String(p.key);
    const held = this.idempotency.get(key);
    if (!held || held.expires_at <= new Date(String(p.createdAt))) {
      this.idempotency.set(key, { ...idempotencyRow(key, p), claimed_by: String(p.claimedBy) });
    }
    return answer([this.idempotency.get(key)]);
  }

  private saveIdempotency(p: Parameters) {
    this.trips.push('save idempotency');
    if (!keyFree(this.idempotency.get(String(p.key)), new Date(String(p.createdAt)), p.claimedBy)) throw duplicateKey();
    this.idempotency.set(String(p.key), idempotencyRow(String(p.key), p));
    return answer([]);
  }

  private releaseIdempotency(p: Parameters) {
    this.trips.push('release idempotency');
    if (this.idempotency.get(String(p.key))?.claimed_by === p.claimedBy) this.idempotency.delete(String(p.key));
    return answer([]);
  }

  private findIdempotency(p: Parameters) {
    this.trips.push('idempotency lookup');
    const row = this.idempotency.get(String(p.key));
    return answer(row && row.expires_at > new Date(String(p.now)) && row.claimed_by === null ? [row] : []);
  }

  private append(p: Parameters) {
    this.trips.push('append');
    const hook = this.beforeNextAppend;
    this.beforeNextAppend = undefined;
    hook?.(p);
    if (p.retry === 1) {
      const first = this.events.find((row) => row.event_id === p.firstEventId && row.stream_id === p.streamId);
      if (first) return answer(this.streamRows(p.streamId, first.version - 1).slice(0, Number(p.count)));
    }
    const current = Math.max(0, ...this.streamRows(p.streamId, 0).map((row) => row.version));
    if (current !== p.expectedVersion) throw signal(APPEND_SIGNALS.conflict, `version ${current}`);
    if (p.hasIdempotency === 1) {
      if (!keyFree(this.idempotency.get(String(p.idempotencyKey)), new Date(String(p.createdAt)), p.claimedBy)) throw signal(APPEND_SIGNALS.idempotencyKeyReused, 'the idempotency key was stored meanwhile');
    }
    const reservations = JSON.parse(String(p.reservations)) as { ordinal: number; scope: string; value: string }[];
    for (const { ordinal, scope, value } of reservations) {
      const holder = this.reservations.get(`${scope}\u0000${value}`);
      if (holder !== undefined && holder !== p.streamId) throw signal(APPEND_SIGNALS.reservationTaken, String(ordinal));
    }
    // Every check passed: the transaction's writes.
    if (p.hasIdempotency === 1) {
      this.idempotency.set(String(p.idempotencyKey), idempotencyRow(String(p.idempotencyKey), p));
    }
    for (const { scope, value } of reservations) this.reservations.set(`${scope}\u0000${value}`, String(p.streamId));
    const now = new Date();
    for (const event of JSON.parse(String(p.events)) as { eventId: string; version: number; type: string; data: string; metadata: string }[]) {
      this.events.push({ position: this.events.length + 1, event_id: event.eventId, stream_id: String(p.streamId), version: event.version, type: event.type, data: event.data, metadata: event.metadata, occurred_at: now });
      this.outbox.add(event.eventId);
    }
    if (p.snapshotSchema !== '') this.snapshots.set(`${p.streamId}\u0000${p.snapshotSchema}`, { version: Number(p.snapshotVersion), state: String(p.snapshotState) });
    const after = this.afterNextAppend;
    this.afterNextAppend = undefined;
    after?.();
    return answer(this.streamRows(p.streamId, Number(p.expectedVersion)));
  }

  /** Event ids still in the outbox. */
  pending(): string[] {
    return [...this.outbox];
  }
}

/** An error as mssql reports a THROW: its number and message. */
function signal(number: number, message: string) {
  return Object.assign(new Error(message), { name: 'RequestError', code: 'EREQUEST', number });
}

class CountingRequest {
  private readonly parameters: Parameters = {};

  constructor(private readonly pool: CountingSqlPool) {}

  input(name: string, value: string | number) {
    this.parameters[name] = value;
    return this;
  }

  async query(sql: string) {
    return this.pool.run(sql, this.parameters);
  }

  async batch(sql: string) {
    return this.pool.run(sql, this.parameters);
  }
}
