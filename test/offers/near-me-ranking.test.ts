import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nearMeAnswerText } from '../../shared/offers/listing';
import { rankNearMe, type RankedOffer } from '../../shared/offers/near-me';
import type { OfferDocument } from '../../shared/offers/projection';
import type { PharmacyInReach, PharmacySummary } from '../../shared/pharmacies/published';
import { isPharmacyOpenAt } from '../../shared/pharmacies/published';

const NOW = new Date('2026-11-27T12:00:00Z');

/** A small deterministic generator: the same cases on every run. */
function random(seed: number) {
  return () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
}

function world(seed: number) {
  const next = random(seed);
  const pick = <T>(values: readonly T[]) => values[Math.floor(next() * values.length)];
  const pharmacies: PharmacySummary[] = Array.from({ length: 60 }, (_, index) => ({
    id: `p-${String(index).padStart(3, '0')}`,
    status: 'active',
    tradeName: `Drogaria ${index}`,
    address: { street: 'Rua A', number: '1', district: 'Centro', city: 'São Paulo', state: 'SP', postalCode: '01000-000' },
    location: { lat: -23.5, lon: -46.6 },
    timeZone: 'America/Sao_Paulo',
    openingHours: pick([[], [{ day: 'fri' as const, opens: '08:00', closes: '22:00' }]]),
  }));
  // Few distinct distances and prices: ties on both, the case a walk that stops early can get wrong.
  const distances = new Map(pharmacies.map((pharmacy) => [pharmacy.id, pick([0.5, 1, 1, 2.25, 3, 7])]));
  const offers: OfferDocument[] = pharmacies.map((pharmacy, index) => ({
    id: `o-${index}`,
    version: 1,
    pharmacyId: pharmacy.id,
    productId: 'product',
    priceCents: pick([990, 1000, 1000, 1250, 1500]),
    discountPercent: 0,
    stock: pick(['in_stock', 'low', 'out_of_stock'] as const),
    validFrom: pick(['2026-01-01T00:00:00Z', '2026-12-01T00:00:00Z']),
    validUntil: pick(['2026-11-27T12:00:00Z', '2027-01-01T00:00:00Z']),
    status: pick(['active', 'active', 'active', 'withdrawn'] as const),
    publishedAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
  }));
  const reach = (pharmacy: PharmacySummary): PharmacyInReach | undefined => {
    const distanceKm = distances.get(pharmacy.id)!;
    return distanceKm <= 5 ? { pharmacy, distanceKm } : undefined;
  };
  const near = {
    within: (id: string) => reach(pharmacies.find((pharmacy) => pharmacy.id === id)!),
    closestFirst: () =>
      pharmacies
        .map(reach)
        .filter((entry) => entry !== undefined)
        .sort((a, b) => a.distanceKm - b.distanceKm || a.pharmacy.id.localeCompare(b.pharmacy.id)),
  };
  return { offers, near };
}

/** What the ranking must equal: every offer joined, filtered and sorted, then cut. */
function everyOfferRanked(offers: OfferDocument[], near: ReturnType<typeof world>['near'], sort: 'price' | 'distance', openNow: boolean | undefined, limit: number) {
  const at = NOW.getTime();
  return near
    .closestFirst()
    .flatMap((reach) => offers.filter((offer) => offer.pharmacyId === reach.pharmacy.id).map((offer) => ({ offer, ...reach, openNow: isPharmacyOpenAt(reach.pharmacy, NOW) })))
    .filter(({ offer }) => offer.status === 'active' && Date.parse(offer.validFrom) <= at && at < Date.parse(offer.validUntil) && offer.stock !== 'out_of_stock')
    .filter((entry) => openNow === undefined || entry.openNow === openNow)
    .sort((a, b) =>
      sort === 'price' ? a.offer.priceCents - b.offer.priceCents || a.distanceKm - b.distanceKm : a.distanceKm - b.distanceKm || a.offer.priceCents - b.offer.priceCents,
    )
    .slice(0, limit);
}

/** Ties may come in either order: compare what decides the ranking. */
const shape = (ranked: { offer: OfferDocument; distanceKm: number; openNow: boolean }[]) => ranked.map(({ offer, distanceKm, openNow }) => `${offer.priceCents}@${distanceKm}:${openNow}`);

