import type { InvocationContext } from '@azure/functions';
import Joi from 'joi';
import { PreconditionFailed } from './errors';
import { LearntOnce } from './learnt-once';
import type { ContainerDefinition, ReadContainer, ReadDocument, StoredEvent, VersionedDocument, WriteOutcome } from './ports';
import type { EventHandlerDeclaration } from './routes';
import type { ServiceProvider, Services } from './services';
import { approximateSize } from './size';
import { METRICS } from './telemetry';
import { WeightedLru } from './weighted-lru';

/**
 * A read model built from one stream per document: `apply` is pure, so the same code
 * serves incremental projection, gap repair and full rebuilds.
 */
export interface DocumentProjection<D extends ReadDocument> {
  name: string;
  subscription: string;
  container: ContainerDefinition;
  streamPrefix: string;
  eventTypes: readonly string[];
  apply(document: D | undefined, event: StoredEvent): D | undefined;
  /** By-id cache keys to invalidate when a document changes. */
  cacheKeys(id: string): string[];
  /**
   * Cache generations to bump when this document changes, which retires the cached lists
   * it may appear in: as narrow as the lists allow, so that writes elsewhere leave them cached.
   */
  cacheGenerations(document: D, services: Services): string[] | Promise<string[]>;
  /**
   * For a container partitioned by another field than `/id`: that field's value, read off
   * the stream's first event (a partition key never changes, so the first event names it).
   */
  partitionKeyOf?(first: StoredEvent): string;
  /**
   * Runs after every delivery that wrote the document or found it written already (a
   * duplicate or an older event): what derives from the container (a summary's recount) is
   * done again on a redelivery, so a crash between the write and this step loses nothing.
   * Its failure fails the delivery, which the bus retries.
   */
  afterWrite?(document: D, services: Services): Promise<void>;
}

// Streams' partition keys: a document's never changes.
const knownPartitionKeys = new LearntOnce<string>(50_000);

/** The partition of the document an event projects to, or undefined for `/id` containers. */
async function partitionKeyFor<D extends ReadDocument>(services: Services, projection: DocumentProjection<D>, event: StoredEvent): Promise<string | undefined> {
  const { partitionKeyOf } = projection;
  if (!partitionKeyOf) return undefined;
  if (event.version === 1) return partitionKeyOf(event);
  return knownPartitionKeys.get(`${projection.name}:${event.streamId}`, async () => {
    const [first] = await services.eventStore.readStream(event.streamId, { limit: 1 });
    return partitionKeyOf(first);
  });
}

const MAX_WRITE_ATTEMPTS = 10;

const STORED_INSTANT = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

const storedEventSchema = Joi.object({
  position: Joi.number().integer().min(1).required(),
  eventId: Joi.string().required(),
  streamId: Joi.string().required(),
  version: Joi.number().integer().min(1).required(),
  type: Joi.string().required(),
  data: Joi.object().required(),
  metadata: Joi.object().required(),
  // What both event stores write (toISOString): a pattern costs a quarter of joi's isoDate, per message and subscriber.
  occurredAt: Joi.string().pattern(STORED_INSTANT).required(),
})
  // Built in, not passed to each validate: joi merges per-call options on every message.
  .prefs({ allowUnknown: true });

/**
 * A bus message as a StoredEvent: Service Bus may hand over the body as text or bytes. A body
 * that is not JSON is refused by its size only: the parser's message quotes the text around
 * the fault (an event's data holds names, e-mails, CPFs), and the Functions host logs the
 * error, as a bus writes it into the dead letter's reason.
 */
export function toStoredEvent(message: unknown): StoredEvent {
  const body = typeof message === 'string' || Buffer.isBuffer(message) ? parsedBody(message.toString()) : (message as object);
  const plain = plainStoredEvent(body);
  if (plain) return plain;
  const { value, error } = storedEventSchema.validate(body);
  // The fields and the rules they broke, never joi's message: it quotes a value (an occurredAt, a type) from the body.
  if (error) throw new Error(`not a domain event message: ${error.details.map((detail) => `${detail.path.join('.') || 'body'} (${detail.type})`).join(', ')}`);
  return value as StoredEvent;
}

