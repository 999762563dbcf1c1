import { createHash } from 'node:crypto';
import Joi from 'joi';
import { jsonResponse, queryObject, validate, withProblemDetails } from '../kernel/http';
import type { QuerySpec } from '../kernel/ports';
import { collect, readThrough } from '../kernel/query';
import { byIdHandler, historyHandler, keysetPage, limitSchema, type DocumentView } from '../kernel/read-handlers';
import type { ServiceProvider, Services } from '../kernel/services';
import { BRAZIL_EXTENT, BRAZILIAN_STATES } from '../kernel/brazil';
import { searchKey } from '../kernel/text';
import { boundingBox, boxPolygon, distanceKm, inBox, type BoundingBox, type GeoPoint } from './domain/geo';
import { isOpenAt } from './domain/opening-hours';
import { PHARMACY_SERVICES } from './domain/pharmacy';
import {
  PHARMACIES_CONTAINER,
  PHARMACIES_GENERATION,
  pharmacyCacheKey,
  type PharmacyDocument,
} from './projection';

/** Open at `now`: a pharmacy closed for good keeps its hours (for reopening) but opens at none of them. */
function isOpenNow(document: PharmacyDocument, now: Date): boolean {
  return document.status === 'active' && isOpenAt(document.openingHours, document.timeZone, now);
}

/** The API's view of a pharmacy: the document without search keys, with openNow for `now`. */
export function presentPharmacy(document: PharmacyDocument, now: Date) {
  const { cityKey: _cityKey, position: _position, ...pharmacy } = document;
  return { ...pharmacy, openNow: isOpenNow(document, now) };
}

const pharmacyView: DocumentView<PharmacyDocument> = {
  noun: 'pharmacy',
  container: PHARMACIES_CONTAINER.name,
  cacheKey: pharmacyCacheKey,
  // openNow is computed at read time, so the ETag names it: a 304 must not keep "open" after closing.
  variant: (document, now) => (isOpenNow(document, now) ? 'open' : 'closed'),
  present: presentPharmacy,
};

const listSchema = Joi.object({
  state: Joi.string().uppercase().valid(...BRAZILIAN_STATES),
  city: Joi.string().trim().min(1).max(100),
  service: Joi.string().valid(...PHARMACY_SERVICES),
  status: Joi.string().valid('active', 'closed').default('active'),
  openNow: Joi.boolean(),
  limit: limitSchema(20, 100),
  cursor: Joi.string().max(512),
});

const nearbySchema = Joi.object({
  lat: Joi.number().min(BRAZIL_EXTENT.minLat).max(BRAZIL_EXTENT.maxLat).required(),
  lon: Joi.number().min(BRAZIL_EXTENT.minLon).max(BRAZIL_EXTENT.maxLon).required(),
  radiusKm: Joi.number().greater(0).max(50).default(5),
  openNow: Joi.boolean(),
  limit: limitSchema(20, 100),
});

/** Nearby searches read a bounding box; this bounds the documents one box may bring back. */
const MAX_BOX_DOCUMENTS = 5_000;
/** Wider than the ~90 m a 100 km great-circle edge bows (see boxPolygon); one grid step. */
const BOX_QUERY_MARGIN_DEGREES = 0.01;

