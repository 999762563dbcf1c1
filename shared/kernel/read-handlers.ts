import type { HttpHandler, HttpRequest, HttpResponseInit } from '@azure/functions';
import Joi from 'joi';
import { authenticate } from './auth';
import { uuidSchema } from './command';
import { adminOnly } from './policies';
import { InvalidInput, NotFound } from './errors';
import { queryText } from './form';
import {
  decodeCursor,
  encodeCursor,
  etagMatches,
  jsonResponse,
  jsonTextResponse,
  queryObject,
  type ReadVariant,
  validate,
  withProblemDetails,
} from './http';
import type { QuerySpec, ReadDocument } from './ports';
import { collect, readThrough, remember, waitForVersion, worstOutcome, type CacheOutcome } from './query';
import type { ServiceProvider, Services } from './services';

const noParameters = Joi.object({});
const minVersionSchema = Joi.number().integer().min(1).max(Number.MAX_SAFE_INTEGER);
export const limitSchema = (fallback: number, max: number) => Joi.number().integer().min(1).max(max).default(fallback);
const historySchema = Joi.object({ limit: limitSchema(100, 500), cursor: Joi.string().max(512) });
const historyCursorSchema = Joi.object({ afterVersion: Joi.number().integer().min(0).required() });
const keysetCursorSchema = Joi.object({ after: Joi.string().max(300).required() });

export interface DocumentView<D extends ReadDocument> {
  /** Singular noun for messages: "pharmacy". */
  noun: string;
  container: string;
  cacheKey(id: string): string;
  /** A part of the representation computed at read time ("open"), which the ETag must name. */
  variant?(document: D, now: Date): ReadVariant;
  present(document: D, now: Date): object;
}

const renderings = new WeakMap<object, { variant: string; json: string }>();

/**
 * Serialises once per cached document and variant: a cache hit hands back the same
 * document object, so the hottest reads skip the serialisation.
 */
function render<D extends ReadDocument>(view: DocumentView<D>, document: D, now: Date) {
  const variant = view.variant?.(document, now) ?? '';
  let rendering = renderings.get(document);
  if (rendering?.variant !== variant) {
    rendering = { variant, json: JSON.stringify(view.present(document, now)) };
    renderings.set(document, rendering);
  }
  return rendering;
}

/**
 * How far ahead of the document a reader may ask `X-Min-Version` to wait. A command answers
 * with the version it wrote, so a writer reading its own write asks for at most a few
 * versions past what the projection shows; a version far past that will not come in 2 s.
 */
export const MAX_VERSIONS_AHEAD = 10;

/**
 * Whether to honour `X-Min-Version` (a wait of up to 2 s past the cache): only for a caller
 * with a valid access token (only commands produce the versions worth waiting for, and a
 * command needs a token), and only a few versions ahead. Anyone else gets the cached read,
 * so an anonymous caller cannot hold requests open nor send every read to the store.
 * The token is verified only when the document lags: the usual read costs nothing more.
 */
async function mayWaitFor(services: Services, request: HttpRequest, current: number, minVersion: number): Promise<boolean> {
  if (minVersion <= current || minVersion - current > MAX_VERSIONS_AHEAD) return false;
  if (!request.headers.has('authorization')) return false;
  try {
    await authenticate(request, services);
    return true;
  } catch {
    return false;
  }
}

/** The X-Min-Version header's version, refused by its name as If-Match and Idempotency-Key are. */
function minVersionOf(header: string): number {
  const { value, error } = minVersionSchema.validate(header, { convert: true });
  if (error) throw new InvalidInput('the X-Min-Version header is not valid', [{ field: 'X-Min-Version', message: 'send a version number, 1 or more' }]);
  return value;
}

/**
 * One document by id: cache-aside with stale fallback, `X-Min-Version` to wait for a
 * version a command returned (bounded: see mayWaitFor), an ETag of the version (and
 * variant), and 304s.
 */
export async function documentResponse<D extends ReadDocument>(
  services: Services,
  view: DocumentView<D>,
  id: string,
  request: HttpRequest,
): Promise<HttpResponseInit> {
  const header = request.headers.get('x-min-version');
  const minVersion = header === null ? undefined : minVersionOf(header);
  const load = async () => (await services.readStore.container<D>(view.container).get(id))?.document;
  let { value: document, cache } = await readThrough(services, view.cacheKey(id), load);
  if (minVersion !== undefined && (await mayWaitFor(services, request, document?.version ?? 0, minVersion))) {
    const caughtUp = await waitForVersion(services, load, minVersion);
    if (caughtUp) {
      document = caughtUp;
      cache = 'miss';
      remember(services, view.cacheKey(id), caughtUp);
    }
  }
  if (!document) throw new NotFound(`no ${view.noun} ${id}`);
  const { variant, json } = render(view, document, services.clock.now());
  const etag = variant ? `"${document.version}-${variant}"` : `"${document.version}"`;
  const headers = { etag, 'x-cache': cache, 'cache-control': 'no-cache' };
  if (etagMatches(request.headers.get('if-none-match'), etag)) return { status: 304, headers };
  return jsonTextResponse(200, json, headers);
}

