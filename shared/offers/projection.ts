import type { DocumentProjection } from '../kernel/projection';
import { pharmacyLocation, type BoundingBox, type GeoPoint } from '../pharmacies/published';
import type { ReadDocument, StoredEvent } from '../kernel/ports';
import { OFFER_EVENT_TYPES, type OfferEvent, type OfferTerms, type WithdrawalReason } from './domain/offer';

/** Offers by id: what `GET /offers/{id}` and the expiry timer read. */
export const OFFERS_CONTAINER = { name: 'offers', partitionKeyPath: '/id' };
/**
 * The same documents partitioned by product: "cheapest near me" reads one product's
 * offers, so its query stays in one partition at any size (a product's offers across the
 * country are tens of megabytes, far below a partition's 20 GB).
 */
export const OFFERS_BY_PRODUCT_CONTAINER = { name: 'offers-by-product', partitionKeyPath: '/productId' };
/** And by pharmacy: a pharmacy's offers page reads one partition. */
export const OFFERS_BY_PHARMACY_CONTAINER = {
  name: 'offers-by-pharmacy',
  partitionKeyPath: '/pharmacyId',
  compositeIndexes: [['/pharmacyId', '/status', '/id']],
};
/**
 * Offer lists are per product (near a point) and per pharmacy: an offer's change retires
 * only those two, so a partner feed writing other products' prices leaves "near me" cached.
 */
export const offersOfProductGeneration = (productId: string) => `gen:offers:product:${productId}`;
export const offersOfPharmacyGeneration = (pharmacyId: string) => `gen:offers:pharmacy:${pharmacyId}`;

/**
 * "Near me" lists are retired per product and coarse cell (0.1°, about 11 km), so a
 * partner feed in one city leaves the product's lists elsewhere cached. A search reads
 * the counters of the cells its box covers, and the product's own (bumped instead when an
 * offer's pharmacy cannot be placed).
 */
const CELLS_PER_DEGREE = 10;
export const cellOf = (point: GeoPoint) => `${Math.floor(point.lat * CELLS_PER_DEGREE)}:${Math.floor(point.lon * CELLS_PER_DEGREE)}`;
export const offersOfProductInCellGeneration = (productId: string, cell: string) => `gen:offers:product:${productId}:cell:${cell}`;

/** The 0.1° cells a box covers: [minLat, maxLat, minLon, maxLon] in cell numbers. */
const cellRange = (bounds: BoundingBox) =>
  [bounds.minLat, bounds.maxLat, bounds.minLon, bounds.maxLon].map((degrees) => Math.floor(degrees * CELLS_PER_DEGREE)) as [number, number, number, number];

/**
 * Names the set of counters a "near me" entry's generation sums: it belongs in the entry's
 * key, since a sum only tells a change from the same counters (two boxes with the same
 * pharmacies but different cells would otherwise share an entry, and one's extra cell could
 * offset the other's bump).
 */
export const nearMeCells = (bounds: BoundingBox) => cellRange(bounds).join(':');

/** The generations a "near me" list of this product over this box depends on. */
export function nearMeGenerations(productId: string, bounds: BoundingBox): string[] {
  const keys = [offersOfProductGeneration(productId)];
  const [minLat, maxLat, minLon, maxLon] = cellRange(bounds);
  for (let lat = minLat; lat <= maxLat; lat++) {
    for (let lon = minLon; lon <= maxLon; lon++) {
      keys.push(offersOfProductInCellGeneration(productId, `${lat}:${lon}`));
    }
  }
  return keys;
}
export const offerCacheKey = (id: string) => `offer:${id}`;

export interface OfferDocument extends ReadDocument, OfferTerms {
  pharmacyId: string;
  productId: string;
  /** Whole percent off the list price; 0 without one. */
  discountPercent: number;
  status: 'active' | 'withdrawn' | 'expired';
  withdrawalReason?: WithdrawalReason;
  publishedAt: string;
  updatedAt: string;
}

