import { randomUUID } from 'node:crypto';
import { v7 as timeOrderedUuid } from 'uuid';
import type { HttpHandler, HttpRequest, InvocationContext } from '@azure/functions';
import Joi from 'joi';
import { fold, type Decider, type DomainEvent } from './decider';
import { authenticate, type Principal } from './auth';
import { ConcurrencyConflict, DATABASE_RETRY_AFTER_SECONDS, DomainError, IdempotencyKeyReused, NotFound, PreconditionFailed, ServiceUnavailable, Unauthorized } from './errors';
import { expectNoBody, jsonResponse, readJsonBody, traceIdOf, traceparentOf, preconditionOf, tagNamesVersion, validate, withProblemDetails } from './http';
import { answerOfKeyHolder, answerRecordedMeanwhile, claimOrReplay, idempotencyOf, idempotencyRecord, recordAnswer, releaseClaim, type IdempotentRequest } from './idempotency';
import type { AppendManyOptions, AppendManyResult, EventMetadata, EventStore, IdempotentResponse, IndexEntry, Reservation, StoredEvent, StreamAppend } from './ports';
import type { Policy } from './policies';
import type { ServiceProvider, Services } from './services';
import { METRICS } from './telemetry';
import { TimedOut, withTimeout } from './timeout';
import { aggregateCacheOf } from './aggregate-cache';
import { batchingLoads } from './batched-loads';
import { markPublishedSoon } from './outbox-marks';

/** Ids are UUIDs: v4 (made here), v5 (derived, such as an offer's from its pharmacy and product) or v7. */
export const uuidSchema = Joi.string().guid({ version: ['uuidv4', 'uuidv5', 'uuidv7'] }).lowercase();
export { idempotencyOf };

export interface CommandInput<Body, Facts> {
  id: string;
  body: Body;
  now: Date;
  facts: Facts;
}

/** Where a command's aggregate id comes from when it is not the `{id}` of the path. */
export type Identity<Body> =
  /** A new aggregate with a server-made id: 201 with Location. */
  | { kind: 'new'; location(id: string): string }
  /** Create or update an aggregate whose id the body determines: 201 when new, 200 when not. */
  | { kind: 'from-body'; id(body: Body): string; location(id: string): string };

export interface CommandSpec<Body, Command, Event extends DomainEvent, State, Facts = undefined> {
  /** Also the idempotency scope. */
  name: string;
  decider: Decider<Command, Event, State>;
  streamId(id: string): string;
  /** Absent: the command takes no body. */
  bodySchema?: Joi.Schema<Body>;
  identity?: Identity<Body>;
  /** What the decision needs from other aggregates (read from the event store, so consistent). */
  facts?(services: Services, body: Body, id: string): Promise<Facts>;
  toCommand(input: CommandInput<Body, Facts>): Command;
  /**
   * Who may run it, judged on the body and the loaded state. Absent: anyone may (open
   * registration). Present: the HTTP handler demands a valid token first.
   */
  authorize?: Policy<{ id: string; body: Body; state: State }>;
  /** Values the new events must hold exclusively (CNPJ), reserved in the append's transaction. */
  reservations?(events: Event[], facts: Facts): Reservation[];
  /** Reservations the new events give up, released in the append's transaction. */
  releases?(events: Event[], facts: Facts): Reservation[];
  /** Secondary index entries for the stream (offers by product), written in the append's transaction. */
  indexes?(events: Event[]): IndexEntry[];
  /** People the new events erase: their idempotency records are deleted in the append's transaction. */
  erases?(events: Event[]): string[];
  snapshots: SnapshotPolicy;
}

/**
 * Snapshot the state every `every` events, so a long stream loads from its tail. Bump
 * `schema` whenever the state's shape (or `evolve`) changes: old snapshots, and the states
 * instances keep between commands (keyed by it too), are then ignored.
 */
export interface SnapshotPolicy {
  schema: string;
  every: number;
}