describe('"Near me" ranking: stops at its top limit and answers what ranking every offer would (issue 14, item 2)', () => {
  it('given 200 generated cities with ties in price and distance, every sort, filter and limit agrees with ranking every offer', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const { offers, near } = world(seed);
      for (const sort of ['price', 'distance'] as const) {
        for (const openNow of [undefined, true, false]) {
          for (const limit of [1, 3, 10, 100]) {
            const fast = rankNearMe(offers, near, { now: NOW, sort, openNow, limit });
            const slow = everyOfferRanked(offers, near, sort, openNow, limit);
            assert.deepEqual(shape(fast), shape(slow), `seed ${seed}, sort ${sort}, openNow ${openNow}, limit ${limit}`);
            assert.equal(new Set(fast.map(({ offer }) => offer.id)).size, fast.length, 'no offer twice');
          }
        }
      }
    }
  });

  it('given two pharmacies at the same distance with the same price, when the store hands their offers back in either order, then the cheapest search names the same one', () => {
    const { offers, near } = world(1);
    const [first, second] = near.closestFirst();
    const twin = (pharmacyId: string, id: string): OfferDocument => ({
      ...offers[0], id, pharmacyId, priceCents: 100, stock: 'in_stock', status: 'active', validFrom: '2026-01-01T00:00:00Z', validUntil: '2027-01-01T00:00:00Z',
    });
    const tiedNear = { ...near, within: (id: string) => (id === first.pharmacy.id ? first : id === second.pharmacy.id ? { ...second, distanceKm: first.distanceKm } : undefined) };
    const pair = [twin(first.pharmacy.id, 'o-a'), twin(second.pharmacy.id, 'o-b')];
    const winner = (list: OfferDocument[]) => rankNearMe(list, tiedNear, { now: NOW, sort: 'price', limit: 1 })[0].pharmacy.id;
    assert.equal(winner(pair), winner([...pair].reverse()));
  });

  it('given a cached offers array, a second search with another clock sees validity as of its own now', () => {
    const { offers, near } = world(7);
    const before = rankNearMe(offers, near, { now: new Date('2026-06-01T00:00:00Z'), sort: 'price', limit: 100 });
    const after = rankNearMe(offers, near, { now: new Date('2026-12-15T00:00:00Z'), sort: 'price', limit: 100 });
    assert.ok(before.every(({ offer }) => offer.validFrom === '2026-01-01T00:00:00Z'));
    assert.ok(after.some(({ offer }) => offer.validFrom === '2026-12-01T00:00:00Z'), 'offers that start in December count in December');
  });
});

const PRODUCT = { id: 'product', name: 'Dipirona "gotas"', presentation: '500 mg/mL, 20 mL', gtin: '7891234567895' };

/** The answer as the handler built it before it was rendered from parts: every field spelled out, then serialised. */
function serialisedAnswer(ranked: RankedOffer[]) {
  const items = ranked.map(({ offer, pharmacy, distanceKm, openNow }) => ({
    offerId: offer.id,
    priceCents: offer.priceCents,
    listPriceCents: offer.listPriceCents ?? null,
    discountPercent: offer.discountPercent,
    stock: offer.stock,
    validUntil: offer.validUntil,
    distanceKm,
    pharmacy: { id: pharmacy.id, tradeName: pharmacy.tradeName, address: pharmacy.address, location: pharmacy.location, openingHours: pharmacy.openingHours, timeZone: pharmacy.timeZone, openNow },
  }));
  return JSON.stringify({ product: PRODUCT, items });
}

describe('"Near me" answer text: rendered from parts kept per document, the same text as serialising the answer', () => {
  it('given 200 generated cities, every sort, filter and limit renders what JSON.stringify gives, twice over (the kept parts reused)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const { offers, near } = world(seed);
      for (const sort of ['price', 'distance'] as const) {
        for (const openNow of [undefined, true, false]) {
          const ranked = rankNearMe(offers, near, { now: NOW, sort, openNow, limit: 20 });
          assert.equal(nearMeAnswerText(PRODUCT, ranked), serialisedAnswer(ranked), `seed ${seed}, sort ${sort}, openNow ${openNow}`);
          assert.equal(nearMeAnswerText(PRODUCT, ranked), serialisedAnswer(ranked), `seed ${seed} again`);
        }
      }
    }
  });

  it('given text that JSON must escape, a list price, an odd distance and no items, the text still parses to the answer', () => {
    const pharmacy: PharmacySummary = {
      id: 'p-1',
      status: 'active',
      tradeName: 'Drogaria "Boa" \\ Saúde\n\u2028',
      address: { street: 'Rua "A"', number: '1', district: 'Centro', city: 'São Paulo', state: 'SP', postalCode: '01000-000' },
      location: { lat: -23.5, lon: -46.6 },
      timeZone: 'America/Sao_Paulo',
      openingHours: [],
    };
    const { offers } = world(3);
    const offer = { ...offers[0], listPriceCents: 1_990, discountPercent: 50 };
    const ranked: RankedOffer[] = [{ offer, pharmacy, distanceKm: 0.1 + 0.2, openNow: false }];
    assert.equal(nearMeAnswerText(PRODUCT, ranked), serialisedAnswer(ranked));
    assert.deepEqual(JSON.parse(nearMeAnswerText(PRODUCT, ranked)).items[0].pharmacy.tradeName, pharmacy.tradeName);
    assert.equal(nearMeAnswerText(PRODUCT, []), serialisedAnswer([]));
  });
});
