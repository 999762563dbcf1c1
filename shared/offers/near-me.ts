import { isPharmacyOpenAt, type PharmacyInReach, type PharmacySummary } from '../pharmacies/published';
import type { OfferDocument } from './projection';

interface Candidate {
  offer: OfferDocument;
  validFrom: number;
  validUntil: number;
}

interface PreparedOffers {
  cheapestFirst: Candidate[];
  byPharmacy: Map<string, Candidate>;
}

// Offers of a product in an area come from the cache, the same array while the entry
// lives: sorted and parsed once, so a cached search walks only as far as its top `limit`.
const preparedOffers = new WeakMap<readonly OfferDocument[], PreparedOffers>();

function prepared(offers: readonly OfferDocument[]): PreparedOffers {
  let ready = preparedOffers.get(offers);
  if (!ready) {
    const candidates = offers.map((offer) => ({ offer, validFrom: Date.parse(offer.validFrom), validUntil: Date.parse(offer.validUntil) }));
    ready = {
      cheapestFirst: [...candidates].sort((a, b) => a.offer.priceCents - b.offer.priceCents),
      byPharmacy: new Map(candidates.map((candidate) => [candidate.offer.pharmacyId, candidate])),
    };
    preparedOffers.set(offers, ready);
  }
  return ready;
}

export interface RankedOffer extends PharmacyInReach {
  offer: OfferDocument;
  openNow: boolean;
}

export interface NearMeQuery {
  now: Date;
  sort: 'price' | 'distance';
  openNow?: boolean;
  limit: number;
}

/**
 * The top `limit` offers on sale at pharmacies in reach, cheapest first (then closest) or
 * closest first (then cheapest), a full tie in the pharmacy's id order. Walks the prepared
 * order and stops once `limit` are found and the next can no longer tie: at a city's
 * density that is a few dozen offers of the thousands in the area.
 */
export function rankNearMe(
  offers: readonly OfferDocument[],
  near: { within(pharmacyId: string): PharmacyInReach | undefined; closestFirst(): readonly PharmacyInReach[] },
  query: NearMeQuery,
): RankedOffer[] {
  const at = query.now.getTime();
  const { cheapestFirst, byPharmacy } = prepared(offers);
  const openAt = new Map<string, boolean>();
  const isOpen = (pharmacy: PharmacySummary) => {
    let open = openAt.get(pharmacy.id);
    if (open === undefined) openAt.set(pharmacy.id, (open = isPharmacyOpenAt(pharmacy, query.now)));
    return open;
  };
  const onSale = ({ offer, validFrom, validUntil }: Candidate) =>
    offer.status === 'active' && validFrom <= at && at < validUntil && offer.stock !== 'out_of_stock';
  const ranked = (candidate: Candidate, reach: PharmacyInReach): RankedOffer | undefined => {
    const openNow = isOpen(reach.pharmacy);
    if (query.openNow !== undefined && openNow !== query.openNow) return undefined;
    return { offer: candidate.offer, ...reach, openNow };
  };
  const picked: RankedOffer[] = [];
  if (query.sort === 'price') {
    for (const candidate of cheapestFirst) {
      if (picked.length >= query.limit && candidate.offer.priceCents > picked[picked.length - 1].offer.priceCents) break;
      if (!onSale(candidate)) continue;
      const reach = near.within(candidate.offer.pharmacyId);
      const entry = reach && ranked(candidate, reach);
      if (entry) picked.push(entry);
    }
    // The pharmacy's id settles a full tie, as closestFirst does: the store's order is no order.
    return picked
      .sort((a, b) => a.offer.priceCents - b.offer.priceCents || a.distanceKm - b.distanceKm || a.pharmacy.id.localeCompare(b.pharmacy.id))
      .slice(0, query.limit);
  }
  for (const reach of near.closestFirst()) {
    if (picked.length >= query.limit && reach.distanceKm > picked[picked.length - 1].distanceKm) break;
    const candidate = byPharmacy.get(reach.pharmacy.id);
    const entry = candidate && onSale(candidate) ? ranked(candidate, reach) : undefined;
    if (entry) picked.push(entry);
  }
  return picked.sort((a, b) => a.distanceKm - b.distanceKm || a.offer.priceCents - b.offer.priceCents).slice(0, query.limit);
}
