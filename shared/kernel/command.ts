import { createHash, randomUUID } from 'node:crypto';
import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import Joi from 'joi';
import { fold, type Decider, type DomainEvent } from './decider';
import { IdempotencyKeyReused, InvalidInput, NotFound, PreconditionFailed } from './errors';
import { expectNoBody, jsonResponse, readJsonBody, traceIdOf, validate, versionOfEtag, withProblemDetails } from './http';
import type { EventMetadata, EventStore, IdempotentResponse, Reservation, Snapshot, StoredEvent } from './ports';
import type { ServiceProvider, Services } from './services';

export const uuidSchema = Joi.string().guid({ version: ['uuidv4', 'uuidv7'] }).lowercase();
const idempotencyKeySchema = Joi.string().pattern(/^[\x21-\x7e]{1,128}$/);

export interface CommandInput<Body> {
  id: string;
  body: Body;
  now: Date;
}

export interface CommandSpec<Body, Command, Event extends DomainEvent, State> {
  /** Also the idempotency scope. */
  name: string;
  decider: Decider<Command, Event, State>;
  streamId(id: string): string;
  /** Absent: the command takes no body. */
  bodySchema?: Joi.Schema<Body>;
  /** Creates a new aggregate with a server-made id: 201 with Location. */
  creates?: { location(id: string): string };
  toCommand(input: CommandInput<Body>): Command;
  /** Values the new events must hold exclusively (CNPJ), reserved in the append's transaction. */
  reservations?(events: Event[]): Reservation[];
  snapshots: SnapshotPolicy;
}

/**
 * Snapshot the state every `every` events, so a long stream loads from its tail. Bump
 * `schema` whenever the state's shape (or `evolve`) changes: old snapshots are then ignored.
 */
export interface SnapshotPolicy {
  schema: string;
  every: number;
}

/**
 * The command pipeline: validate → load the stream → decide → append with the expected
 * version (reservations, idempotency record and outbox rows in the same transaction) →
 * publish after commit → `{ id, version }`. The outbox relay publishes what this did not.
 */
export function commandHandler<Body, Command, Event extends DomainEvent, State>(
  services: ServiceProvider,
  spec: CommandSpec<Body, Command, Event, State>,
): HttpHandler {
  return withProblemDetails(async (request, context) => {
    const { eventStore, clock } = await services();
    const id = spec.creates ? randomUUID() : validate(uuidSchema, request.params.id, 'path');
    const body = spec.bodySchema ? validate(spec.bodySchema, await readJsonBody(request), 'body') : await expectNoBody(request);
    const idempotency = await idempotencyOf(request, spec.name, body);
    if (idempotency) {
      const earlier = await eventStore.findIdempotentResponse(idempotency.key);
      if (earlier) return replay(earlier, idempotency.requestHash);
    }

    const streamId = spec.streamId(id);
    const { state, version, sinceSnapshot } = await loadAggregate(eventStore, spec, streamId);
    if (!spec.creates && version === 0) throw new NotFound(`no such resource: ${id}`);
    checkIfMatch(request, version);

    const events = spec.decider.decide(spec.toCommand({ id, body: body as Body, now: clock.now() }), state);
    const newVersion = version + events.length;
    const response = spec.creates
      ? jsonResponse(201, { id, version: newVersion }, { location: spec.creates.location(id), etag: `"${newVersion}"` })
      : jsonResponse(200, { id, version: newVersion }, { etag: `"${newVersion}"` });
    // Nothing changed (the same values again): answer the current version, write nothing.
    if (events.length === 0) return response;

    const metadata = metadataOf(request, context);
    const stored = await appendOrReplay(services, streamId, version, events, metadata, {
      reservations: spec.reservations?.(events) ?? [],
      idempotency: idempotency && { ...idempotency, ...toRecord(response) },
    });
    if ('replayed' in stored) return stored.replayed;
    await publishAfterCommit(await services(), stored.events, context);
    if (sinceSnapshot + events.length >= spec.snapshots.every) {
      await takeSnapshot(eventStore, spec, streamId, { version: newVersion, state: fold({ ...spec.decider, initialState: state }, events) }, context);
    }
    return response;
  });
}

