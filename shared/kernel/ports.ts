/**
 * The ports every bounded context depends on. Adapters (SQLite, Azure SQL, Service Bus,
 * Cosmos DB, Redis...) implement them; the composition module picks one per port.
 */

/** What travels with every event: who caused it and how to correlate it. */
export interface EventMetadata {
  correlationId: string;
  causationId?: string;
  traceparent?: string;
  actor?: string;
}

export interface NewEvent {
  eventId: string;
  type: string;
  data: object;
  metadata: EventMetadata;
}

export interface StoredEvent extends NewEvent {
  /** Global order in the store; assigned at commit. */
  position: number;
  streamId: string;
  /** 1-based version of the stream this event made. */
  version: number;
  occurredAt: string;
}

/** A value that must be unique within its scope (a CNPJ, a GTIN, an e-mail's blind index). */
export interface Reservation {
  scope: string;
  value: string;
}

/** The first answer to an idempotent request, replayed to retries with the same key. */
export interface IdempotentResponse {
  key: string;
  requestHash: string;
  status: number;
  body: unknown;
  headers: Record<string, string>;
  /** The person whose request it answered (see kernel/idempotency.ts): their erasure deletes it. */
  subject?: string;
  createdAt: Date;
  /** From then on the record is never replayed (the key counts as new) and may be purged. */
  expiresAt: Date;
  /** When stored: the attempt whose claim (IdempotencyClaim.owner) this answer replaces. Never read back. */
  owner?: string;
}

/**
 * An "in progress" record: the key taken by the attempt running its request, before it runs,
 * so that a retry arriving meanwhile is told to wait instead of running alongside. The
 * attempt's answer replaces it, a failed attempt deletes it, and a crashed one's lapses.
 */
export interface IdempotencyClaim {
  key: string;
  requestHash: string;
  /** The attempt holding the claim (a random id): only its answer or its release ends the claim. */
  owner: string;
  /** The caller, when known: their erasure deletes the claim as it deletes their records. */
  subject?: string;
  createdAt: Date;
  /** The lease: from then on the claim holds nothing (the attempt died) and the key may be claimed again. */
  expiresAt: Date;
  /**
   * Stored as the row's answer (status, body, headers), which only code that predates claims
   * reads (a rolling deploy, a rollback): it replays this instead of a status 0.
   */
  standIn: { status: number; body: unknown; headers: Readonly<Record<string, string>> };
}

/** What claiming a key found: the key free (now claimed), the first attempt's answer, or that attempt still running. */
export type IdempotencyClaimOutcome =
  | { claimed: true }
  | { answered: IdempotentResponse }
  | { inProgress: { requestHash: string; expiresAt: Date } };

/** A secondary index entry of the write side: the stream is listed under (name, key). */
export interface IndexEntry {
  name: string;
  key: string;
}

export interface AppendOptions {
  reservations?: Reservation[];
  /** Reservations this stream gives up (an erased account's e-mail index), in the same transaction. */
  releases?: Reservation[];
  indexes?: IndexEntry[];
  idempotency?: IdempotentResponse;
  /** Subjects being erased: their idempotency records are deleted in the same transaction. */
  erasedSubjects?: string[];
  /**
   * The stream's state after these events, stored in the same transaction (kept unless a
   * newer one of the schema is stored): a snapshot costs the command no write of its own.
   */
  snapshot?: { schema: string; snapshot: Snapshot };
}

/** A part of a stream: the events after a version, at most `limit` of them. */
export interface StreamSlice {
  afterVersion?: number;
  limit?: number;
}

/** An aggregate's state at a version, so loading reads only the events after it. */
export interface Snapshot {
  version: number;
  state: unknown;
}

/** What loading an aggregate needs, in one read: a snapshot newer than what the caller holds, and the events after. */
export interface StreamLoad {
  /** The snapshot of the schema, only when newer than `afterVersion`. */
  snapshot?: Snapshot;
  /** The events after the snapshot's version, or after `afterVersion` when no newer snapshot was found. */
  events: StoredEvent[];
}

/** One stream's load in a `loadStreams`: as the arguments of `loadStream`. */
export interface StreamLoadRequest {
  streamId: string;
  schema: string;
  afterVersion: number;
}

