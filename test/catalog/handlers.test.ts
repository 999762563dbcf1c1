import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gtinCheckDigit } from '../../shared/catalog/domain/gtin';
import { demoProducts } from '../../local/demo-products';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

let sequence = 0;
function uniqueGtin(): string {
  sequence += 1;
  const body = `789${String((Date.now() % 1e6) * 1000 + sequence).padStart(9, '0').slice(-9)}`;
  return body + gtinCheckDigit(body);
}

describe('Catalog handlers', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  const ids = new Map<string, string>();

  before(async () => {
    app = await testApp();
    for (const product of demoProducts()) {
      const response = await invoke(app.handler('registerProduct'), { method: 'POST', path: 'products', body: product });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      ids.set(`${product.name}|${product.brand}`, response.body.id);
    }
    await app.settle();
  });
  after(() => app.services.dispose());

  const search = async (query: string) => (await invoke(app.handler('searchProducts'), { path: `products?${query}` })).body;
  const names = (body: { items: { name: string; brand: string }[] }) => body.items.map((p) => `${p.name} (${p.brand})`);

  it('resolves a list of GTINs in one request, whatever length they are written in; a bad one is a 400 naming it', async () => {
    const [first, second] = demoProducts();
    const unknown = uniqueGtin();
    const found = await invoke(app.handler('searchProducts'), { path: `products?gtin=${first.gtin},0${second.gtin},${unknown}&limit=100` });
    assert.equal(found.status, 200, JSON.stringify(found.body));
    assert.deepEqual(found.body.items.map((p: { gtin: string }) => p.gtin).sort(), [first.gtin, second.gtin].sort());
    const badDigit = `${first.gtin.slice(0, -1)}${(Number(first.gtin.slice(-1)) + 1) % 10}`;
    const refused = await invoke(app.handler('searchProducts'), { path: `products?gtin=${first.gtin},${badDigit}` });
    assert.equal(refused.status, 400);
    assert.match(JSON.stringify(refused.body), /check digit/);
    const tooMany = Array.from({ length: 101 }, () => uniqueGtin()).join(',');
    assert.equal((await invoke(app.handler('searchProducts'), { path: `products?gtin=${tooMany}` })).status, 400);
  });

  it('refuses the all-zero GTIN: 400 naming the field', async () => {
    const refused = await invoke(app.handler('registerProduct'), { method: 'POST', path: 'products', body: { ...demoProducts()[0], gtin: '00000000' } });
    assert.equal(refused.status, 400);
    assert.match(refused.headers.get('content-type')!, /^application\/problem\+json/);
    assert.deepEqual(refused.body.errors, [{ field: 'gtin', message: 'gtin must not be all zeros (a GTIN-8, -12, -13 or -14 with a matching check digit)' }]);
  });

  it('finds by the start of any word, ignoring case and accents', async () => {
    const dipirona = names(await search('q=dipirona&limit=100'));
    assert.ok(dipirona.includes('Dipirona Sódica 500 mg (Novalgina)'));
    assert.ok(dipirona.includes('Dorflex (Dorflex)'), 'an active ingredient matches too');
    assert.deepEqual(names(await search('q=sodica&limit=100')).sort(), names(await search('q=SÓDICA&limit=100')).sort());
    assert.ok(names(await search('q=sodica&limit=100')).includes('Dipirona Sódica 500 mg (EMS Genérico)'));
    assert.ok(names(await search('q=novalg')).includes('Dipirona Sódica 500 mg (Novalgina)'), 'the brand, by prefix');
    assert.deepEqual(names(await search('q=ipirona')), [], 'the middle of a word does not match');
  });

  it('needs every word of a multi-word search', async () => {
    assert.deepEqual(names(await search('q=dipirona%20gotas')), ['Dipirona Sódica Gotas 500 mg/ml (Medley Genérico)']);
  });

  it('filters by category and prescription, alphabetically, in pages', async () => {
    const retained = await search('prescription=retained&limit=100');
    assert.ok(retained.items.length >= 5);
    assert.ok(retained.items.every((p: { prescription: string }) => p.prescription === 'retained'));
    const generics = await search('category=generics&limit=3');
    assert.equal(generics.items.length, 3);
    const rest = await search(`category=generics&limit=100&cursor=${generics.nextCursor}`);
    const all = [...generics.items, ...rest.items].map((p: { name: string }) => p.name);
    assert.deepEqual(all, [...all].sort((a, b) => a.localeCompare(b, 'pt-BR', { sensitivity: 'base' })));
    assert.equal(new Set([...generics.items, ...rest.items].map((p: { id: string }) => p.id)).size, all.length);
    assert.equal(rest.nextCursor, null);
    assert.equal(generics.items[0].searchPrefixes, undefined, 'search keys stay internal');
  });

  it('leaves discontinued products out unless asked, and counts categories of active ones', async () => {
    const before = (await invoke(app.handler('listCategories'), { path: 'categories' })).body.items;
    const vitaminsBefore = before.find((c: { category: string }) => c.category === 'vitamins').activeProducts;
    assert.equal(vitaminsBefore, demoProducts().filter((p) => p.category === 'vitamins').length);
    const id = ids.get('Vitamina C 1 g Efervescente|Redoxon')!;
    const stopped = await invoke(app.handler('discontinueProduct'), { method: 'POST', params: { id } });
    assert.equal(stopped.status, 200);
    await app.settle();
    assert.deepEqual(names(await search('q=redoxon')), []);
    assert.deepEqual(names(await search('q=redoxon&includeDiscontinued=true')), ['Vitamina C 1 g Efervescente (Redoxon)']);
    const after = (await invoke(app.handler('listCategories'), { path: 'categories' })).body.items;
    assert.equal(after.find((c: { category: string }) => c.category === 'vitamins').activeProducts, vitaminsBefore - 1);
    assert.equal(after.length, 8, 'every category, even empty ones');
  });

  it('finds a product by its GTIN written in any length', async () => {
    const product = demoProducts()[0];
    const byGtin = (gtin: string) => invoke(app.handler('getProductByGtin'), { params: { gtin }, path: `products/gtin/${gtin}` });
    const thirteen = await byGtin(product.gtin);
    assert.equal(thirteen.status, 200);
    assert.equal(thirteen.body.name, product.name);
    assert.equal((await byGtin(`0${product.gtin}`)).body.id, thirteen.body.id);
    assert.equal((await byGtin('7891000315507')).status, 404);
    assert.equal((await byGtin('7891000315508')).status, 400);
  });

  it('refuses a second product with the same GTIN, even written as GTIN-14', async () => {
    const gtin = uniqueGtin();
    const body = { ...demoProducts()[0], gtin };
    assert.equal((await invoke(app.handler('registerProduct'), { method: 'POST', body })).status, 201);
    const again = await invoke(app.handler('registerProduct'), { method: 'POST', body: { ...body, gtin: `0${gtin}` } });
    assert.equal(again.status, 409);
  });

  it('changes a product and the search follows the new name', async () => {
    const id = ids.get('Termômetro Digital|G-Tech')!;
    const changed = await invoke(app.handler('changeProduct'), { method: 'PATCH', params: { id }, body: { name: 'Termômetro Clínico Digital' } });
    assert.equal(changed.status, 200);
    const read = await invoke(app.handler('getProduct'), { params: { id }, headers: { 'x-min-version': String(changed.body.version) } });
    assert.equal(read.body.name, 'Termômetro Clínico Digital');
    assert.equal(read.headers.get('etag'), `"${changed.body.version}"`);
    await app.settle();
    assert.deepEqual(names(await search('q=clinico')), ['Termômetro Clínico Digital (G-Tech)']);
    const history = await invoke(app.handler('productHistory'), { params: { id } });
    assert.deepEqual(history.body.items.map((e: { type: string }) => e.type), ['ProductRegistered', 'ProductChanged']);
  });

  it('refuses a search with no usable word', async () => {
    const response = await invoke(app.handler('searchProducts'), { path: 'products?q=a' });
    assert.equal(response.status, 400);
    assert.equal(response.body.errors[0].field, 'q');
  });
});