/** A bus message's body as JSON; one that is not is refused by its size only (see toStoredEvent). */
export function parsedBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`not a domain event message: the body is not JSON (${Buffer.byteLength(text)} bytes)`);
  }
}

/** Exported for the test that holds `plainStoredEvent` to joi's answers. */
export const STORED_EVENT_SCHEMA: Joi.ObjectSchema = storedEventSchema;

const STORED_EVENT_FIELDS = ['position', 'eventId', 'streamId', 'version', 'type', 'data', 'metadata', 'occurredAt'] as const;
const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 1;
const isText = (value: unknown) => typeof value === 'string' && value !== '';

/**
 * Every message every projector and reaction takes (four per offer event of a feed) went
 * through joi: ~6% of a projector process's time draining a feed, and more in the garbage it
 * left. A message as the event stores write it (every field of its JSON type, none empty)
 * is checked here by hand, and answered as joi answers it: a shallow copy, made as joi's
 * object type makes it. What this does not take (a field missing, empty, of another type,
 * a number as text, which joi converts, a `__proto__` key) goes to joi as before, which
 * refuses or converts it with its own words: nothing joi refuses is taken here, since each
 * check below is one of the schema's rules or narrower (`test/kernel/bus-messages.test.ts`
 * compares the two on mutated messages).
 */
function plainStoredEvent(body: unknown): StoredEvent | undefined {
  if (!isObject(body) || Object.hasOwn(body, '__proto__')) return undefined;
  // The copy first, as joi makes it, and its own fields checked: joi reads the copy, which
  // lacks a field not enumerable and reads a getter once, and it makes an inherited field own.
  const event = Object.assign(Object.create(Object.getPrototypeOf(body) as object | null) as object, body) as Record<keyof StoredEvent, unknown>;
  for (const field of STORED_EVENT_FIELDS) if (!Object.hasOwn(event, field)) return undefined;
  if (
    !isCount(event.position) ||
    !isCount(event.version) ||
    !isText(event.eventId) ||
    !isText(event.streamId) ||
    !isText(event.type) ||
    !isObject(event.data) ||
    !isObject(event.metadata) ||
    typeof event.occurredAt !== 'string' ||
    !STORED_INSTANT.test(event.occurredAt)
  ) {
    return undefined;
  }
  return event as StoredEvent;
}

/**
 * Projects one event so that duplicates and reordering converge: a version at or below
 * the document's is a duplicate; a gap means messages are missing or late, so the
 * missing events are read from the stream, the source of truth, and applied in order. Writes are conditional on
 * the etag and retried when another delivery got there first.
 */
export async function project<D extends ReadDocument>(
  services: Services,
  projection: DocumentProjection<D>,
  event: StoredEvent,
): Promise<'projected' | 'duplicate' | 'ignored'> {
  if (!event.streamId.startsWith(projection.streamPrefix)) return 'ignored';
  const id = event.streamId.slice(projection.streamPrefix.length);
  const container = services.readStore.container<D>(projection.container.name);
  const partitionKey = await partitionKeyFor(services, projection, event);
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const current = await container.get(id, partitionKey);
    const currentVersion = current?.document.version ?? 0;
    if (current && event.version <= currentVersion) {
      await projection.afterWrite?.(current.document, services);
      return 'duplicate';
    }
    // A gap: fetch the missing events (this one included) from the store, apply them in order.
    const events =
      event.version === currentVersion + 1
        ? [event]
        : await services.eventStore.readStream(event.streamId, { afterVersion: currentVersion, limit: event.version - currentVersion });
    const next = events.reduce<D | undefined>((document, missing) => projection.apply(document, missing), current?.document);
    if (!next) return 'ignored';
    try {
      if (current) await container.replace(next, current.etag);
      else await container.create(next);
    } catch (error) {
      if (error instanceof PreconditionFailed) continue;
      // A write that failed otherwise (a timeout, a 503) may have landed: its redelivery would
      // then be a duplicate, which retires nothing.
      await invalidateAll(services, projection, [{ id, document: next }]);
      throw error;
    }
    await invalidateAll(services, projection, [{ id, document: next }]);
    await projection.afterWrite?.(next, services);
    return 'projected';
  }
  throw new Error(`projection ${projection.name}: document ${id} kept changing; retry later`);
}