/**
 * One stream's part of an `appendMany`. Only what a feed's items write: index entries and
 * a due snapshot (reservations, idempotency records and erasures stay single appends,
 * where a refusal is that command's answer).
 */
export interface StreamAppend {
  streamId: string;
  expectedVersion: number;
  events: NewEvent[];
  options?: Pick<AppendOptions, 'indexes' | 'snapshot'>;
}

/**
 * What an `appendMany` commits under: the Idempotency-Key claim of the attempt it is part of
 * (a keyed feed's), and that attempt's answer, stored in the same transaction in place of the
 * claim. The batch and its answer then commit together: a crash after the commit leaves the
 * answer for a retry to replay, never a claim whose lapse would let the items run twice.
 */
export interface AppendManyOptions {
  claim?: { key: string; owner: string };
  /** Only with `claim`: its key, and `owner` the claim's owner. */
  answer?: IdempotentResponse;
}

/** A stream of an `appendMany` that was not at its expected version: its position in the appends, and the version it was at. */
export interface StreamConflict {
  index: number;
  current: number;
}

/**
 * What `appendMany` did, all or nothing: every stream's events stored (in the order of the
 * appends), or nothing written because the streams listed were at another version.
 */
export type AppendManyResult = { stored: StoredEvent[][] } | { conflicts: StreamConflict[] };

/** An answer given to `appendMany` must replace the claim it commits under. */
export function assertAnswerOfClaim({ claim, answer }: AppendManyOptions) {
  if (answer && (!claim || answer.key !== claim.key || answer.owner !== claim.owner)) throw new Error("appendMany's answer must be its claim's");
}

/** `appendMany` takes each stream once: two appends to one stream in a transaction would expect the same version. */
export function assertDistinctStreams(appends: readonly StreamAppend[]) {
  const streams = new Set(appends.map((append) => append.streamId));
  if (streams.size !== appends.length) throw new Error('appendMany takes each stream once');
}

