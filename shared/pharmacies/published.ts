import { readThrough, type CacheOutcome, type ReadResult } from '../kernel/query';
import type { Services } from '../kernel/services';
import type { BoundingBox, GeoPoint } from './domain/geo';

export type { BoundingBox, GeoPoint };
import { isOpenAt } from './domain/opening-hours';
import type { PharmacyProfile } from './domain/pharmacy';
import { PHARMACIES_CONTAINER, pharmacyCacheKey, type PharmacyDocument } from './projection';
import { activePharmaciesNear as pharmaciesNear, type SearchArea } from './queries';

export type { SearchArea };

/**
 * What other contexts may use of Pharmacies: these functions and types, and nothing else
 * of this folder (its containers, cache keys and document shapes may change with it).
 */
export { pharmacyStatus } from './status';

/** A pharmacy as other contexts show it beside their own data; a closed one sells nothing until it reopens. */
export type PharmacySummary = { id: string; status: 'active' | 'closed' } & Pick<PharmacyProfile, 'tradeName' | 'address' | 'location' | 'openingHours' | 'timeZone'>;

/** A pharmacy within the searched circle, with its distance from the centre. */
export interface PharmacyInReach {
  pharmacy: PharmacySummary;
  distanceKm: number;
}

/**
 * Active pharmacies within `radiusKm` of a point: `within(id)` for one (undefined when it
 * is not active or not in the circle), `closestFirst()` for all; and the searched area
 * (every active pharmacy of the grid box: a cache key shared by all points of the same
 * cell and radius). What it hands back is shared with the cache, so read-only.
 */
export const activePharmaciesNear: (
  services: Services,
  center: GeoPoint,
  radiusKm: number,
) => Promise<{
  cache: CacheOutcome;
  area: SearchArea;
  within(pharmacyId: string): PharmacyInReach | undefined;
  closestFirst(): readonly PharmacyInReach[];
}> = pharmaciesNear;

/** Whether the pharmacy is open at `now`, in its own time zone. */
export function isPharmacyOpenAt(pharmacy: PharmacySummary, now: Date): boolean {
  return isOpenAt(pharmacy.openingHours, pharmacy.timeZone, now);
}

/**
 * Where a pharmacy is (undefined when none has that id), through the cache: a projector
 * of another context files what it writes under the pharmacy's place.
 */
export async function pharmacyLocation(services: Services, id: string): Promise<GeoPoint | undefined> {
  return (await pharmacySummary(services, id)).value?.location;
}

/** One pharmacy, active or closed, through the cache (undefined when none has that id). */
export async function pharmacySummary(services: Services, id: string): Promise<ReadResult<PharmacySummary>> {
  return readThrough(services, pharmacyCacheKey(id), async () => (await services.readStore.container<PharmacyDocument>(PHARMACIES_CONTAINER.name).get(id))?.document);
}
