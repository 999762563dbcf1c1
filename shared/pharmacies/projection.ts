import type { DocumentProjection } from '../kernel/projection';
import type { ReadDocument, StoredEvent } from '../kernel/ports';
import { searchKey } from '../kernel/text';
import { geoJsonPoint } from './domain/geo';
import { PHARMACY_EVENT_TYPES, type PharmacyEvent, type PharmacyProfile } from './domain/pharmacy';

export const PHARMACIES_CONTAINER = {
  name: 'pharmacies',
  partitionKeyPath: '/id',
  // The list: status, then state or city, ordered by id (keyset paging).
  compositeIndexes: [
    ['/status', '/id'],
    ['/status', '/address/state', '/id'],
    ['/status', '/cityKey', '/id'],
  ],
  // "Near a point": ST_WITHIN on the location as GeoJSON, served by a spatial index.
  spatialIndexes: ['/position/?'],
};
export const PHARMACIES_GENERATION = 'gen:pharmacies';
export const pharmacyCacheKey = (id: string) => `pharmacy:${id}`;

/** The read model of one pharmacy: what the queries answer, plus lower-cased search keys. */
export interface PharmacyDocument extends ReadDocument, PharmacyProfile {
  status: 'active' | 'closed';
  registeredAt: string;
  updatedAt: string;
  cityKey: string;
  /** The location as a GeoJSON Point (derived from `location`), for the spatial index. */
  position: { type: 'Point'; coordinates: [number, number] };
}

/**
 * The event applied, with the GeoJSON position derived afresh from the location: a document
 * written before positions existed gains one with its next event (or the rebuild's repair).
 */
function applyPharmacyEvent(document: PharmacyDocument | undefined, stored: StoredEvent): PharmacyDocument | undefined {
  const next = applyToProfile(document, stored);
  return next && { ...next, position: geoJsonPoint(next.location) };
}

function applyToProfile(document: PharmacyDocument | undefined, stored: StoredEvent): Omit<PharmacyDocument, 'position'> | undefined {
  const event = stored as unknown as PharmacyEvent;
  const stamp = { version: stored.version, updatedAt: stored.occurredAt };
  if (event.type === 'PharmacyRegistered') {
    const { pharmacyId, registeredAt, ...profile } = event.data;
    return {
      id: pharmacyId,
      ...profile,
      status: 'active',
      registeredAt,
      cityKey: searchKey(profile.address.city),
      ...stamp,
    };
  }
  if (!document) return undefined;
  switch (event.type) {
    case 'PharmacyProfileChanged':
      return { ...document, ...event.data.changes, ...stamp };
    case 'PharmacyOpeningHoursChanged':
      return { ...document, openingHours: event.data.openingHours, ...stamp };
    case 'PharmacyRelocated':
      return {
        ...document,
        address: event.data.address,
        location: event.data.location,
        cityKey: searchKey(event.data.address.city),
        ...stamp,
      };
    case 'PharmacyClosed':
      return { ...document, status: 'closed', ...stamp };
    case 'PharmacyReopened':
      return { ...document, status: 'active', ...stamp };
    default:
      // Not one of ours: the stream moves on, the document keeps its content.
      return { ...document, ...stamp };
  }
}

export const pharmaciesProjection: DocumentProjection<PharmacyDocument> = {
  name: 'pharmaciesProjector',
  subscription: 'pharmacies-read',
  container: PHARMACIES_CONTAINER,
  streamPrefix: 'pharmacy-',
  eventTypes: PHARMACY_EVENT_TYPES,
  apply: applyPharmacyEvent,
  cacheKeys: (id) => [pharmacyCacheKey(id)],
  cacheGenerations: () => [PHARMACIES_GENERATION],
};