function container(services: Services) {
  return services.readStore.container<PharmacyDocument>(PHARMACIES_CONTAINER.name);
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

/** The pharmacies of a searched area, sorted, and a short key for them. */
export interface SearchArea {
  key: string;
  pharmacyIds: readonly string[];
  /** The searched box (the circle widened to the grid). */
  bounds: BoundingBox;
}

interface PreparedBox {
  area: SearchArea;
  byId: Map<string, PharmacyDocument>;
}

// The box's documents come from the cache: the memory cache hands back the same array
// while the entry lives, so its index and area are worked out once, not on every search.
const preparedBoxes = new WeakMap<readonly PharmacyDocument[], PreparedBox>();

function prepared(documents: readonly PharmacyDocument[], bounds: BoundingBox): PreparedBox {
  let box = preparedBoxes.get(documents);
  if (!box) {
    const pharmacyIds = documents.map((pharmacy) => pharmacy.id).sort();
    // Each pharmacy's version too: results joined by pharmacy were retired under the cells it
    // stood in, so one that moved away and back (its offers changed elsewhere meanwhile) must
    // not find the entry cached before it left.
    const versions = documents.map((pharmacy) => `${pharmacy.id}@${pharmacy.version}`).sort();
    box = {
      area: { key: createHash('sha1').update(versions.join(',')).digest('base64url'), pharmacyIds, bounds },
      byId: new Map(documents.map((pharmacy) => [pharmacy.id, pharmacy])),
    };
    preparedBoxes.set(documents, box);
  }
  return box;
}

export interface PharmacyInReach {
  pharmacy: PharmacyDocument;
  distanceKm: number;
}

/**
 * The active pharmacies in a box, through the spatial index on their GeoJSON position. The
 * query's polygon is a little wider than the box (its edges are great circles); the cut to
 * the box itself is exact, so a search's area is the box's pharmacies and nothing more.
 */
async function activePharmaciesInBox(services: Services, box: BoundingBox): Promise<PharmacyDocument[]> {
  const spec: QuerySpec = {
    query: "SELECT * FROM c WHERE c.status = 'active' AND ST_WITHIN(c.position, @area)",
    parameters: [{ name: '@area', value: boxPolygon(box, BOX_QUERY_MARGIN_DEGREES) }],
  };
  return (await collect(container(services), spec, MAX_BOX_DOCUMENTS)).filter((pharmacy) => inBox(pharmacy.location, box));
}

/**
 * Active pharmacies within `radiusKm` of a point: a bounding-box query (cached per box on
 * a 0.01° grid), then exact distances, worked out only for what the caller asks: `within`
 * for one pharmacy (a join that stops at its top few), `closestFirst` for all of them.
 * Other contexts use it too ("where is this medicine cheapest near me"). `area` is every
 * active pharmacy of the box, the same for every point of the same grid cell and radius,
 * and changes only when those pharmacies do: results joined by pharmacy and cached under
 * it are shared by everyone searching from that cell.
 */
export async function activePharmaciesNear(services: Services, center: GeoPoint, radiusKm: number) {
  const box = boundingBox(center, radiusKm);
  const { value: documents = [], cache } = await readThrough(
    services,
    `pharmacies:box:${Object.values(box).join(':')}`,
    () => activePharmaciesInBox(services, box),
    PHARMACIES_GENERATION,
  );
  const { area, byId } = prepared(documents, box);
  const reach = (pharmacy: PharmacyDocument): PharmacyInReach | undefined => {
    const distance = Math.round(distanceKm(center, pharmacy.location) * 1000) / 1000;
    return distance <= radiusKm ? { pharmacy, distanceKm: distance } : undefined;
  };
  return {
    cache,
    area,
    within: (pharmacyId: string) => {
      const pharmacy = byId.get(pharmacyId);
      return pharmacy && reach(pharmacy);
    },
    closestFirst: (): PharmacyInReach[] =>
      documents
        .map(reach)
        .filter((entry) => entry !== undefined)
        .sort((a, b) => a.distanceKm - b.distanceKm || a.pharmacy.id.localeCompare(b.pharmacy.id)),
  };
}

export function pharmacyQueries(services: ServiceProvider) {
  return {
    byId: byIdHandler(services, pharmacyView),

    list: withProblemDetails(async (request) => {
      const s = await services();
      const { limit, cursor, openNow, ...filters } = validate(listSchema, queryObject(request), 'query');
      const now = s.clock.now();
      const page = await keysetPage<PharmacyDocument>(s, {
        container: PHARMACIES_CONTAINER.name,
        cacheKey: `pharmacies:list:${JSON.stringify(filters)}`,
        generation: PHARMACIES_GENERATION,
        query: (after) => listQuery(filters, after),
        keyOf: (document) => document.id,
        matches: openNow === undefined ? undefined : (d) => isOpenNow(d, now) === openNow,
        limit,
        cursor,
      });
      const items = page.items.map((document) => presentPharmacy(document, now));
      return jsonResponse(200, { items, nextCursor: page.nextCursor }, { 'x-cache': page.cache });
    }),

    nearby: withProblemDetails(async (request) => {
      const s = await services();
      const { lat, lon, radiusKm, openNow, limit } = validate(nearbySchema, queryObject(request), 'query');
      const near = await activePharmaciesNear(s, { lat, lon }, radiusKm);
      const now = s.clock.now();
      const items = near
        .closestFirst()
        .map(({ pharmacy, distanceKm }) => ({ ...presentPharmacy(pharmacy, now), distanceKm }))
        .filter((pharmacy) => openNow === undefined || pharmacy.openNow === openNow)
        .slice(0, limit);
      return jsonResponse(200, { items }, { 'x-cache': near.cache });
    }),

    history: historyHandler(services, 'pharmacy', (id) => `pharmacy-${id}`),
  };
}