export interface CommandRun<Body> {
  /** The path's id; ignored when the spec's identity says otherwise. */
  id?: string;
  /** The authenticated caller; 'system' for reactions and timers, which no policy stops. */
  principal?: Principal | 'system';
  body: Body;
  ifMatch?: string | null;
  ifNoneMatch?: string | null;
  idempotency?: IdempotentRequest;
  metadata: EventMetadata;
  context: InvocationContext;
  /**
   * When given, the committed events are added here for the caller to publish in one go
   * (a batch: one broker round trip instead of one per item); the outbox covers a crash
   * before it does.
   */
  publishLater?: StoredEvent[];
}

export interface CommandResult {
  status: number;
  body: { id: string; version: number };
  headers: Record<string, string>;
  replayed?: boolean;
  /** What this run appended (none for a replay or a no-op): for callers that answer by outcome. */
  events?: DomainEvent[];
}

/**
 * The command pipeline, whatever brought the command (an HTTP request, a batch item, a
 * reaction to an event, a timer): load the stream (the kept state or the snapshot, and
 * the tail after it, in one read) → decide → append with the expected version
 * (reservations, index entries, idempotency record, outbox rows and a due snapshot in the
 * same transaction) → publish after commit (the outbox marks written later, gathered) →
 * `{ id, version }`. The outbox relay publishes what this did not.
 */
export async function runCommand<Body, Command, Event extends DomainEvent, State, Facts>(
  services: Services,
  spec: CommandSpec<Body, Command, Event, State, Facts>,
  run: CommandRun<Body>,
): Promise<CommandResult> {
  const started = performance.now();
  let outcome = 'failed';
  try {
    const result = await decideAndAppend(services, spec, run);
    outcome = result.replayed ? 'replayed' : result.events?.length ? 'accepted' : 'unchanged';
    return result;
  } catch (error) {
    if (error instanceof DomainError) outcome = `rejected-${error.status}`;
    throw error;
  } finally {
    services.telemetry.metric(METRICS.commandDuration, performance.now() - started, { command: spec.name, outcome });
  }
}

/** One command's outcome in a batch: its result, or the domain error that refused it. */
export type BatchOutcome = { result: CommandResult } | { error: DomainError };

/** What a batch commits under, and the answer it commits with (see AppendManyOptions). */
export interface BatchOptions {
  claim?: { key: string; owner: string };
  /** The attempt's answer, made from the commands' outcomes as decided: stored with their appends, in place of the claim. */
  answer?(outcomes: readonly BatchOutcome[]): IdempotentResponse;
}

/**
 * How often a batch decides the commands of a stream that other writers keep changing
 * before it refuses them 409 (as a single command is refused when its stream changed
 * between its load and its append). A batch's first decision waits for its facts and its
 * commit waits for every stream of it, so under contention its streams often move
 * meanwhile; a later decision, its facts known, is a load and a commit apart.
 */
export const BATCH_DECISIONS_PER_STREAM = 3;

/**
 * The command pipeline for many commands of one spec at once (a partner feed's items), in
 * a few round trips whatever their number: the streams loaded together, then the facts
 * read together (see batchingLoads), each command decided on its own (commands of one
 * stream one after the other, each on the state the one before it left), and every append
 * committed in one transaction (EventStore.appendMany), with the answer when one is asked
 * for: so a crash leaves either all of it or none. When a stream changed meanwhile, nothing
 * is written; its commands are decided again on its new state and the whole batch is
 * committed again (a stream still changing after BATCH_DECISIONS_PER_STREAM is refused 409; a
 * store that twice could not take the batch at all, a lock not granted in time, fails it 503).
 * Each answer is what running the commands one by one, in the batch's order, would have
 * answered. A domain error refuses its command only; a dependency away (ServiceUnavailable,
 * or any other error) fails the whole batch. For commands without idempotency records of
 * their own, reservations, releases or erasures.
 */