export function discountPercent(terms: { priceCents: number; listPriceCents?: number }): number {
  return terms.listPriceCents ? Math.round((1 - terms.priceCents / terms.listPriceCents) * 100) : 0;
}

function withTerms(document: OfferDocument, terms: OfferTerms): OfferDocument {
  const { listPriceCents: _list, ...rest } = document;
  return { ...rest, ...terms, discountPercent: discountPercent(terms) };
}

function applyOfferEvent(document: OfferDocument | undefined, stored: StoredEvent): OfferDocument | undefined {
  const event = stored as unknown as OfferEvent;
  const stamp = { version: stored.version, updatedAt: stored.occurredAt };
  if (event.type === 'OfferPublished') {
    const { offerId, pharmacyId, productId, publishedAt, ...terms } = event.data;
    return { id: offerId, pharmacyId, productId, ...terms, discountPercent: discountPercent(terms), status: 'active', publishedAt, ...stamp };
  }
  if (!document) return undefined;
  switch (event.type) {
    case 'OfferRevised': {
      const { offerId: _id, revisedAt: _at, ...terms } = event.data;
      const { withdrawalReason: _reason, ...rest } = document;
      return { ...withTerms(rest as OfferDocument, terms), status: 'active', ...stamp };
    }
    case 'OfferPriceChanged': {
      const { offerId: _id, changedAt: _at, ...price } = event.data;
      const { validFrom, validUntil, stock } = document;
      return { ...withTerms(document, { ...price, validFrom, validUntil, stock }), ...stamp };
    }
    case 'OfferWithdrawn':
      return { ...document, status: 'withdrawn', withdrawalReason: event.data.reason, ...stamp };
    case 'OfferExpired':
      return { ...document, status: 'expired', ...stamp };
    default:
      return { ...document, ...stamp };
  }
}

export const offersProjection: DocumentProjection<OfferDocument> = {
  name: 'offersProjector',
  subscription: 'offers-read',
  container: OFFERS_CONTAINER,
  streamPrefix: 'offer-',
  eventTypes: OFFER_EVENT_TYPES,
  apply: applyOfferEvent,
  cacheKeys: (id) => [offerCacheKey(id)],
  // The lists read the containers below: their projectors retire them once written there.
  cacheGenerations: () => [],
};

/** The product and pharmacy of an offer never change: its first event names both. */
const publishedFor = (first: StoredEvent) => (first as unknown as Extract<OfferEvent, { type: 'OfferPublished' }>).data;

export const offersByProductProjection: DocumentProjection<OfferDocument> = {
  name: 'offersByProductProjector',
  subscription: 'offers-by-product-read',
  container: OFFERS_BY_PRODUCT_CONTAINER,
  streamPrefix: 'offer-',
  eventTypes: OFFER_EVENT_TYPES,
  apply: applyOfferEvent,
  cacheKeys: () => [],
  cacheGenerations: async (offer, services) => {
    // A read through the cache (a pharmacy's place seldom changes); unplaced, the product's lists everywhere go.
    const location = await pharmacyLocation(services, offer.pharmacyId).catch(() => undefined);
    return [location ? offersOfProductInCellGeneration(offer.productId, cellOf(location)) : offersOfProductGeneration(offer.productId)];
  },
  partitionKeyOf: (first) => publishedFor(first).productId,
};

export const offersByPharmacyProjection: DocumentProjection<OfferDocument> = {
  name: 'offersByPharmacyProjector',
  subscription: 'offers-by-pharmacy-read',
  container: OFFERS_BY_PHARMACY_CONTAINER,
  streamPrefix: 'offer-',
  eventTypes: OFFER_EVENT_TYPES,
  apply: applyOfferEvent,
  cacheKeys: () => [],
  cacheGenerations: (offer) => [offersOfPharmacyGeneration(offer.pharmacyId)],
  partitionKeyOf: (first) => publishedFor(first).pharmacyId,
};
