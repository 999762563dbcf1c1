import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoProducts } from '../../local/demo-products';
import { distanceKm } from '../../shared/pharmacies/domain/geo';
import type { Services } from '../../shared/kernel/services';
import { offerQueries } from '../../shared/offers/queries';
import { countingReads } from '../support/counting-reads';
import { testApp } from '../support/app';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

const DAY = 86_400_000;
const A = { lat: -23.5614, lon: -46.6559 };
// 25 m from A: the same 0.01° grid cell, so the same searched area for the same radius.
const B = { lat: -23.5612, lon: -46.6557 };

describe('"Near me" cached per product, grid cell and radius, not per point (issue 14, item 2)', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  let productId: string;
  const places = [
    { lat: -23.5614, lon: -46.6559 },
    { lat: -23.5700, lon: -46.6500 },
    { lat: -23.5500, lon: -46.6700 },
    // In the searched box, outside the 5 km circle (about 6.4 km away, towards a corner).
    { lat: -23.5214, lon: -46.6109 },
    // 4.99 km from A and 5.02 km from B: in A's circle only, so the two circles differ.
    { lat: -23.5931, lon: -46.6905 },
  ];
  before(async () => {
    app = await testApp();
    productId = (await post('registerProduct', { ...demoProducts()[0], name: 'Celulatol 5 mg', gtin: uniqueGtin() })).body.id;
    const validity = { validFrom: new Date(Date.now() - DAY).toISOString(), validUntil: new Date(Date.now() + DAY).toISOString() };
    for (const [index, location] of places.entries()) {
      const pharmacyId = (await post('registerPharmacy', pharmacyBody({ location }))).body.id;
      assert.equal((await post('publishOffer', { pharmacyId, productId, priceCents: 700 + index, stock: 'in_stock', ...validity })).status, 201);
    }
    await app.settle();
  });
  after(() => app.services.dispose());

  function post(name: string, body: unknown) {
    return invoke(app.handler(name), { method: 'POST', body });
  }
  const near = (services: Services, point: { lat: number; lon: number }) =>
    invoke(offerQueries(async () => services).cheapestNear, { path: `products/${productId}/offers?lat=${point.lat}&lon=${point.lon}&radiusKm=5`, params: { id: productId } });

  it('given a search from A, a search from B in the same cell reads nothing from the store and answers for B', async () => {
    const first = countingReads(app.services);
    const fromA = await near(first.services, A);
    assert.equal(fromA.status, 200, JSON.stringify(fromA.body));
    // The offers in one partition, the product's; the pharmacies' box still fans out (cached per box).
    assert.deepEqual(first.counts, { 'products.get': 1, 'pharmacies.query': 1, 'offers-by-product.partition-query': 1 });
    const counting = countingReads(app.services);
    const fromB = await near(counting.services, B);
    assert.equal(fromB.headers.get('x-cache'), 'hit');
    assert.deepEqual(counting.counts, {});
    for (const [answer, point, inCircle] of [[fromA, A, 4], [fromB, B, 3]] as const) {
      const items = answer.body.items as { distanceKm: number; pharmacy: { location: { lat: number; lon: number } } }[];
      assert.equal(items.length, inCircle, 'pharmacies outside this circle are cut, though their offers are in the cached area');
      for (const item of items) assert.ok(Math.abs(item.distanceKm - distanceKm(point, item.pharmacy.location)) < 0.001, 'distances are from this search point');
    }
  });

  it('given a price change of this product in another city, the entry here stays cached; one here retires it', async () => {
    const validity = { validFrom: new Date(Date.now() - DAY).toISOString(), validUntil: new Date(Date.now() + DAY).toISOString() };
    const recife = (await post('registerPharmacy', pharmacyBody({ location: { lat: -8.0476, lon: -34.877 } }))).body.id;
    const far = await post('publishOffer', { pharmacyId: recife, productId, priceCents: 650, stock: 'in_stock', ...validity });
    assert.equal(far.status, 201);
    await app.settle();
    // A registration anywhere retires the pharmacies' boxes (they are few and rare): read this one again first.
    await near(app.services, A);
    const changed = await invoke(app.handler('changeOfferPrice'), { method: 'POST', params: { id: far.body.id }, body: { priceCents: 640 } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    await app.settle();
    assert.equal((await near(app.services, A)).headers.get('x-cache'), 'hit', 'a price in Recife leaves São Paulo cached');
    const here = (await near(app.services, A)).body.items[1];
    assert.equal((await invoke(app.handler('changeOfferPrice'), { method: 'POST', params: { id: here.offerId }, body: { priceCents: here.priceCents + 1 } })).status, 200);
    await app.settle();
    const after = await near(app.services, A);
    assert.equal(after.headers.get('x-cache'), 'miss');
    assert.equal(after.body.items.find((item: { offerId: string }) => item.offerId === here.offerId).priceCents, here.priceCents + 1);
  });

  it('given a price change of this product, both points see it: the entry is retired by the product, not kept by the area', async () => {
    const cheapest = (await near(app.services, A)).body.items[0];
    const changed = await invoke(app.handler('changeOfferPrice'), { method: 'POST', params: { id: cheapest.offerId }, body: { priceCents: 100 } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    await app.settle();
    for (const point of [A, B]) assert.equal((await near(app.services, point)).body.items[0].priceCents, 100);
  });
});