export async function runCommandBatch<Body, Command, Event extends DomainEvent, State, Facts>(
  services: Services,
  spec: CommandSpec<Body, Command, Event, State, Facts>,
  runs: CommandRun<Body>[],
  options: BatchOptions = {},
): Promise<BatchOutcome[]> {
  if (spec.reservations || spec.releases || spec.erases || runs.some((run) => run.idempotency)) {
    throw new Error(`${spec.name} cannot run as a batch: reservations, releases, erasures and per-command keys need single appends`);
  }
  const started = performance.now();
  const outcomes: (BatchOutcome | undefined)[] = runs.map(() => undefined);
  const refuse = (index: number, error: unknown) => {
    if (!(error instanceof DomainError) || error instanceof ServiceUnavailable) throw error;
    outcomes[index] = { error };
  };
  const streams = commandsByStream(spec, runs, refuse);
  const decided = new Map<string, StreamDecision<Event, State, Facts>>();
  const timesDecided = new Map<string, number>();
  let pending = [...streams.keys()];
  let busyCommits = 0;
  // Each commit refused for a conflict decides a stream again or refuses its commands: BATCH_DECISIONS_PER_STREAM commits a stream at most.
  for (;;) {
    // The facts (read anew each round: a product discontinued since the last is seen) and the streams, asked for in the
    // same turn, so one read answers them all (batchingLoads): the decisions see facts and streams of one moment, and on a
    // store that answers within the turn (the embedded one) reach their commit without another turn of the event loop,
    // when another request could move them.
    const loads = { ...services, eventStore: batchingLoads(services.eventStore) };
    const [facts, aggregates] = await Promise.all([
      factsOf(loads, spec, runs, pending.map((streamId) => streams.get(streamId)!)),
      Promise.all(pending.map((streamId) => loadAggregate(loads.eventStore, spec.decider, spec.snapshots, streamId))),
    ]);
    await Promise.all(
      pending.map(async (streamId, k) => {
        timesDecided.set(streamId, (timesDecided.get(streamId) ?? 0) + 1);
        decided.set(streamId, await decideStream(loads, spec, runs, streams.get(streamId)!, aggregates[k], facts, outcomes, refuse));
      }),
    );
    const appending = [...decided.values()].flatMap(({ change, ...stream }) => (change ? [{ ...stream, ...change }] : []));
    const answer = options.answer?.(outcomes as BatchOutcome[]);
    if (appending.length === 0 && !answer) break;
    const result = await appendAllOrNothing(services.eventStore, appending.map(({ append }) => append), { ...options, answer });
    if ('stored' in result) {
      const published: StoredEvent[] = [];
      for (const [k, stream] of appending.entries()) {
        keepDecided(services.eventStore, spec.snapshots, stream.last);
        (runs[stream.indexes[0]].publishLater ?? published).push(...result.stored[k]);
      }
      if (published.length > 0) await publishAfterCommit(services, published, runs[0].context);
      break;
    }
    // A store that twice could not take the batch at all says nothing of its streams: a 503 to retry, not 409s for every item.
    if (result.conflicts[0]?.current === BUSY && ++busyCommits >= 2) {
      throw new ServiceUnavailable('the database could not take the batch in time; retry (with the same Idempotency-Key)', DATABASE_RETRY_AFTER_SECONDS);
    }
    pending = [];
    for (const { index } of result.conflicts) {
      const { streamId, indexes } = appending[index];
      aggregateCacheOf(services.eventStore).forget(streamId, spec.snapshots.schema);
      if (timesDecided.get(streamId)! < BATCH_DECISIONS_PER_STREAM) {
        pending.push(streamId);
        continue;
      }
      decided.delete(streamId);
      for (const k of indexes) if (outcomes[k] && 'result' in outcomes[k]) outcomes[k] = { error: streamChanged() };
    }
  }
  const elapsed = performance.now() - started;
  for (const outcome of outcomes) {
    if (!outcome) continue;
    const status = 'error' in outcome ? `rejected-${outcome.error.status}` : outcome.result.events?.length ? 'accepted' : 'unchanged';
    services.telemetry.metric(METRICS.commandDuration, elapsed, { command: spec.name, outcome: status });
  }
  return outcomes as BatchOutcome[];
}

const streamChanged = () => new ConcurrencyConflict(`the resource changed meanwhile, ${BATCH_DECISIONS_PER_STREAM} times while this batch ran; reload and retry`);

/** The `current` of a stream in a batch the store could not take at all: its version is not known. */
const BUSY = -1;

