import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoProducts } from '../../local/demo-products';
import { pharmacyQueries } from '../../shared/pharmacies/queries';
import { testApp, withBrokenReadStore } from '../support/app';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

const DAY = 86_400_000;

describe('Lists say where they came from in X-Cache, as by-id reads do', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  let pharmacyId: string;
  before(async () => {
    app = await testApp();
    pharmacyId = (await post('registerPharmacy', pharmacyBody({ address: { ...pharmacyBody().address, city: 'Xcachelândia' } }))).body.id;
    const productId = (await post('registerProduct', { ...demoProducts()[0], name: 'Xcachetol 10 mg', gtin: uniqueGtin() })).body.id;
    const validity = { validFrom: new Date(Date.now() - DAY).toISOString(), validUntil: new Date(Date.now() + DAY).toISOString() };
    assert.equal((await post('publishOffer', { pharmacyId, productId, priceCents: 990, stock: 'in_stock', ...validity })).status, 201);
    await app.settle();
  });
  after(() => app.services.dispose());

  function post(name: string, body: unknown) {
    return invoke(app.handler(name), { method: 'POST', body });
  }
  const get = (name: string, path: string, params: Record<string, string> = {}) => invoke(app.handler(name), { path, params });

  const lists = () => [
    () => get('searchProducts', 'products?q=xcachetol'),
    () => get('listPharmacies', `pharmacies?city=${encodeURIComponent('Xcachelândia')}`),
    () => get('pharmacyOffers', `pharmacies/${pharmacyId}/offers`, { id: pharmacyId }),
  ];

  it('a miss first, then a hit, on product search, the pharmacy list and a pharmacy\'s offers', async () => {
    for (const list of lists()) {
      const first = await list();
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.items.length, 1);
      assert.equal(first.headers.get('x-cache'), 'miss');
      assert.equal((await list()).headers.get('x-cache'), 'hit');
    }
  });

  it('stale when the store fails and the list is served from an outdated copy', async () => {
    const path = `pharmacies?city=${encodeURIComponent('Xcachelândia')}`;
    assert.equal((await get('listPharmacies', path)).status, 200);
    // Another registration retires the cached lists (a new generation): only a stale copy is left.
    await post('registerPharmacy', pharmacyBody());
    await app.settle();
    const broken = pharmacyQueries(async () => withBrokenReadStore(app.services));
    const stale = await invoke(broken.list, { path });
    assert.equal(stale.status, 200);
    assert.equal(stale.headers.get('x-cache'), 'stale');
  });
});
