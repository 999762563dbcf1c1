import type { InvocationContext } from '@azure/functions';
import Joi from 'joi';
import { PreconditionFailed } from './errors';
import type { ContainerDefinition, ReadDocument, StoredEvent } from './ports';
import type { EventHandlerDeclaration } from './routes';
import type { ServiceProvider, Services } from './services';
import { METRICS } from './telemetry';

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

// Streams' partition keys, learnt once per process: a bounded map, oldest forgotten first.
const knownPartitionKeys = new Map<string, string>();
const KNOWN_PARTITION_KEYS = 50_000;

/** The partition of the document an event projects to, or undefined for `/id` containers. */
async function partitionKeyFor<D extends ReadDocument>(services: Services, projection: DocumentProjection<D>, event: StoredEvent): Promise<string | undefined> {
  if (!projection.partitionKeyOf) return undefined;
  if (event.version === 1) return projection.partitionKeyOf(event);
  const known = `${projection.name}:${event.streamId}`;
  let partitionKey = knownPartitionKeys.get(known);
  if (partitionKey === undefined) {
    const [first] = await services.eventStore.readStream(event.streamId, { limit: 1 });
    partitionKey = projection.partitionKeyOf(first);
    if (knownPartitionKeys.size >= KNOWN_PARTITION_KEYS) knownPartitionKeys.delete(knownPartitionKeys.keys().next().value!);
    knownPartitionKeys.set(known, partitionKey);
  }
  return partitionKey;
}

const MAX_WRITE_ATTEMPTS = 10;

const storedEventSchema = Joi.object({
  position: Joi.number().integer().min(1).required(),
  eventId: Joi.string().required(),
  streamId: Joi.string().required(),
  version: Joi.number().integer().min(1).required(),
  type: Joi.string().required(),
  data: Joi.object().required(),
  metadata: Joi.object().required(),
  occurredAt: Joi.string().isoDate().required(),
});

/** A bus message as a StoredEvent: Service Bus may hand over the body as text or bytes. */
export function toStoredEvent(message: unknown): StoredEvent {
  const body =
    typeof message === 'string' || Buffer.isBuffer(message) ? JSON.parse(message.toString()) : (message as object);
  const { value, error } = storedEventSchema.validate(body, { allowUnknown: true });
  if (error) throw new Error(`not a domain event message: ${error.message}`);
  return value as StoredEvent;
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
      if (!(error instanceof PreconditionFailed)) throw error;
      continue;
    }
    await invalidate(services, projection, id, next);
    await projection.afterWrite?.(next, services);
    return 'projected';
  }
  throw new Error(`projection ${projection.name}: document ${id} kept changing; retry later`);
}

async function invalidate<D extends ReadDocument>(services: Services, projection: DocumentProjection<D>, id: string, document: D) {
  // The document is written; a cache that is down or frozen only delays freshness by the
  // fresh TTL (the fresh TTL bounds how long a cached copy can lag). Each call is bounded by
  // the adapter's timeout, and they run at once: a frozen cache costs one timeout.
  const outcomes = await Promise.allSettled([
    services.cache.invalidate(projection.cacheKeys(id)),
    (async () => Promise.all((await projection.cacheGenerations(document, services)).map((key) => services.cache.increment(key))))(),
  ]);
  if (outcomes.some((outcome) => outcome.status === 'rejected')) {
    services.telemetry.metric(METRICS.cacheError, 1, { operation: 'invalidate' });
  }
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
      const outcome = await project(resolved, projection, event);
      // Lag from commit to read model: what a reader waits, at most, to see a write.
      if (outcome === 'projected') {
        resolved.telemetry.metric(METRICS.projectionLag, Math.max(0, Date.now() - Date.parse(event.occurredAt)), { projection: projection.name });
      }
    },
  };
}