/** appendMany, with a store that could not take the batch at all (a stream's lock not granted in time) answered as every stream changed (at BUSY). */
async function appendAllOrNothing(eventStore: EventStore, appends: StreamAppend[], options: AppendManyOptions): Promise<AppendManyResult> {
  try {
    return await eventStore.appendMany(appends, options);
  } catch (error) {
    if (!(error instanceof ConcurrencyConflict)) throw error;
    return { conflicts: appends.map((_, index) => ({ index, current: BUSY })) };
  }
}

/** A stream's commands in a batch: its aggregate's id and the commands' positions, in the batch's order. */
interface StreamCommands {
  id: string;
  indexes: number[];
}

/** The batch's commands grouped by stream, in the order each stream first appears; a command whose id is refused is left out. */
function commandsByStream<Body>(
  spec: { identity?: Identity<Body>; streamId(id: string): string },
  runs: CommandRun<Body>[],
  refuse: (index: number, error: unknown) => void,
): Map<string, StreamCommands> {
  const streams = new Map<string, StreamCommands>();
  for (const [index, run] of runs.entries()) {
    try {
      const id = idOf(spec, run);
      const streamId = spec.streamId(id);
      const stream = streams.get(streamId) ?? streams.set(streamId, { id, indexes: [] }).get(streamId)!;
      stream.indexes.push(index);
    } catch (error) {
      refuse(index, error);
    }
  }
  return streams;
}

/** A stream's commands decided in a batch and, when they change it, the last decision that did and the one append of them all. */
interface StreamDecision<Event extends DomainEvent, State, Facts> extends StreamCommands {
  streamId: string;
  change?: { last: Decided<Event, State, Facts>; append: StreamAppend };
}

/**
 * Decides a stream's commands one after the other on its loaded aggregate, each on the state
 * the one before it left (a refused or unchanged one leaves it as it was), and sets their
 * outcomes as decided.
 */
async function decideStream<Body, Command, Event extends DomainEvent, State, Facts>(
  services: Services,
  spec: CommandSpec<Body, Command, Event, State, Facts>,
  runs: CommandRun<Body>[],
  stream: StreamCommands,
  loaded: LoadedAggregate<State>,
  facts: Map<number, Promise<Facts>>,
  outcomes: (BatchOutcome | undefined)[],
  refuse: (index: number, error: unknown) => void,
): Promise<StreamDecision<Event, State, Facts>> {
  const streamId = spec.streamId(stream.id);
  const changes: Changed<Event, State, Facts>[] = [];
  let aggregate = loaded;
  for (const index of stream.indexes) {
    try {
      const decided = await decide(services, spec, runs[index], stream.id, aggregate, facts.get(index));
      outcomes[index] = { result: { ...decided.result, events: decided.events } };
      if (!decided.append) continue;
      changes.push(decided as Changed<Event, State, Facts>);
      aggregate = stateAfter(decided);
    } catch (error) {
      refuse(index, error);
    }
  }
  const last = changes.at(-1);
  return { ...stream, streamId, ...(last ? { change: { last, append: appendOfAll(changes) } } : {}) };
}

/**
 * The facts of these streams' commands, all asked for at once (a batching store reads them
 * together) and settled. Each is met by its command's decision, after its authorisation,
 * as if read there; a failure is that command's.
 */
async function factsOf<Body, Command, Event extends DomainEvent, State, Facts>(
  services: Services,
  spec: CommandSpec<Body, Command, Event, State, Facts>,
  runs: CommandRun<Body>[],
  streams: StreamCommands[],
): Promise<Map<number, Promise<Facts>>> {
  const facts = new Map<number, Promise<Facts>>();
  if (!spec.facts) return facts;
  for (const { id, indexes } of streams) {
    for (const index of indexes) {
      const read = spec.facts(services, runs[index].body, id);
      // Met later by the decision, or not at all (a command refused first): not an unhandled rejection meanwhile.
      read.catch(() => {});
      facts.set(index, read);
    }
  }
  await Promise.allSettled(facts.values());
  return facts;
}

/** A decision that changed its stream. */
type Changed<Event extends DomainEvent, State, Facts> = Decided<Event, State, Facts> & { append: StreamAppend };