/**
 * An id in the form every id is minted in (a lowercase, hyphenated UUID of version 4, 5 or
 * 7): a string uuidSchema accepts and leaves as it is. The hottest reads skip joi for it;
 * any other form (upper case, braces, no hyphens, or no UUID) goes through the schema.
 */
const CANONICAL_UUID = /^[\da-f]{8}-[\da-f]{4}-[457][\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/;

export function pathId(value: string | undefined): string {
  return value !== undefined && CANONICAL_UUID.test(value) ? value : validate(uuidSchema, value, 'path');
}

export function byIdHandler<D extends ReadDocument>(services: ServiceProvider, view: DocumentView<D>): HttpHandler {
  return withProblemDetails(async (request) => {
    const id = pathId(request.params.id);
    // An empty query is valid: joi is asked only when there is something to refuse.
    if (queryText(request.url) !== '') validate(noParameters, queryObject(request), 'query');
    return documentResponse(await services(), view, id, request);
  });
}

/** A stream's events, oldest first, in pages: the audit trail, for administrators. Read from the event store. */
export function historyHandler(services: ServiceProvider, noun: string, streamId: (id: string) => string): HttpHandler {
  return withProblemDetails(async (request) => {
    const s = await services();
    adminOnly()(await authenticate(request, s), undefined);
    const id = validate(uuidSchema, request.params.id, 'path');
    const { limit, cursor } = validate(historySchema, queryObject(request), 'query');
    const afterVersion = decodeCursor(cursor, historyCursorSchema)?.afterVersion ?? 0;
    const events = await s.eventStore.readStream(streamId(id), { afterVersion, limit: limit + 1 });
    if (events.length === 0 && afterVersion === 0) throw new NotFound(`no ${noun} ${id}`);
    const page = events.slice(0, limit);
    const last = page[page.length - 1];
    return jsonResponse(200, {
      items: page.map(({ position, version, type, occurredAt, data, metadata }) => ({
        position,
        version,
        type,
        occurredAt,
        data,
        metadata: { correlationId: metadata.correlationId, ...(metadata.actor ? { actor: metadata.actor } : {}) },
      })),
      nextCursor: events.length > limit ? encodeCursor({ afterVersion: last.version }) : null,
    });
  });
}

export interface KeysetScan<D extends ReadDocument> {
  container: string;
  /** Cache key of one store page: includes the filters; position and size are appended. */
  cacheKey: string;
  generation: string;
  /** The filtered query of documents after a key, ordered by that key. */
  query(after: string): QuerySpec;
  keyOf(document: D): string;
  /** A filter the store cannot apply (computed at read time, such as openNow). */
  matches?(document: D): boolean;
  limit: number;
  cursor?: string;
}

/** How many store pages a filtered list reads before it answers with a cursor. */
const MAX_SCANS = 5;

/**
 * One page of a list with keyset paging (`key > @after ORDER BY key`), which both real
 * Cosmos DB and the local server handle; store pages are cached, read-time filters
 * apply after the cache. `cache` is the worst outcome of the store pages read, for `X-Cache`.
 */
export async function keysetPage<D extends ReadDocument>(services: Services, scan: KeysetScan<D>) {
  const container = services.readStore.container<D>(scan.container);
  const size = scan.matches ? Math.max(50, scan.limit + 1) : scan.limit + 1;
  const items: D[] = [];
  let after = decodeCursor(scan.cursor, keysetCursorSchema)?.after ?? '';
  let exhausted = false;
  const outcomes: CacheOutcome[] = [];
  for (let pass = 0; pass < MAX_SCANS && items.length <= scan.limit && !exhausted; pass++) {
    const key = `${scan.cacheKey}:${after}:${size}`;
    const read = await readThrough(services, key, () => collect(container, scan.query(after), size), scan.generation);
    outcomes.push(read.cache);
    const batch = read.value ?? [];
    exhausted = batch.length < size;
    for (const document of batch) {
      if (items.length > scan.limit) break;
      after = scan.keyOf(document);
      if (!scan.matches || scan.matches(document)) items.push(document);
    }
  }
  const page = items.slice(0, scan.limit);
  const more = items.length > scan.limit || !exhausted;
  const last = items.length > scan.limit ? scan.keyOf(page[page.length - 1]) : after;
  return { items: page, nextCursor: more ? encodeCursor({ after: last }) : null, cache: worstOutcome(outcomes) };
}