export interface EventStore {
  readStream(streamId: string, slice?: StreamSlice): Promise<StoredEvent[]>;
  /** Events after a global position, in order: for rebuilding read models. */
  readAll(afterPosition: number, limit: number): Promise<StoredEvent[]>;
  /**
   * Appends atomically with the reservations, the idempotency record and outbox rows.
   * Throws ConcurrencyConflict when the stream is not at `expectedVersion`,
   * ReservationTaken when a reserved value is held by another stream, and
   * IdempotencyKeyReused when the key is held meanwhile (by anything but the record's own claim,
   * which the record replaces, as saveIdempotentResponse does).
   */
  append(streamId: string, expectedVersion: number, events: NewEvent[], options?: AppendOptions): Promise<StoredEvent[]>;
  /**
   * Appends to many streams in one transaction (one round trip where the store has them),
   * each with its outbox rows, index entries and due snapshot, all or nothing: when a stream
   * is not at its expected version nothing is written and the conflicts are answered. A
   * stream may appear once only. With a `claim`, it commits only while that attempt's claim
   * is still the key's row (lapsed or not, no other attempt took the key); otherwise
   * IdempotencyKeyReused, and nothing is written. With an `answer`, the answer replaces the
   * claim in the same transaction.
   */
  appendMany(appends: StreamAppend[], options?: AppendManyOptions): Promise<AppendManyResult>;
  /** The answer recorded under a key, unless it expired by `now` (an expired one is as good as none); never a claim. */
  findIdempotentResponse(key: string, now: Date): Promise<IdempotentResponse | undefined>;
  /**
   * Claims a key for an attempt, atomically: when no record holds it at the claim's
   * `createdAt` (none, or only an expired answer or a lapsed claim), stores the claim and
   * answers `claimed`; otherwise answers what holds it (an answer, or another attempt's
   * claim), storing nothing. Two claims of one key at once: one is `claimed`, the other sees it.
   */
  claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyClaimOutcome>;
  /** Gives a key up: deletes the claim of `owner` (a failed attempt's), and nothing else. */
  releaseIdempotencyClaim(key: string, owner: string): Promise<void>;
  /**
   * Stores an answer that no append carries (an unchanged command's); IdempotencyKeyReused if
   * the key is held by a record not expired at the new one's `createdAt`, other than the
   * claim of the answer's `owner` (which it replaces, as it replaces an expired record).
   */
  saveIdempotentResponse(response: IdempotentResponse): Promise<void>;
  /** Deletes the idempotency records expired at `now` (lapsed claims too); returns how many. */
  purgeIdempotentResponses(now: Date): Promise<number>;
  /** The stream holding a reserved value (the account of an e-mail's blind index). */
  findReservation(scope: string, value: string): Promise<string | undefined>;
  /** The streams listed under an index key, committed with their appends (so never behind them). */
  readIndex(name: string, key: string): Promise<string[]>;
  readSnapshot(streamId: string, schema: string): Promise<Snapshot | undefined>;
  /**
   * Loads a stream for its aggregate in one read: the snapshot of `schema` when newer than
   * `afterVersion` (the version the caller holds already, 0 for none), and the events after
   * whichever of the two is newer.
   */
  loadStream(streamId: string, schema: string, afterVersion: number): Promise<StreamLoad>;
  /** `loadStream` for many streams in one read; the loads are in the order of `requests`. */
  loadStreams(requests: StreamLoadRequest[]): Promise<StreamLoad[]>;
  /** Keeps the snapshot unless a newer one of the same schema is stored already. */
  writeSnapshot(streamId: string, schema: string, snapshot: Snapshot): Promise<void>;
  /** Outbox rows still unpublished and older than `olderThanMs`, oldest first. */
  pendingOutbox(olderThanMs: number, limit: number): Promise<StoredEvent[]>;
  markPublished(eventIds: string[]): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A consumer of the bus: the Functions equivalent of one topic subscription. */
export interface Subscriber {
  name: string;
  eventTypes: readonly string[];
  handle(event: StoredEvent): Promise<void>;
}

export interface EventBus {
  /** Resolves once the bus has accepted the events (durably, for a real broker). */
  publish(events: StoredEvent[]): Promise<void>;
  subscribe(subscriber: Subscriber): void;
  /** Embedded buses only: resolves once every delivery so far has been handled. */
  idle?(): Promise<void>;
  /**
   * Buses that hold deliveries in memory only (the in-process bus): calls `then` once every
   * delivery of these events so far has been handled or dead-lettered (at once when none is
   * left), before `idle` resolves. Until then a crash loses them, so their outbox rows are
   * marked published only after it.
   */
  whenDelivered?(events: StoredEvent[], then: () => void): void;
  /** Buses that reconnect by themselves: `listener` runs after each reconnection (the outbox relay need not wait for its timer). */
  onReconnected?(listener: () => void): void;
  ping(): Promise<void>;
  close(): Promise<void>;
}

interface DeadLetterFacts {
  /**
   * The broker's message id: the event id. A message without one (never one of ours) is
   * named by its body (RabbitMQ: `sha256:` and 16 hex digits) or its sequence number
   * (Service Bus: `seq:<n>`), so that it can be dropped.
   */
  id: string;
  reason: string;
  attempts: number;
}

/**
 * A delivery the bus gave up on, kept for an operator: an event, or a body that is not one
 * (not JSON, or JSON but no event), which no handler can take and no replay can repair.
 */
export type DeadLetter = (DeadLetterFacts & { event: StoredEvent; unreadable?: undefined }) | (DeadLetterFacts & { event?: undefined; unreadable: string });

export interface ReplayOutcome {
  replayed: string[];
  failed: { id: string; reason: string }[];
  /** Asked for but not replayed: their bodies are no events (see `drop`). Left where they are. */
  unreadable: string[];
}

/** The operator's view of a durable bus's dead letters (`npm run dlq`). */
export interface DeadLetterQueue {
  /** The first `limit` dead letters of a subscription, left where they are. */
  list(subscription: string, limit: number): Promise<DeadLetter[]>;
  /**
   * Gives up to `limit` dead letters (only those in `ids`, when given) another delivery
   * to the subscription's handler; removes each one delivered and keeps each one that
   * failed again.
   */
  replay(subscription: string, options: { ids?: string[]; limit: number }): Promise<ReplayOutcome>;
  /**
   * Removes for good the dead letters in `ids`, and every unreadable one when `unreadable`
   * is set; resolves to the letters removed. The rest stay where they are.
   */
  drop(subscription: string, options: { ids?: string[]; unreadable?: boolean }): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

/** A read document carries the stream version it reflects. */
export interface ReadDocument {
  id: string;
  version: number;
}

export interface VersionedDocument<D> {
  document: D;
  etag: string;
}

export interface QuerySpec {
  query: string;
  parameters?: { name: string; value: string | number | boolean | null | readonly string[] | GeoJsonGeometry }[];
  /**
   * The one partition the query reads, where its filter names one (the value of the
   * container's partition key path): it then costs that partition alone, not every one.
   * The WHERE clause must filter on it too (the local server ignores this option).
   */
  partitionKey?: string;
}

/** What a read-store adapter tells of each query it runs (to count the partitions queries touch). */
export interface QueryRecord {
  container: string;
  /** Absent: the query was not confined to one partition, and fans out to every one. */
  partitionKey?: string;
}

export interface QueryPage<D> {
  items: D[];
  continuation?: string;
}

/** A document's address: its id, and its partition key where the container is not partitioned by `/id`. */
export interface DocumentRef {
  id: string;
  partitionKey?: string;
}

export interface ConditionalWrite<D extends ReadDocument> {
  document: D;
  /** The etag the stored document must still have; absent, the document must not exist yet. */
  etag?: string;
}

/**
 * A conditional write's outcome: written, with the etag the document has now where the store
 * told it; changed meanwhile; or failed on the store's side.
 */
export type WriteOutcome = { status: 'written'; etag?: string } | { status: 'changed' | 'failed' };

/**
 * A container of the read store. Where its partition key path is not `/id`, `get` and
 * `delete` take the document's partition key value too (a point read needs both).
 */
export interface ReadContainer<D extends ReadDocument> {
  get(id: string, partitionKey?: string): Promise<VersionedDocument<D> | undefined>;
  /** Many documents in few requests (Cosmos DB: one per partition range and 100 documents), in the order asked; undefined where absent. */
  getMany(refs: readonly DocumentRef[]): Promise<(VersionedDocument<D> | undefined)[]>;
  /**
   * Many conditional writes in few requests, each on its own (not a transaction): a create
   * where `etag` is absent, else a replace on that etag. Each is 'written'; 'changed' where
   * create or replace would have thrown PreconditionFailed; or 'failed' where the store refused
   * it otherwise (Cosmos DB: throttled, a server error), for the caller to do again on its
   * own. In the order given.
   */
  writeMany(writes: readonly ConditionalWrite<D>[]): Promise<WriteOutcome[]>;
  /** Creates the document; throws PreconditionFailed when it exists already. */
  create(document: D): Promise<void>;
  /** Replaces the document if its etag is still `etag`; throws PreconditionFailed otherwise. */
  replace(document: D, etag: string): Promise<void>;
  /** Writes unconditionally: for rebuilds only. */
  upsert(document: D): Promise<void>;
  /** Deletes the document if its etag is still `etag`; throws PreconditionFailed otherwise (repairs only). */
  delete(id: string, etag: string, partitionKey?: string): Promise<void>;
  queryPage(spec: QuerySpec, pageSize: number, continuation?: string): Promise<QueryPage<D>>;
  /**
   * What a `SELECT VALUE COUNT(1) FROM c WHERE …` query counts: on Cosmos DB an
   * index-only aggregate (its cost grows with the index entries it matches, no document is read).
   */
  count(spec: QuerySpec): Promise<number>;
}

export interface ContainerDefinition {
  name: string;
  /** A top-level field (`/id`, `/productId`): its value never changes for a document. */
  partitionKeyPath: string;
  /**
   * The composite indexes its queries need (paths, all ascending): one per query that
   * filters on equality and orders by another path, equality paths first. Bicep declares
   * the same (a drift test keeps them equal).
   */
  compositeIndexes?: readonly (readonly string[])[];
  /** Paths holding GeoJSON Points (`/position/?`) that `ST_WITHIN`/`ST_DISTANCE` filter on: a spatial index each. */
  spatialIndexes?: readonly string[];
}

/** A GeoJSON geometry as Cosmos DB's spatial functions take it (coordinates: longitude first). */
export type GeoJsonGeometry =
  | { type: 'Point'; coordinates: readonly [number, number] }
  | { type: 'Polygon'; coordinates: readonly (readonly (readonly [number, number])[])[] };

/** The value of a document's partition key under `definition`. */
export function partitionKeyOf(definition: ContainerDefinition, document: ReadDocument): string {
  return String((document as unknown as Record<string, unknown>)[definition.partitionKeyPath.slice(1)]);
}

export interface ReadStore {
  container<D extends ReadDocument>(name: string): ReadContainer<D>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface CacheEntry<T> {
  value: T;
  /** False once the fresh TTL ran out or the key was invalidated: a fallback only. */
  fresh: boolean;
}

export interface CacheTtl {
  freshSeconds: number;
  staleSeconds: number;
}

/**
 * The windows that throttle logins and registrations, and the marks of known clients: kept
 * where nothing evicts them to make room for cached reads (which anyone can multiply), since
 * an evicted window forgives its count. The cache itself when no store of their own is set.
 */
export type AttemptCounters = Pick<Cache, 'incrementWithin' | 'uncount' | 'peekWindow' | 'resetWindow' | 'remember' | 'recalls' | 'ping' | 'close'>;

export interface Cache {
  get<T>(key: string): Promise<CacheEntry<T> | undefined>;
  set<T>(key: string, value: T, ttl: CacheTtl): Promise<void>;
  /** Ends the fresh life of the keys but keeps their stale copies for outages. */
  invalidate(keys: string[]): Promise<void>;
  /**
   * Counts an occurrence within a fixed window that starts with the first one (failed
   * logins); answers the count so far and the seconds until the window ends.
   */
  incrementWithin(key: string, windowSeconds: number): Promise<{ count: number; resetsInSeconds: number }>;
  /** Takes one count back from an open window (an attempt counted first that then succeeded); never below 0. */
  uncount(key: string): Promise<void>;
  /** A window's count so far, without counting (undefined when none is open). */
  peekWindow(key: string): Promise<{ count: number; resetsInSeconds: number } | undefined>;
  /** Forgets a window early (a successful login clears its account's failures). */
  resetWindow(key: string): Promise<void>;
  /**
   * Renews `member` under `key` in one step (a known client of an account, renewed by each
   * login), forgetting members not renewed for `seconds`: the set keeps its `keep` most
   * recently renewed, so what one key holds stays bounded however many come and go.
   */
  remember(key: string, member: string, seconds: number, keep: number): Promise<void>;
  /** Whether `member` under `key` was renewed within the last `seconds`. */
  recalls(key: string, member: string, seconds: number): Promise<boolean>;
  /**
   * A counter (for cache generations). Callers only compare generations (or sums of
   * them) for equality, and a counter never comes back to a value it had: one lost (shed
   * by the memory cache, evicted by Redis) starts again above every value it had.
   */
  counter(key: string): Promise<number>;
  increment(key: string): Promise<number>;
  /**
   * Resolves once the cache takes a write (readiness, the local start's wait for it): one
   * that answers reads but refuses writes (Redis full with noeviction) holds every login
   * back, since the attempt counters are writes.
   */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Per-subject data keys (AES-256), kept apart from the events and wrapped by the master
 * key. Destroying a subject's key makes every value sealed with it unreadable for good.
 */
export interface DataKeyStore {
  /** The subject's key, made on first use. */
  keyFor(subject: string): Promise<Buffer>;
  /** The subject's key, or undefined once destroyed (or never made). */
  find(subject: string): Promise<Buffer | undefined>;
  destroy(subject: string): Promise<void>;
  close(): Promise<void>;
}

/** A private signing key as a JWK, with its key id. */
export interface SigningKey {
  kid: string;
  privateJwk: Record<string, string>;
}

/** Secrets the platform runs on: from settings (Key Vault references in Azure) or, locally, generated once. */
export interface Secrets {
  /** Newest first: the first one signs, all of them verify (two during a rotation). */
  signingKeys: SigningKey[];
  /** Wraps the per-subject data keys. */
  masterKey: Buffer;
  /** Keys the blind index of e-mails (HMAC-SHA-256). */
  indexKey: Buffer;
}

/** Custom metrics: Application Insights in Azure, aggregated JSON log lines elsewhere. */
export interface Telemetry {
  /** One measurement; sinks aggregate by name and dimensions. Dimensions never carry personal data. */
  metric(name: string, value: number, dimensions?: Record<string, string>): void;
  flush(): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