/** One append for a stream's changes decided one after the other: their events and index entries, and the latest snapshot due. */
function appendOfAll(changes: Changed<DomainEvent, unknown, unknown>[]): StreamAppend {
  if (changes.length === 1) return changes[0].append;
  const snapshot = changes.map(({ append }) => append.options?.snapshot).filter((due) => due !== undefined).at(-1);
  return {
    streamId: changes[0].streamId,
    expectedVersion: changes[0].version,
    events: changes.flatMap(({ append }) => append.events),
    options: { indexes: changes.flatMap(({ append }) => append.options?.indexes ?? []), ...(snapshot ? { snapshot } : {}) },
  };
}

async function decideAndAppend<Body, Command, Event extends DomainEvent, State, Facts>(
  services: Services,
  spec: CommandSpec<Body, Command, Event, State, Facts>,
  run: CommandRun<Body>,
): Promise<CommandResult> {
  const idempotency = run.idempotency;
  if (!idempotency) return decideAndAppendOnce(services, spec, run);
  const earlier = await claimOrReplay(services, idempotency);
  if (earlier) return replay(earlier);
  // The key is claimed for this attempt: its answer replaces the claim, its failure gives it up.
  let result: CommandResult;
  try {
    result = await decideAndAppendOnce(services, spec, run);
  } catch (error) {
    await releaseClaim(services, idempotency);
    throw error;
  }
  // Unchanged: no append carried the answer, so it is recorded on its own.
  if (!result.replayed && !result.events?.length) await recordAnswer(services, idempotency, result);
  return result;
}

async function decideAndAppendOnce<Body, Command, Event extends DomainEvent, State, Facts>(
  services: Services,
  spec: CommandSpec<Body, Command, Event, State, Facts>,
  run: CommandRun<Body>,
): Promise<CommandResult> {
  const { eventStore } = services;
  const decided = await decide(services, spec, run, idOf(spec, run));
  // Nothing changed (the same values again): answer the current version, write nothing.
  if (!decided.append) return decided.result;
  const { streamId, version, events, facts, result, created, append } = decided;
  const cache = aggregateCacheOf(eventStore);
  let stored: StoredEvent[];
  try {
    stored = await eventStore.append(streamId, version, append.events, {
      ...append.options,
      reservations: spec.reservations?.(events, facts) ?? [],
      releases: spec.releases?.(events, facts) ?? [],
      // An anonymous command's record belongs to the account it made (a registration), so that account's erasure removes it.
      idempotency: run.idempotency && idempotencyRecord(services, run.idempotency, { ...result, subject: created ? result.body.id : undefined }),
      erasedSubjects: spec.erases?.(events) ?? [],
    });
  } catch (error) {
    if (error instanceof ConcurrencyConflict) cache.forget(streamId, spec.snapshots.schema);
    // Another attempt holds the key (this one's claim lapsed): answer what it answered, or that it still runs.
    if (error instanceof IdempotencyKeyReused && run.idempotency) return replay(await answerOfKeyHolder(services, run.idempotency));
    // The stream checks come first: a retry that ran while this attempt outlived its lease changed it. Its answer is this one's.
    const answered = error instanceof ConcurrencyConflict && run.idempotency && (await answerRecordedMeanwhile(services, run.idempotency));
    if (answered) return replay(answered);
    throw error;
  }
  keepDecided(eventStore, spec.snapshots, decided);
  if (run.publishLater) run.publishLater.push(...stored);
  else await publishAfterCommit(services, stored, run.context);
  return { ...result, events };
}

/** After its append committed: the stream's new state, kept for the next command on it. */
function keepDecided<Event extends DomainEvent, State, Facts>(eventStore: EventStore, snapshots: SnapshotPolicy, decided: Decided<Event, State, Facts>) {
  aggregateCacheOf(eventStore).set(decided.streamId, snapshots.schema, stateAfter(decided));
}

/** An aggregate's state at a version, and how many events it is past its latest snapshot. */
interface LoadedAggregate<State> {
  state: State;
  version: number;
  sinceSnapshot: number;
}

