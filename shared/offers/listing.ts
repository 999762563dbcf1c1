import type { ProductSummary } from '../catalog/published';
import type { PharmacySummary } from '../pharmacies/published';
import type { RankedOffer } from './near-me';
import type { OfferDocument } from './projection';

/** An offer as listings show it, beside its pharmacy or its product. */
export function offerSummary(offer: OfferDocument) {
  return {
    offerId: offer.id,
    priceCents: offer.priceCents,
    listPriceCents: offer.listPriceCents ?? null,
    discountPercent: offer.discountPercent,
    stock: offer.stock,
    validUntil: offer.validUntil,
  };
}

/** A pharmacy as a "near me" item shows it (its hours too: a customer asks when it opens), but for `openNow`, which is the search's own. */
function pharmacyOfItem(pharmacy: PharmacySummary) {
  return { id: pharmacy.id, tradeName: pharmacy.tradeName, address: pharmacy.address, location: pharmacy.location, openingHours: pharmacy.openingHours, timeZone: pharmacy.timeZone };
}

/**
 * The JSON text of an object without its closing brace, kept per object: the documents of
 * a cached search are the same objects while the entry lives (the memory cache hands back
 * what it holds), so each offer and pharmacy is serialised once, not on every search; the
 * fields that vary by search are appended after it. A changed document is a new object.
 */
function openText<T extends object>(texts: WeakMap<T, string>, of: T, shown: (of: T) => object): string {
  let text = texts.get(of);
  if (text === undefined) {
    text = JSON.stringify(shown(of)).slice(0, -1);
    texts.set(of, text);
  }
  return text;
}

const offerTexts = new WeakMap<OfferDocument, string>();
const pharmacyTexts = new WeakMap<PharmacySummary, string>();

/** One item as text: what `JSON.stringify` gives of `{ ...offerSummary, distanceKm, pharmacy: { ..., openNow } }`. */
function nearMeItemText({ offer, pharmacy, distanceKm, openNow }: RankedOffer): string {
  const offerPart = openText(offerTexts, offer, offerSummary);
  const pharmacyPart = openText(pharmacyTexts, pharmacy, pharmacyOfItem);
  return `${offerPart},"distanceKm":${JSON.stringify(distanceKm)},"pharmacy":${pharmacyPart},"openNow":${openNow}}}`;
}

/**
 * The "near me" answer as JSON text, `{ product, items }`, built from the parts kept per
 * document: serialising the whole answer on every call was the largest cost of a cached
 * search. The same text `JSON.stringify` gives of the answer object (a test holds it so).
 */
export function nearMeAnswerText(product: ProductSummary, ranked: readonly RankedOffer[]): string {
  return `{"product":${JSON.stringify(product)},"items":[${ranked.map(nearMeItemText).join(',')}]}`;
}
