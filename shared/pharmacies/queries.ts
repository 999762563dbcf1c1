import type { HttpRequest } from '@azure/functions';
import Joi from 'joi';
import { uuidSchema } from '../kernel/command';
import { NotFound } from '../kernel/errors';
import {
  decodeCursor,
  encodeCursor,
  etagMatches,
  jsonResponse,
  jsonTextResponse,
  queryObject,
  validate,
  withProblemDetails,
} from '../kernel/http';
import type { QuerySpec } from '../kernel/ports';
import { collect, readThrough, remember, waitForVersion } from '../kernel/query';
import type { ServiceProvider, Services } from '../kernel/services';
import { BRAZILIAN_STATES, searchKey } from './domain/brazil';
import { boundingBox, distanceKm } from './domain/geo';
import { isOpenAt } from './domain/opening-hours';
import { PHARMACY_SERVICES } from './domain/pharmacy';
import {
  PHARMACIES_CONTAINER,
  PHARMACIES_GENERATION,
  pharmacyCacheKey,
  type PharmacyDocument,
} from './projection';

/** The API's view of a pharmacy: the document without search keys, with openNow for `now`. */
export function presentPharmacy(document: PharmacyDocument, now: Date) {
  const { cityKey: _cityKey, ...pharmacy } = document;
  return { ...pharmacy, openNow: isOpenAt(document.openingHours, document.timeZone, now) };
}

const renderings = new WeakMap<PharmacyDocument, { openNow: boolean; json: string }>();

/**
 * The by-id answer, serialised once per cached document and openNow state: a cache hit
 * hands back the same document object, so the hottest read skips the serialisation.
 */
function render(document: PharmacyDocument, now: Date): { openNow: boolean; json: string } {
  const openNow = isOpenAt(document.openingHours, document.timeZone, now);
  let rendering = renderings.get(document);
  if (rendering?.openNow !== openNow) {
    rendering = { openNow, json: JSON.stringify({ ...presentPharmacy(document, now), openNow }) };
    renderings.set(document, rendering);
  }
  return rendering;
}

const minVersionSchema = Joi.number().integer().min(1).max(Number.MAX_SAFE_INTEGER);
const limit = (fallback: number, max: number) => Joi.number().integer().min(1).max(max).default(fallback);

const listSchema = Joi.object({
  state: Joi.string().uppercase().valid(...BRAZILIAN_STATES),
  city: Joi.string().trim().min(1).max(100),
  service: Joi.string().valid(...PHARMACY_SERVICES),
  status: Joi.string().valid('active', 'closed').default('active'),
  openNow: Joi.boolean(),
  limit: limit(20, 100),
  cursor: Joi.string().max(512),
});

const nearbySchema = Joi.object({
  lat: Joi.number().min(-90).max(90).required(),
  lon: Joi.number().min(-180).max(180).required(),
  radiusKm: Joi.number().greater(0).max(50).default(5),
  openNow: Joi.boolean(),
  limit: limit(20, 100),
});

const noParameters = Joi.object({});
const historySchema = Joi.object({ limit: limit(100, 500), cursor: Joi.string().max(512) });

const listCursorSchema = Joi.object({ after: Joi.string().max(64).required() });
const historyCursorSchema = Joi.object({ afterVersion: Joi.number().integer().min(0).required() });

/** Nearby searches scan a bounding box; this bounds the documents one box may bring back. */
const MAX_BOX_DOCUMENTS = 5_000;
/** How many store pages a filtered list reads before it answers with a cursor. */
const MAX_LIST_SCANS = 5;

function container(services: Services) {
  return services.readStore.container<PharmacyDocument>(PHARMACIES_CONTAINER.name);
}

function minVersionOf(request: HttpRequest): number | undefined {
  const header = request.headers.get('x-min-version');
  return header === null ? undefined : validate(minVersionSchema, header, 'query');
}

interface ListFilters {
  state?: string;
  city?: string;
  service?: string;
  status: 'active' | 'closed';
}

function listQuery(filters: ListFilters, after: string): QuerySpec {
  const conditions = ['c.id > @after', 'c.status = @status'];
  const parameters: QuerySpec['parameters'] = [
    { name: '@after', value: after },
    { name: '@status', value: filters.status },
  ];
  if (filters.state) {
    conditions.push('c.address.state = @state');
    parameters.push({ name: '@state', value: filters.state });
  }
  if (filters.city) {
    conditions.push('c.cityKey = @city');
    parameters.push({ name: '@city', value: searchKey(filters.city) });
  }
  if (filters.service) {
    conditions.push('ARRAY_CONTAINS(c.services, @service)');
    parameters.push({ name: '@service', value: filters.service });
  }
  return { query: `SELECT * FROM c WHERE ${conditions.join(' AND ')} ORDER BY c.id`, parameters };
}