/** The aggregate as a decision leaves it, once its events are appended. */
function stateAfter<Event extends DomainEvent, State, Facts>({ newState, snapshotDue, sinceSnapshot, events, result }: Decided<Event, State, Facts>): LoadedAggregate<State> {
  return { version: result.body.version, state: newState, sinceSnapshot: snapshotDue ? 0 : sinceSnapshot + events.length };
}

/** What deciding a command made: its answer and, when it changed something, the append to make. */
interface Decided<Event extends DomainEvent, State, Facts> {
  streamId: string;
  version: number;
  sinceSnapshot: number;
  created: boolean;
  facts: Facts;
  events: Event[];
  newState: State;
  snapshotDue: boolean;
  result: CommandResult;
  /** Absent when the command changed nothing. */
  append?: StreamAppend;
}

/**
 * Load → authorize → decide, the pipeline's steps before the append (`services.eventStore`
 * does the reads). Given `aggregate` (a batch's: loaded once for the stream's commands, or as
 * an earlier command of the batch leaves it), the command is decided on it instead; given
 * `readFacts` (a batch's, read for all its commands at once), on those facts.
 */
async function decide<Body, Command, Event extends DomainEvent, State, Facts>(
  services: Services,
  spec: CommandSpec<Body, Command, Event, State, Facts>,
  run: CommandRun<Body>,
  id: string,
  aggregate?: LoadedAggregate<State>,
  readFacts?: Promise<Facts>,
): Promise<Decided<Event, State, Facts>> {
  const { eventStore, clock } = services;
  const streamId = spec.streamId(id);
  const { state, version, sinceSnapshot } = aggregate ?? (await loadAggregate(eventStore, spec.decider, spec.snapshots, streamId));
  // Who may first, then whether it exists: a 404 before a 403 would tell a caller which ids
  // (another person's account, another pharmacy's offer) exist. Policies see the initial state.
  if (spec.authorize && run.principal !== 'system') {
    if (!run.principal) throw new Unauthorized('send an access token: Authorization: Bearer <token>', null);
    spec.authorize(run.principal, { id, body: run.body, state });
  }
  if (!spec.identity && version === 0) throw new NotFound(`no such resource: ${id}`);
  checkIfMatch(run.ifMatch, version);
  checkIfNoneMatch(run.ifNoneMatch, version);

  const facts = (spec.facts ? await (readFacts ?? spec.facts(services, run.body, id)) : undefined) as Facts;
  const events = spec.decider.decide(spec.toCommand({ id, body: run.body, now: clock.now(), facts }), state);
  const newVersion = version + events.length;
  const created = spec.identity !== undefined && version === 0;
  const result: CommandResult = {
    status: created ? 201 : 200,
    body: { id, version: newVersion },
    headers: { etag: `"${newVersion}"`, ...(created && spec.identity ? { location: spec.identity.location(id) } : {}) },
  };
  const decided = { streamId, version, sinceSnapshot, created, facts, events, newState: state, snapshotDue: false, result };
  if (events.length === 0) return decided;
  const newState = fold({ ...spec.decider, initialState: state }, events);
  // Due snapshots go with the append (same transaction): no write of their own on the request path.
  const snapshotDue = sinceSnapshot + events.length >= spec.snapshots.every;
  // Time-ordered ids (UUIDv7): the stores' unique index on event ids (and Azure SQL's outbox,
  // clustered on them) then grows at its end, one page written per commit instead of one per
  // event at a random place.
  const newEvents = events.map((event) => ({ eventId: timeOrderedUuid(), type: event.type, data: event.data, metadata: run.metadata }));
  return {
    ...decided,
    newState,
    snapshotDue,
    append: {
      streamId,
      expectedVersion: version,
      events: newEvents,
      options: {
        indexes: spec.indexes?.(events) ?? [],
        ...(snapshotDue ? { snapshot: { schema: spec.snapshots.schema, snapshot: { version: newVersion, state: newState } } } : {}),
      },
    },
  };
}

function idOf<Body>(spec: { identity?: Identity<Body> }, run: CommandRun<Body>): string {
  if (spec.identity?.kind === 'new') return randomUUID();
  if (spec.identity?.kind === 'from-body') return spec.identity.id(run.body);
  return validate(uuidSchema, run.id, 'path');
}