async function loadAggregate<Event extends DomainEvent, State>(
  eventStore: EventStore,
  spec: CommandSpec<unknown, unknown, Event, State>,
  streamId: string,
) {
  const snapshot = await eventStore.readSnapshot(streamId, spec.snapshots.schema);
  const events = (await eventStore.readStream(streamId, { afterVersion: snapshot?.version ?? 0 })) as unknown as (Event & StoredEvent)[];
  const initialState = snapshot ? (snapshot.state as State) : spec.decider.initialState;
  return {
    state: fold({ ...spec.decider, initialState }, events),
    version: events.length ? events[events.length - 1].version : (snapshot?.version ?? 0),
    sinceSnapshot: events.length,
  };
}

/** A snapshot only speeds loading up: failing to take one costs nothing but time. */
async function takeSnapshot<Event extends DomainEvent, State>(
  eventStore: EventStore,
  spec: CommandSpec<unknown, unknown, Event, State>,
  streamId: string,
  snapshot: Snapshot,
  context: InvocationContext,
) {
  try {
    await eventStore.writeSnapshot(streamId, spec.snapshots.schema, snapshot);
  } catch (error) {
    context.warn('snapshot not taken', error instanceof Error ? error.message : '');
  }
}

async function appendOrReplay(
  services: ServiceProvider,
  streamId: string,
  expectedVersion: number,
  events: DomainEvent[],
  metadata: EventMetadata,
  options: { reservations: Reservation[]; idempotency?: IdempotentResponse },
): Promise<{ events: StoredEvent[] } | { replayed: HttpResponseInit }> {
  const { eventStore } = await services();
  const newEvents = events.map((event) => ({ eventId: randomUUID(), type: event.type, data: event.data, metadata }));
  try {
    return { events: await eventStore.append(streamId, expectedVersion, newEvents, options) };
  } catch (error) {
    // A concurrent retry with the same key won the race: answer what it answered.
    if (error instanceof IdempotencyKeyReused && options.idempotency) {
      const earlier = await eventStore.findIdempotentResponse(options.idempotency.key);
      if (earlier) return { replayed: replay(earlier, options.idempotency.requestHash) };
    }
    throw error;
  }
}

/** Publishes right away for low lag; a failure is logged and left to the outbox relay. */
export async function publishAfterCommit(services: Services, events: StoredEvent[], context: InvocationContext) {
  try {
    await services.bus.publish(events);
    await services.eventStore.markPublished(events.map((event) => event.eventId));
  } catch (error) {
    context.warn('publish after commit failed; the outbox relay will retry', error instanceof Error ? error.message : '');
  }
}

function checkIfMatch(request: HttpRequest, version: number) {
  const header = request.headers.get('if-match');
  if (header === null || header.trim() === '*') return;
  const versions = header.split(',').map(versionOfEtag);
  if (!versions.includes(version)) {
    throw new PreconditionFailed(`the resource is at version ${version}, not the one in If-Match`);
  }
}

function metadataOf(request: HttpRequest, context: InvocationContext): EventMetadata {
  const traceparent = request.headers.get('traceparent') ?? undefined;
  const correlationHeader = request.headers.get('x-correlation-id');
  const correlationId =
    correlationHeader && /^[\w.:-]{1,128}$/.test(correlationHeader) ? correlationHeader : traceIdOf(request, context);
  return { correlationId, causationId: context.invocationId, ...(traceparent ? { traceparent } : {}) };
}

async function idempotencyOf(request: HttpRequest, scope: string, body: unknown) {
  if (request.method !== 'POST') return undefined;
  const key = request.headers.get('idempotency-key');
  if (key === null) return undefined;
  if (idempotencyKeySchema.validate(key).error) {
    throw new InvalidInput('the Idempotency-Key header is not valid', [
      { field: 'Idempotency-Key', message: 'use 1 to 128 visible ASCII characters' },
    ]);
  }
  const requestHash = createHash('sha256')
    .update(`${request.method} ${new URL(request.url).pathname}\n${JSON.stringify(body ?? null)}`)
    .digest('base64url');
  return { key: `${scope}:${key}`, requestHash };
}

function toRecord(response: HttpResponseInit) {
  return {
    status: response.status ?? 200,
    body: JSON.parse(String(response.body)),
    headers: { ...(response.headers as Record<string, string>) },
  };
}

function replay(earlier: IdempotentResponse, requestHash: string): HttpResponseInit {
  if (earlier.requestHash !== requestHash) {
    throw new IdempotencyKeyReused('this Idempotency-Key was used with another request');
  }
  return jsonResponse(earlier.status, earlier.body, { ...earlier.headers, 'idempotent-replayed': 'true' });
}