/**
 * Retires what the written documents may be cached in. Each generation is bumped once, however
 * many of the documents name it: a list compares a sum of counters that only grow, so one bump
 * retires it as surely as many.
 */
async function invalidateAll<D extends ReadDocument>(services: Services, projection: DocumentProjection<D>, written: readonly { id: string; document: D }[]) {
  // The documents are written; a cache that is down or frozen only delays freshness by the
  // fresh TTL (the fresh TTL bounds how long a cached copy can lag). Each call is bounded by
  // the adapter's timeout, and they run at once: a frozen cache costs one timeout.
  const outcomes = await Promise.allSettled([
    services.cache.invalidate(written.flatMap(({ id }) => projection.cacheKeys(id))),
    (async () => {
      const generations = new Set((await Promise.all(written.map(({ document }) => projection.cacheGenerations(document, services)))).flat());
      await Promise.all([...generations].map((key) => services.cache.increment(key)));
    })(),
  ]);
  if (outcomes.some((outcome) => outcome.status === 'rejected')) {
    services.telemetry.metric(METRICS.cacheError, 1, { operation: 'invalidate' });
  }
}

type Outcome = Awaited<ReturnType<typeof project>>;

/** The events of one document in a batch, in version order, and where they sit in the batch. */
interface DocumentEvents {
  id: string;
  positions: number[];
}

/** What one projector keeps of the documents it wrote: 8 MB of estimated size, none over 64 KB. */
const WRITTEN_BYTES = 8 * 1024 * 1024;
const LARGEST_WRITTEN_BYTES = 64 * 1024;

/**
 * The documents a projector wrote last, each with the etag the store gave it. The next event
 * of such a document is applied to the remembered copy and written on that etag, unread: the
 * etag makes the write land only where the stored document is still exactly that copy, so the
 * result is the one a read would have given. A copy is used only for the event right after
 * its version: where other instances share the subscription and one wrote a later version
 * since, a later event's version shows the gap and the document is read, at no cost beyond
 * the read. Another writer of the very version this event brings (a concurrent duplicate, an
 * instance that filled this event's gap before it arrived, a repair) turns the write aside
 * on its etag; the document is then read and done again.
 */
export class WrittenDocuments<D extends ReadDocument> {
  private readonly documents = new WeightedLru<VersionedDocument<D>>(WRITTEN_BYTES, LARGEST_WRITTEN_BYTES);

  /**
   * The remembered copy, if `nextVersion` follows it. Peeked, not moved up the order: a copy
   * recalled is written next, and `remember` (or `forget`) then places it (or drops it).
   */
  recall(id: string, nextVersion: number): VersionedDocument<D> | undefined {
    const remembered = this.documents.peek(id);
    return remembered?.document.version === nextVersion - 1 ? remembered : undefined;
  }

  remember(id: string, document: D, etag: string | undefined): void {
    if (etag === undefined) this.documents.delete(id);
    else this.documents.set(id, { document, etag }, approximateSize(document));
  }

  forget(id: string): void {
    this.documents.delete(id);
  }
}

/**
 * Projects many events at once, converging as `project` does: the documents they change read
 * in one bulk request (those in `written` are not read), each document's events applied in
 * version order, and the changed documents written in another, each on its etag. A remembered
 * document whose write goes aside is read and done again in a second round. A document whose
 * events have a gap, that another delivery wrote meanwhile, or whose write the store refused
 * on its own (throttled), goes through `project` one event at a time.
 * Each event's outcome, or the error that failed it, in the batch's order; a store or read
 * that fails the first round's bulk requests fails them all, the second's only its own. An
 * event `apply` throws on fails only its own document's deliveries.
 */