/** The HTTP function of a command: reads and validates the request, runs the pipeline. */
export function commandHandler<Body, Command, Event extends DomainEvent, State, Facts>(
  services: ServiceProvider,
  spec: CommandSpec<Body, Command, Event, State, Facts>,
): HttpHandler {
  return withProblemDetails(async (request, context) => {
    const s = await services();
    // Who first (401 before anything else is said), then the id, then the body.
    const principal = spec.authorize ? await authenticate(request, s) : undefined;
    const id = spec.identity ? undefined : validate(uuidSchema, request.params.id, 'path');
    const body = (spec.bodySchema ? validate(spec.bodySchema, await readJsonBody(request), 'body') : await expectNoBody(request)) as Body;
    const result = await runCommand(s, spec, {
      id,
      body,
      principal,
      ifMatch: request.headers.get('if-match'),
      ifNoneMatch: request.headers.get('if-none-match'),
      // Keys are per caller: two partners may both send "order-1".
      idempotency: idempotencyOf(s, request, `${spec.name}:${principal?.subject ?? 'anonymous'}`, body, principal?.subject),
      metadata: metadataOf(request, context, principal?.subject),
      context,
    });
    return toResponse(result);
  });
}

function toResponse(result: CommandResult) {
  return jsonResponse(result.status, result.body, { ...result.headers, ...(result.replayed ? { 'idempotent-replayed': 'true' } : {}) });
}

/**
 * Loads an aggregate's state: from the state this instance kept (see AggregateCache) or the
 * latest snapshot, whichever is newer, and the events after it, in one read. The events are
 * always read, so a write by another instance is never missed.
 */
export async function loadAggregate<Event extends DomainEvent, State>(
  eventStore: EventStore,
  decider: Pick<Decider<unknown, Event, State>, 'initialState' | 'evolve'>,
  snapshots: SnapshotPolicy,
  streamId: string,
): Promise<LoadedAggregate<State>> {
  const cache = aggregateCacheOf(eventStore);
  const cached = cache.get(streamId, snapshots.schema);
  const { snapshot, events } = await eventStore.loadStream(streamId, snapshots.schema, cached?.version ?? 0);
  const tail = events as unknown as (Event & StoredEvent)[];
  const base = snapshot ? { version: snapshot.version, state: snapshot.state as State, sinceSnapshot: 0 } : cached && { ...cached, state: cached.state as State };
  const state = fold({ ...decider, initialState: base ? base.state : decider.initialState }, tail);
  const version = tail.length ? tail[tail.length - 1].version : (base?.version ?? 0);
  const sinceSnapshot = (base?.sinceSnapshot ?? 0) + tail.length;
  if (version > 0 && (tail.length > 0 || snapshot)) cache.set(streamId, snapshots.schema, { version, state, sinceSnapshot });
  return { state, version, sinceSnapshot };
}

/**
 * How long a command waits for the bus after its commit. The events are committed and in
 * the outbox already, so waiting longer buys nothing but a held caller: past this the
 * command answers and the outbox relay publishes them (a late confirm of this attempt makes
 * a duplicate, which every consumer drops). A healthy publish takes milliseconds (RabbitMQ
 * confirms, a Service Bus send on an open link); 2 s leaves room for a Service Bus link
 * being (re)opened and keeps a command under 3 s with a frozen or unreachable broker.
 */
export const PUBLISH_AFTER_COMMIT_TIMEOUT_MS = 2_000;

/**
 * After a publish timed out, commands stop waiting for this bus for a while: a frozen
 * broker goes unnoticed by its client until the heartbeats give up (10 to 15 s), and every
 * command would wait the whole bound meanwhile. They still publish, in the background.
 */
export const BUS_PAUSE_AFTER_TIMEOUT_MS = 5_000;
const busPausedUntil = new WeakMap<object, number>();

/** Publishes right away for low lag, bounded; a failure or a timeout is logged and left to the outbox relay. */
export async function publishAfterCommit(services: Services, events: StoredEvent[], context: InvocationContext) {
  const publishing = publishBounded(services, events, context);
  if ((busPausedUntil.get(services.bus) ?? 0) > Date.now()) return;
  await publishing;
}

