import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoProducts } from '../../local/demo-products';
import { offerQueries } from '../../shared/offers/queries';
import { testApp } from '../support/app';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

const DAY = 86_400_000;
// A sparse area: P is the only pharmacy within 1 km and within 5 km of X, so both searches
// share one area key (the hash of the same pharmacy ids), yet their boxes cover different
// 0.1° cells: 1 km → cell -101:-501 only; 5 km → cells -101..-100 × -501..-500.
const X = { lat: -10.05, lon: -50.05 };
// Outside the 5 km box (maxLon -50.00) but in cell -101:-500, which that box's cell range covers.
const Q = { lat: -10.05, lon: -49.99 };

describe('"Near me" entries shared by boxes with the same pharmacies but different cells', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  let productId: string;
  let offerAtP: string;
  before(async () => {
    app = await testApp();
    productId = (await post('registerProduct', { ...demoProducts()[0], name: 'Somatol 5 mg', gtin: uniqueGtin() })).body.id;
    const validity = { validFrom: new Date(Date.now() - DAY).toISOString(), validUntil: new Date(Date.now() + DAY).toISOString() };
    const p = (await post('registerPharmacy', pharmacyBody({ location: X }))).body.id;
    const q = (await post('registerPharmacy', pharmacyBody({ location: Q }))).body.id;
    offerAtP = (await post('publishOffer', { pharmacyId: p, productId, priceCents: 700, stock: 'in_stock', ...validity })).body.id;
    assert.equal((await post('publishOffer', { pharmacyId: q, productId, priceCents: 650, stock: 'in_stock', ...validity })).status, 201);
    await app.settle();
  });
  after(() => app.services.dispose());

  function post(name: string, body: unknown) {
    return invoke(app.handler(name), { method: 'POST', body });
  }
  const near = (radiusKm: number) =>
    invoke(offerQueries(async () => app.services).cheapestNear, { path: `products/${productId}/offers?lat=${X.lat}&lon=${X.lon}&radiusKm=${radiusKm}`, params: { id: productId } });

  it('given an entry cached by the 5 km search, a price change at P shows in the 1 km search', async () => {
    const wide = await near(5);
    assert.equal(wide.status, 200, JSON.stringify(wide.body));
    assert.deepEqual(wide.body.items.map((item: { priceCents: number }) => item.priceCents), [700]);
    const changed = await invoke(app.handler('changeOfferPrice'), { method: 'POST', params: { id: offerAtP }, body: { priceCents: 710 } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    await app.settle();
    const narrow = await near(1);
    assert.equal(narrow.status, 200, JSON.stringify(narrow.body));
    assert.deepEqual(narrow.body.items.map((item: { priceCents: number }) => item.priceCents), [710], `x-cache: ${narrow.headers.get('x-cache')}`);
  });

  it('given P moves away, its price changes there, and P moves back, the search here shows the new price', async () => {
    const here = await near(1);
    const before = here.body.items.map((item: { priceCents: number }) => item.priceCents);
    const p = here.body.items[0].pharmacy.id as string;
    const relocate = async (location: { lat: number; lon: number }) => {
      const moved = await invoke(app.handler('relocatePharmacy'), { method: 'POST', params: { id: p }, body: { address: pharmacyBody().address, location } });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      await app.settle();
    };
    await relocate({ lat: -15.8, lon: -47.9 });
    assert.deepEqual((await near(1)).body.items, []);
    const changed = await invoke(app.handler('changeOfferPrice'), { method: 'POST', params: { id: offerAtP }, body: { priceCents: before[0] + 5 } });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    await app.settle();
    await relocate(X);
    const back = await near(1);
    assert.deepEqual(back.body.items.map((item: { priceCents: number }) => item.priceCents), [before[0] + 5], `x-cache: ${back.headers.get('x-cache')}`);
  });
});
