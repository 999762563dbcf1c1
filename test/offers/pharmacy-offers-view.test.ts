import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoProducts } from '../../local/demo-products';
import { productSummaries } from '../../shared/catalog/published';
import { ServiceUnavailable } from '../../shared/kernel/errors';
import type { Services } from '../../shared/kernel/services';
import { offerQueries } from '../../shared/offers/queries';
import { countingReads } from '../support/counting-reads';
import { testApp, withBrokenReadStore } from '../support/app';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

const DAY = 86_400_000;

describe("A pharmacy's offers: the products of a page read together, not one by one (issue 14, item 1)", () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  let pharmacyId: string;
  const productNames: string[] = [];
  before(async () => {
    app = await testApp();
    pharmacyId = (await post('registerPharmacy', pharmacyBody())).body.id;
    const validity = { validFrom: new Date(Date.now() - DAY).toISOString(), validUntil: new Date(Date.now() + DAY).toISOString() };
    for (let index = 0; index < 15; index++) {
      const name = `Vistatol ${index} mg`;
      productNames.push(name);
      const productId = (await post('registerProduct', { ...demoProducts()[0], name, gtin: uniqueGtin() })).body.id;
      assert.equal((await post('publishOffer', { pharmacyId, productId, priceCents: 500 + index, stock: 'in_stock', ...validity })).status, 201);
    }
    await app.settle();
  });
  after(() => app.services.dispose());

  function post(name: string, body: unknown) {
    return invoke(app.handler(name), { method: 'POST', body });
  }
  const page = (services: Services) => invoke(offerQueries(async () => services).atPharmacy, { path: `pharmacies/${pharmacyId}/offers?limit=20`, params: { id: pharmacyId } });

  it('given a cold cache, a page of 15 offers costs one query of the pharmacy\'s partition and one bulk request of point reads for its products', async () => {
    const counting = countingReads(app.services);
    const answer = await page(counting.services);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual(answer.body.items.map((item: { product: { name: string } }) => item.product.name).sort(), [...productNames].sort());
    assert.equal(answer.headers.get('x-cache'), 'miss');
    // The pharmacy itself is in the cache already: the projector that placed its offers read it.
    assert.deepEqual(counting.counts, { 'offers-by-pharmacy.partition-query': 1, 'products.get-many': 1 });
  });

  it('given a warm cache, the same page reads nothing from the store', async () => {
    const counting = countingReads(app.services);
    const answer = await page(counting.services);
    assert.equal(answer.headers.get('x-cache'), 'hit');
    assert.deepEqual(counting.counts, {});
  });

  it('given a product renamed, the page shows the new name and reads only that product again', async () => {
    const first = (await page(app.services)).body.items[0];
    const renamed = await invoke(app.handler('changeProduct'), { method: 'PATCH', params: { id: first.product.id }, body: { name: 'Vistatol renomeado' }, headers: { 'if-match': '"1"' } });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    await app.settle();
    const counting = countingReads(app.services);
    const answer = await page(counting.services);
    assert.ok(answer.body.items.some((item: { product: { name: string } }) => item.product.name === 'Vistatol renomeado'));
    assert.deepEqual(counting.counts, { 'products.get': 1 }, 'one point read for the one product retired');
  });

  it('given ids the catalog does not know among those asked, the known ones come back from one bulk read and the unknown are absent', async () => {
    const known = await Promise.all(['Vistatol A', 'Vistatol B'].map(async (name) => (await post('registerProduct', { ...demoProducts()[0], name, gtin: uniqueGtin() })).body.id as string));
    await app.settle();
    const unknown = ['product-never-registered', 'product-also-never'];
    const counting = countingReads(app.services);
    const { summaries, cache } = await productSummaries(counting.services, [known[0], unknown[0], known[1], unknown[1], known[0]]);
    assert.deepEqual([...summaries.keys()].sort(), [...known].sort());
    assert.deepEqual([summaries.get(known[0])?.name, summaries.get(known[1])?.name], ['Vistatol A', 'Vistatol B']);
    assert.equal(cache, 'miss');
    assert.deepEqual(counting.counts, { 'products.get-many': 1 });
  });

  it("given the read store down, the page answers from the cache's copies", async () => {
    const stale = await page(withBrokenReadStore(app.services));
    assert.equal(stale.status, 200);
    assert.equal(stale.body.items.length, 15);
  });

  it('given the read store down, summaries of products never read are a quick 503, not a page without names', async () => {
    const never = (await post('registerProduct', { ...demoProducts()[0], name: 'Vistatol novo', gtin: uniqueGtin() })).body.id;
    await app.settle();
    const known = (await page(app.services)).body.items[0].product.id;
    await assert.rejects(productSummaries(withBrokenReadStore(app.services), [known, never]), ServiceUnavailable);
    const { summaries, cache } = await productSummaries(withBrokenReadStore(app.services), [known]);
    assert.deepEqual([summaries.get(known)?.id, cache], [known, 'hit']);
  });
});