async function publishBounded(services: Services, events: StoredEvent[], context: InvocationContext) {
  try {
    await withTimeout(
      services.bus.publish(events),
      PUBLISH_AFTER_COMMIT_TIMEOUT_MS,
      `the bus did not take ${events.length} event(s) within ${PUBLISH_AFTER_COMMIT_TIMEOUT_MS} ms`,
    );
    services.telemetry.metric(METRICS.eventsPublished, events.length, { via: 'command' });
    // Off the caller's path, gathered with other commands' marks; a mark lost leaves only a duplicate for the relay to send.
    const mark = () =>
      markPublishedSoon(services.eventStore, events.map((event) => event.eventId), (error) =>
        context.warn('published events not marked; the outbox relay will publish them again', error instanceof Error ? error.message : ''),
      );
    // A bus that holds its deliveries in memory: marked once they are done, so that a crash before leaves them to the relay.
    if (services.bus.whenDelivered) services.bus.whenDelivered(events, mark);
    else mark();
  } catch (error) {
    if (error instanceof TimedOut) busPausedUntil.set(services.bus, Date.now() + BUS_PAUSE_AFTER_TIMEOUT_MS);
    context.warn('publish after commit failed; the outbox relay will retry', error instanceof Error ? error.message : '');
  }
}

/**
 * RFC 9110 §13.1.1: `*` holds when the resource exists; a list holds when one of its tags
 * names the current version. A header that is not an If-Match at all is a 400, not a 412:
 * the caller has a bug to fix, not a newer version to fetch.
 */
function checkIfMatch(header: string | null | undefined, version: number) {
  if (header === null || header === undefined) return;
  const condition = preconditionOf(header, 'If-Match');
  const holds = condition === '*' ? version > 0 : condition.some((tag) => tagNamesVersion(tag, version));
  if (!holds) throw new PreconditionFailed(`the resource is at version ${version}, not the one in If-Match`);
}

/**
 * RFC 9110 §13.1.2, for a command: `*` fails when the resource exists (create only), a list
 * fails when one of its tags names the current version by weak comparison (`W/"3"` names
 * version 3). Ignoring the header would run a command its caller meant to be conditional.
 */
function checkIfNoneMatch(header: string | null | undefined, version: number) {
  if (header === null || header === undefined) return;
  const condition = preconditionOf(header, 'If-None-Match');
  if (condition === '*') {
    if (version > 0) throw new PreconditionFailed(`the resource exists (at version ${version}), and If-None-Match: * asks that it does not`);
    return;
  }
  // A resource not yet written has no tag to name, "0" included.
  if (version > 0 && condition.some((tag) => tagNamesVersion({ ...tag, weak: false }, version))) {
    throw new PreconditionFailed(`the resource is at version ${version}, which If-None-Match names`);
  }
}

/** The metadata of a command a request carries: correlation, cause, trace and, when known, who. */
export function metadataOf(request: HttpRequest, context: InvocationContext, actor?: string): EventMetadata {
  const traceparent = traceparentOf(request, context);
  const correlationHeader = request.headers.get('x-correlation-id');
  const correlationId =
    correlationHeader && /^[\w.:-]{1,128}$/.test(correlationHeader) ? correlationHeader : traceIdOf(request, context);
  return { correlationId, causationId: context.invocationId, ...(traceparent ? { traceparent } : {}), ...(actor ? { actor } : {}) };
}

/** The metadata of a command an event caused: same correlation, the event as cause. */
export function metadataCausedBy(event: StoredEvent, actor: string): EventMetadata {
  return {
    correlationId: event.metadata.correlationId,
    causationId: event.eventId,
    ...(event.metadata.traceparent ? { traceparent: event.metadata.traceparent } : {}),
    actor,
  };
}

/** The first attempt's answer, its fingerprint checked already (claimOrReplay, answerOfKeyHolder). */
function replay(earlier: IdempotentResponse): CommandResult {
  return { status: earlier.status, body: earlier.body as CommandResult['body'], headers: earlier.headers, replayed: true };
}