export async function projectMany<D extends ReadDocument>(
  services: Services,
  projection: DocumentProjection<D>,
  events: readonly StoredEvent[],
  written?: WrittenDocuments<D>,
): Promise<(Outcome | Error)[]> {
  const outcomes: (Outcome | Error)[] = events.map(() => 'ignored');
  const round = { services, projection, events, outcomes, written };
  const first = await projectRound(round, documentsOf(projection, events));
  const again = first.readAgain.length ? await secondRound(round, first.readAgain) : { oneByOne: [], readAgain: [] };

  // Gaps and races: the store's stream and the etag settle them, one event at a time.
  await Promise.all(
    [...first.oneByOne, ...again.oneByOne, ...again.readAgain].map(async ({ id, positions }) => {
      written?.forget(id);
      for (const position of positions) {
        try {
          outcomes[position] = await project(services, projection, events[position]);
        } catch (error) {
          outcomes[position] = asError(error);
        }
      }
    }),
  );
  return outcomes;
}

/**
 * The remembered documents whose writes went aside, read and written again. Its failure
 * fails only their deliveries: the first round's are settled, written or found written.
 */
async function secondRound<D extends ReadDocument>(round: Round<D>, documents: DocumentEvents[]): Promise<{ oneByOne: DocumentEvents[]; readAgain: DocumentEvents[] }> {
  try {
    return await projectRound(round, documents);
  } catch (error) {
    for (const { id, positions } of documents) {
      round.written?.forget(id);
      for (const position of positions) round.outcomes[position] = asError(error);
    }
    return { oneByOne: [], readAgain: [] };
  }
}

/** The documents a batch's events change, each with its events' positions in version order. */
function documentsOf<D extends ReadDocument>(projection: DocumentProjection<D>, events: readonly StoredEvent[]): DocumentEvents[] {
  const byDocument = new Map<string, DocumentEvents>();
  const { streamPrefix } = projection;
  for (let position = 0; position < events.length; position++) {
    const { streamId } = events[position];
    if (!streamId.startsWith(streamPrefix)) continue;
    const id = streamId.slice(streamPrefix.length);
    const entry = byDocument.get(id);
    if (entry) entry.positions.push(position);
    else byDocument.set(id, { id, positions: [position] });
  }
  const documents = [...byDocument.values()];
  for (const { positions } of documents) if (positions.length > 1) positions.sort((a, b) => events[a].version - events[b].version);
  return documents;
}

interface Round<D extends ReadDocument> {
  services: Services;
  projection: DocumentProjection<D>;
  events: readonly StoredEvent[];
  outcomes: (Outcome | Error)[];
  written?: WrittenDocuments<D>;
}

interface Write<D extends ReadDocument> {
  entry: DocumentEvents;
  document: D;
  etag?: string;
  applied: number[];
  remembered: boolean;
}

/**
 * One bulk read (of the documents not remembered) and one bulk write. Sets the outcomes it
 * settles; answers the documents left to `project` and the remembered ones to read again.
 */