export function pharmacyQueries(services: ServiceProvider) {
  return {
    byId: withProblemDetails(async (request) => {
      const s = await services();
      const id = validate(uuidSchema, request.params.id, 'path');
      validate(noParameters, queryObject(request), 'query');
      const minVersion = minVersionOf(request);
      const load = async () => (await container(s).get(id))?.document;
      let { value: document, cache } = await readThrough(s, pharmacyCacheKey(id), load);
      if (minVersion !== undefined && (document?.version ?? 0) < minVersion) {
        const caughtUp = await waitForVersion(s, load, minVersion);
        if (caughtUp) {
          document = caughtUp;
          cache = 'miss';
          await remember(s, pharmacyCacheKey(id), caughtUp);
        }
      }
      if (!document) throw new NotFound(`no pharmacy ${id}`);
      const { openNow, json } = render(document, s.clock.now());
      const etag = `"${document.version}-${openNow ? 'open' : 'closed'}"`;
      const headers = { etag, 'x-cache': cache, 'cache-control': 'no-cache' };
      if (etagMatches(request.headers.get('if-none-match'), etag)) return { status: 304, headers };
      return jsonTextResponse(200, json, headers);
    }),

    list: withProblemDetails(async (request) => {
      const s = await services();
      const { limit, cursor, openNow, ...filters } = validate(listSchema, queryObject(request), 'query');
      const now = s.clock.now();
      const matches = (d: PharmacyDocument) => openNow === undefined || isOpenAt(d.openingHours, d.timeZone, now) === openNow;
      // A page of the store, cached per position; openNow is applied after the cache.
      const scan = async (after: string, size: number) =>
        (
          await readThrough(
            s,
            `pharmacies:list:${JSON.stringify(filters)}:${after}:${size}`,
            () => collect(container(s), listQuery(filters, after), size),
            PHARMACIES_GENERATION,
          )
        ).value ?? [];

      const items: PharmacyDocument[] = [];
      let after = decodeCursor(cursor, listCursorSchema)?.after ?? '';
      let exhausted = false;
      for (let pass = 0; pass < MAX_LIST_SCANS && items.length <= limit && !exhausted; pass++) {
        const size = openNow === undefined ? limit + 1 : Math.max(50, limit + 1);
        const batch = await scan(after, size);
        exhausted = batch.length < size;
        for (const document of batch) {
          if (items.length > limit) break;
          after = document.id;
          if (matches(document)) items.push(document);
        }
      }
      const page = items.slice(0, limit);
      const more = items.length > limit || !exhausted;
      const last = items.length > limit ? page[page.length - 1].id : after;
      return jsonResponse(200, {
        items: page.map((document) => presentPharmacy(document, now)),
        nextCursor: more ? encodeCursor({ after: last }) : null,
      });
    }),

    nearby: withProblemDetails(async (request) => {
      const s = await services();
      const { lat, lon, radiusKm, openNow, limit } = validate(nearbySchema, queryObject(request), 'query');
      const box = boundingBox({ lat, lon }, radiusKm);
      const spec: QuerySpec = {
        query:
          "SELECT * FROM c WHERE c.status = 'active' AND c.location.lat >= @minLat AND c.location.lat <= @maxLat" +
          ' AND c.location.lon >= @minLon AND c.location.lon <= @maxLon',
        parameters: Object.entries(box).map(([name, value]) => ({ name: `@${name}`, value })),
      };
      const { value: documents = [], cache } = await readThrough(
        s,
        `pharmacies:box:${Object.values(box).join(':')}`,
        () => collect(container(s), spec, MAX_BOX_DOCUMENTS),
        PHARMACIES_GENERATION,
      );
      const now = s.clock.now();
      const items = documents
        .map((document) => ({ document, distance: distanceKm({ lat, lon }, document.location) }))
        .filter(({ distance }) => distance <= radiusKm)
        .map(({ document, distance }) => ({ ...presentPharmacy(document, now), distanceKm: Math.round(distance * 1000) / 1000 }))
        .filter((pharmacy) => openNow === undefined || pharmacy.openNow === openNow)
        .sort((a, b) => a.distanceKm - b.distanceKm || a.id.localeCompare(b.id))
        .slice(0, limit);
      return jsonResponse(200, { items }, { 'x-cache': cache });
    }),

    history: withProblemDetails(async (request) => {
      const s = await services();
      const id = validate(uuidSchema, request.params.id, 'path');
      const { limit, cursor } = validate(historySchema, queryObject(request), 'query');
      const afterVersion = decodeCursor(cursor, historyCursorSchema)?.afterVersion ?? 0;
      const events = await s.eventStore.readStream(`pharmacy-${id}`, { afterVersion, limit: limit + 1 });
      if (events.length === 0 && afterVersion === 0) throw new NotFound(`no pharmacy ${id}`);
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
    }),
  };
}