async function projectRound<D extends ReadDocument>(round: Round<D>, documents: readonly DocumentEvents[]): Promise<{ oneByOne: DocumentEvents[]; readAgain: DocumentEvents[] }> {
  const { services, projection, events, outcomes, written } = round;
  const container = services.readStore.container<D>(projection.container.name);
  const current = await currentDocuments(services, projection, container, events, documents, written);

  const oneByOne: DocumentEvents[] = [];
  const readAgain: DocumentEvents[] = [];
  const writes: Write<D>[] = [];
  const foundWritten: D[] = [];
  for (const [index, entry] of documents.entries()) {
    const { stored, remembered } = current[index];
    let next: ReturnType<typeof applyInOrder<D>>;
    try {
      next = applyInOrder(projection, stored?.document, entry.positions, events);
    } catch {
      // An event the projection cannot apply (a data shape it does not know): one by one,
      // it fails its own delivery (and its stream's later ones), not every delivery of the round.
      written?.forget(entry.id);
      oneByOne.push(entry);
      continue;
    }
    // A remembered copy settles only what its write confirms (an event it cannot apply is read).
    if (remembered && !next?.applied.length) {
      written?.forget(entry.id);
      readAgain.push(entry);
      continue;
    }
    if (!next) {
      oneByOne.push(entry);
      continue;
    }
    for (const position of entry.positions) if (!next.applied.includes(position)) outcomes[position] = 'duplicate';
    if (next.applied.length === 0) foundWritten.push(stored!.document);
    else writes.push({ entry, document: next.document, etag: stored?.etag, applied: next.applied, remembered });
  }

  const answers = writes.length ? await writeAll(round, container, writes) : [];
  const projected: Write<D>[] = [];
  // A write the store answered with its own failure (a 503, a timeout) may have landed all the
  // same; one by one it would then be a duplicate, which retires nothing. Retired now, as landed.
  const mayHaveLanded: Write<D>[] = [];
  for (const [index, write] of writes.entries()) {
    const answer = answers[index];
    if (answer.status === 'written') {
      written?.remember(write.entry.id, write.document, answer.etag);
      projected.push(write);
      continue;
    }
    written?.forget(write.entry.id);
    if (answer.status === 'failed') mayHaveLanded.push(write);
    (answer.status === 'changed' && write.remembered ? readAgain : oneByOne).push(write.entry);
  }
  await invalidateAll(services, projection, [...projected, ...mayHaveLanded].map(({ entry, document }) => ({ id: entry.id, document })));
  for (const { applied } of projected) for (const position of applied) outcomes[position] = 'projected';
  await Promise.all([...foundWritten, ...projected.map(({ document }) => document)].map((document) => projection.afterWrite?.(document, services)));
  return { oneByOne, readAgain };
}

/** Each document as remembered, else as read (in one bulk request for all those not remembered). */
async function currentDocuments<D extends ReadDocument>(
  services: Services,
  projection: DocumentProjection<D>,
  container: ReadContainer<D>,
  events: readonly StoredEvent[],
  documents: readonly DocumentEvents[],
  written: WrittenDocuments<D> | undefined,
): Promise<{ stored?: VersionedDocument<D>; remembered: boolean }[]> {
  const recalled = documents.map(({ id, positions }) => written?.recall(id, events[positions[0]].version));
  const unread = documents.filter((_, index) => !recalled[index]);
  const partitionKeys = await Promise.all(unread.map((entry) => partitionKeyFor(services, projection, events[entry.positions[0]])));
  const read = unread.length ? await container.getMany(unread.map(({ id }, index) => ({ id, partitionKey: partitionKeys[index] }))) : [];
  let next = 0;
  return recalled.map((stored) => (stored ? { stored, remembered: true } : { stored: read[next++], remembered: false }));
}

/**
 * The round's writes in bulk. A bulk request that fails may have landed some of them (each
 * partition range is a request of its own): their redeliveries find them written, duplicates
 * that retire nothing, so every document of the round is retired (and forgotten) before the
 * round fails. Retiring one that did not change costs a cache miss.
 */
async function writeAll<D extends ReadDocument>(
  { services, projection, written }: Round<D>,
  container: ReadContainer<D>,
  writes: readonly Write<D>[],
): Promise<WriteOutcome[]> {
  try {
    return await container.writeMany(writes.map(({ document, etag }) => ({ document, etag })));
  } catch (error) {
    for (const { entry } of writes) written?.forget(entry.id);
    await invalidateAll(services, projection, writes.map(({ entry, document }) => ({ id: entry.id, document })));
    throw error;
  }
}

/**
 * A document's events (at `positions` of the batch, in version order) applied from its stored
 * state, and the positions applied: those at or below the version reached are duplicates.
 * Undefined when they leave a gap or apply to nothing, which `project` settles from the stream.
 */
function applyInOrder<D extends ReadDocument>(
  projection: DocumentProjection<D>,
  stored: D | undefined,
  positions: readonly number[],
  events: readonly StoredEvent[],
): { document: D; applied: number[] } | undefined {
  let document = stored;
  let version = stored?.version ?? 0;
  const applied: number[] = [];
  for (const position of positions) {
    const event = events[position];
    if (event.version <= version) continue;
    if (event.version !== version + 1) return undefined;
    document = projection.apply(document, event);
    if (!document) return undefined;
    version = event.version;
    applied.push(position);
  }
  return document && { document, applied };
}

/** The most events one bulk round takes: the bus's deliveries in flight, and more that arrive meanwhile. */
export const GATHERED_EVENTS = 100;

interface Waiting {
  event: StoredEvent;
  settle(outcome: Outcome | Error): void;
}

/**
 * Deliveries that arrive together are projected together (projectMany): the bus hands a
 * projector many events at once (Service Bus: maxConcurrentCalls), and two bulk requests for
 * all of them cost far less than two requests for each. One round at a time per projection and
 * process; what arrives during a round waits for the next, so under load the rounds grow.
 * Each delivery still settles with its own event's outcome, so the bus settles (or retries)
 * each message on its own.
 */
class GatheredProjection<D extends ReadDocument> {
  private waiting: Waiting[] = [];
  private running = false;
  private readonly written = new WrittenDocuments<D>();

  constructor(
    private readonly services: Services,
    private readonly projection: DocumentProjection<D>,
  ) {}

  project(event: StoredEvent): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ event, settle: (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome)) });
      // After this turn's other deliveries have arrived.
      if (!this.running) setImmediate(() => void this.run());
      this.running = true;
    });
  }

  private async run() {
    while (this.waiting.length > 0) {
      const round = this.waiting.splice(0, GATHERED_EVENTS);
      const together = projectMany(this.services, this.projection, round.map(({ event }) => event), this.written).catch((error: unknown) => round.map(() => asError(error)));
      let timer: NodeJS.Timeout | undefined;
      const slow = new Promise<'slow'>((resolve) => (timer = setTimeout(() => resolve('slow'), SLOW_ROUND_MS).unref()));
      const outcomes = await Promise.race([together, slow]);
      clearTimeout(timer);
      if (outcomes === 'slow') {
        this.oneByOne(round);
        continue;
      }
      round.forEach((waiting, index) => waiting.settle(outcomes[index]));
    }
    this.running = false;
  }

  /**
   * A round that outlasts SLOW_ROUND_MS (a slow partition, a throttled range) no longer holds
   * its deliveries, nor the next round: each goes its own way through `project`, settling when
   * it is done, as before rounds, so only those waiting on the slow part wait. The round goes
   * on in the background; its writes are conditional on the etags it read, so whichever lands
   * second finds the other's and converges.
   */
  private oneByOne(round: Waiting[]) {
    for (const waiting of round) {
      project(this.services, this.projection, waiting.event).then(
        (outcome) => waiting.settle(outcome),
        (error: unknown) => waiting.settle(asError(error)),
      );
    }
  }
}

/** How long a round may hold its deliveries: a healthy one takes milliseconds. */
export const SLOW_ROUND_MS = 2_000;

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

const gathered = new WeakMap<Services, Map<string, GatheredProjection<ReadDocument>>>();

function gatheredProjection<D extends ReadDocument>(services: Services, projection: DocumentProjection<D>): GatheredProjection<D> {
  let ofServices = gathered.get(services);
  if (!ofServices) gathered.set(services, (ofServices = new Map()));
  let gatherer = ofServices.get(projection.name);
  if (!gatherer) ofServices.set(projection.name, (gatherer = new GatheredProjection(services, projection as unknown as DocumentProjection<ReadDocument>)));
  return gatherer as unknown as GatheredProjection<D>;
}

export function projectorDeclaration<D extends ReadDocument>(
  services: ServiceProvider,
  projection: DocumentProjection<D>,
): EventHandlerDeclaration {
  return {
    name: projection.name,
    subscription: projection.subscription,
    eventTypes: projection.eventTypes,
    handler: async (message: unknown, _context: InvocationContext) => {
      const resolved = await services();
      const event = toStoredEvent(message);
      const outcome = await gatheredProjection(resolved, projection).project(event);
      // Lag from commit to read model: what a reader waits, at most, to see a write.
      if (outcome === 'projected') {
        resolved.telemetry.metric(METRICS.projectionLag, Math.max(0, Date.now() - Date.parse(event.occurredAt)), { projection: projection.name });
      }
    },
  };
}
