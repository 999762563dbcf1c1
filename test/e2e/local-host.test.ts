import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoPharmacies, seedDemoData } from '../../local/demo-data';
import { startLocalHost, type LocalHost } from '../../local/host';
import { MAX_BODY_BYTES } from '../../shared/kernel/http';
import { appModules } from '../../shared/platform/app';
import { pharmacyBody } from '../support/fixtures';
import { hostCaller } from '../support/http';
import { testServices } from '../support/services';
import { ADMIN, tokenFor } from '../support/tokens';

describe('the local host over real HTTP', () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  let host: LocalHost;
  const logs: string[] = [];

  before(async () => {
    services = await testServices();
    adminToken = await tokenFor(services, ADMIN);
    host = await startLocalHost({
      modules: appModules(async () => services),
      services,
      port: 0,
      requestLog: true,
      log: (line) => logs.push(line),
    });
  });
  after(async () => {
    await host.stop();
    await services.dispose();
  });

  let adminToken = '';
  /** Calls as an administrator unless the headers say who is calling. */
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => hostCaller(host.url, () => adminToken)(method, path, body, headers);

  it('register → read your write → nearby → change → history', async () => {
    const created = await call('POST', 'pharmacies', pharmacyBody({ location: { lat: -15.7939, lon: -47.8828 }, address: { ...pharmacyBody().address, city: 'Brasília', state: 'DF', postalCode: '70040-010' } }));
    assert.equal(created.status, 201);
    const { id } = created.body;
    assert.equal(created.headers.get('location'), `/api/pharmacies/${id}`);

    const read = await call('GET', `pharmacies/${id}`, undefined, { 'x-min-version': '1' });
    assert.equal(read.status, 200);
    assert.equal(read.body.address.city, 'Brasília');

    const nearby = await call('GET', 'pharmacies/nearby?lat=-15.80&lon=-47.88&radiusKm=2');
    assert.equal(nearby.status, 200);
    assert.equal(nearby.body.items[0].id, id);
    assert.ok(nearby.body.items[0].distanceKm > 0.5 && nearby.body.items[0].distanceKm < 1.5);

    const changed = await call('PATCH', `pharmacies/${id}`, { tradeName: 'Drogaria Planalto' }, { 'if-match': '"1"' });
    assert.deepEqual(changed.body, { id, version: 2 });
    const reread = await call('GET', `pharmacies/${id}`, undefined, { 'x-min-version': '2' });
    assert.equal(reread.body.tradeName, 'Drogaria Planalto');

    const history = await call('GET', `pharmacies/${id}/history`);
    assert.deepEqual(history.body.items.map((e: { type: string }) => e.type), ['PharmacyRegistered', 'PharmacyProfileChanged']);
    const requestLines = logs.filter((line) => line.startsWith('{') && JSON.parse(line).path === `/api/pharmacies/${id}`).map((line) => JSON.parse(line));
    const patched = requestLines.find((line) => line.method === 'PATCH');
    assert.equal(patched?.status, 200, 'one structured log line per request');
    assert.match(patched.traceId, /^[\da-f]{32}$/);
    assert.equal(patched.function, 'changePharmacyProfile');
  });

  it('seeds the demo data through the commands, and lists it with filters and cursors', async () => {
    assert.equal((await seedDemoData(host, adminToken)).pharmacies.length, demoPharmacies().length);
    await services.bus.idle?.();
    const demo = demoPharmacies();
    assert.ok(demo.length >= 20);
    assert.ok(new Set(demo.map((p) => p.address.city)).size >= 3);
    assert.ok(new Set(demo.map((p) => p.address.state)).size >= 2);

    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { body: { items: { id: string; address: { state: string } }[]; nextCursor: string | null } } = await call('GET', `pharmacies?state=SP&limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      page.body.items.forEach((p) => {
        assert.equal(p.address.state, 'SP');
        assert.ok(!seen.has(p.id), 'no item twice across pages');
        seen.add(p.id);
      });
      cursor = page.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 20);
    assert.equal(seen.size, demo.filter((p) => p.address.state === "SP").length);
    assert.ok(pages >= 2);

    const city = await call('GET', 'pharmacies?city=sao%20paulo&limit=100');
    assert.equal(city.body.items.length, demo.filter((p) => p.address.city === 'São Paulo').length, 'accents and case ignored');
    const vaccination = await call('GET', 'pharmacies?service=vaccination&limit=100');
    assert.ok(vaccination.body.items.length > 0);
    assert.ok(vaccination.body.items.every((p: { services: string[] }) => p.services.includes('vaccination')));
    const open = await call('GET', 'pharmacies?openNow=true&limit=100');
    assert.ok(open.body.items.every((p: { openNow: boolean }) => p.openNow));
    assert.ok(open.body.items.some((p: { services: string[] }) => p.services.includes('open-24h')), 'the 24-hour pharmacies are open');
  });

  it('nearby sorts by distance, within the radius, active pharmacies only', async () => {
    const response = await call('GET', 'pharmacies/nearby?lat=-23.5614&lon=-46.6559&radiusKm=5&limit=50');
    const distances = response.body.items.map((p: { distanceKm: number }) => p.distanceKm);
    assert.ok(distances.length >= 3);
    assert.deepEqual(distances, [...distances].sort((a: number, b: number) => a - b));
    assert.ok(distances.every((d: number) => d <= 5));
    const closest = response.body.items[0].id;
    await call('POST', `pharmacies/${closest}/closure`);
    await services.bus.idle?.();
    const after = await call('GET', 'pharmacies/nearby?lat=-23.5614&lon=-46.6559&radiusKm=5&limit=50');
    assert.ok(!after.body.items.some((p: { id: string }) => p.id === closest), 'a closed pharmacy leaves nearby at once');
  });

  it('add product → offers at three pharmacies → cheapest near me → discontinue → offers gone → history says why', async () => {
    const product = await call('POST', 'products', {
      gtin: '7896658000010',
      name: 'Ibuprofeno E2E 400 mg',
      brand: 'Teste',
      manufacturer: 'Laboratório Teste',
      activeIngredients: ['ibuprofeno'],
      presentation: '400 mg, 10 cápsulas',
      form: 'capsule',
      category: 'medicines',
      prescription: 'none',
      generic: false,
    });
    assert.equal(product.status, 201);
    const pharmacies: string[] = [];
    for (const [index, lat] of [-3.7300, -3.7350, -3.7400].entries()) {
      const created = await call('POST', 'pharmacies', pharmacyBody({
        tradeName: `Farmácia Fortaleza ${index + 1}`,
        location: { lat, lon: -38.5270 },
        address: { street: 'Avenida Beira Mar', number: String(100 + index), district: 'Meireles', city: 'Fortaleza', state: 'CE', postalCode: '60165-121' },
        openingHours: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((day) => ({ day, opens: '00:00', closes: '24:00' })),
      }));
      pharmacies.push(created.body.id);
    }
    const validity = { validFrom: new Date(Date.now() - 3_600_000).toISOString(), validUntil: new Date(Date.now() + 86_400_000).toISOString(), stock: 'in_stock' };
    const prices = [2590, 1990, 2290];
    const feed = await call('POST', 'offers/batch', {
      items: pharmacies.map((pharmacyId, index) => ({ pharmacyId, productId: product.body.id, priceCents: prices[index], ...validity })),
    });
    assert.deepEqual(feed.body.results.map((r: { status: number }) => r.status), [201, 201, 201]);
    await services.bus.idle?.();

    const near = await call('GET', `products/${product.body.id}/offers?lat=-3.7350&lon=-38.5270&radiusKm=3`);
    assert.deepEqual(near.body.items.map((i: { priceCents: number }) => i.priceCents), [1990, 2290, 2590]);
    assert.equal(near.body.items[0].pharmacy.tradeName, 'Farmácia Fortaleza 2');
    assert.equal(near.body.items[0].pharmacy.openNow, true);

    assert.equal((await call('POST', `products/${product.body.id}/discontinuation`)).status, 200);
    await services.bus.idle?.();
    const after = await call('GET', `products/${product.body.id}/offers?lat=-3.7350&lon=-38.5270&radiusKm=3`);
    assert.deepEqual(after.body.items, []);
    const offerId = feed.body.results[1].id;
    const offerHistory = await call('GET', `offers/${offerId}/history`);
    assert.deepEqual(offerHistory.body.items.map((e: { type: string }) => e.type), ['OfferPublished', 'OfferWithdrawn']);
    assert.equal(offerHistory.body.items[1].data.reason, 'product-discontinued');
    const offer = await call('GET', `offers/${offerId}`);
    assert.deepEqual([offer.body.status, offer.body.withdrawalReason, offer.body.current], ['withdrawn', 'product-discontinued', false]);
  });

  it('register → token → me over HTTP, and the logs hold no password, token or personal value', async () => {
    const secretPassword = 'a long and private passphrase';
    const created = await call('POST', 'auth/register', { email: 'joana.log@exemplo.com.br', password: secretPassword, name: 'Joana Registro' });
    assert.equal(created.status, 201);
    const form = new URLSearchParams({ grant_type: 'password', username: 'joana.log@exemplo.com.br', password: secretPassword }).toString();
    const granted = await call('POST', 'auth/token', form, { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(granted.status, 200);
    const mine = await call('GET', 'auth/me', undefined, { authorization: `Bearer ${granted.body.access_token}` });
    assert.equal(mine.body.name, 'Joana Registro');
    const failed = await call('POST', 'auth/token', form.replace('passphrase', 'guess'), { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(failed.status, 400);
    const lines = logs.filter((line) => line.includes('/api/auth/'));
    assert.ok(lines.length >= 4, 'each request logged');
    for (const secret of [secretPassword, 'joana.log', 'Joana Registro', granted.body.access_token, granted.body.refresh_token.split('.')[1]]) {
      assert.ok(!logs.join('\n').includes(secret), 'a secret reached the log');
    }
  });

  it('answers health and readiness with each dependency', async () => {
    assert.deepEqual((await call('GET', 'health')).body, { status: 'healthy' });
    const ready = await call('GET', 'health/ready');
    assert.equal(ready.body.status, 'healthy');
    assert.deepEqual(Object.keys(ready.body.checks).sort(), ['bus', 'cache', 'eventStore', 'readStore']);
  });

  it('404s unknown routes and 405s a wrong method, as problem+json', async () => {
    const missing = await call('GET', 'nothing-here');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type')!, /problem\+json/);
    const wrong = await call('DELETE', 'pharmacies');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST, GET, HEAD');
  });

  it('answers HEAD on every GET route with the GET\'s status and headers and no body; Allow names HEAD', async () => {
    for (const path of ['health', 'products?q=dipirona', 'pharmacies/not-a-uuid', 'auth/jwks']) {
      const get = await fetch(`${host.url}/${path}`);
      const head = await fetch(`${host.url}/${path}`, { method: 'HEAD' });
      assert.equal(head.status, get.status, path);
      assert.equal(head.headers.get('content-type'), get.headers.get('content-type'), path);
      assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(await get.text())), path);
      assert.equal(await head.text(), '', path);
    }
    const wrong = await fetch(`${host.url}/health`, { method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
    const commandsOnly = await fetch(`${host.url}/offers`, { method: 'HEAD' });
    assert.equal(commandsOnly.status, 405);
    assert.equal(commandsOnly.headers.get('allow'), 'POST');
  });

  describe('bad input never gets a 5xx, on every route', () => {
    const id = '0b0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11';
    const huge = JSON.stringify({ tradeName: 'x'.repeat(MAX_BODY_BYTES) });
    const offer = {
      pharmacyId: id,
      productId: '1c0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11',
      priceCents: 1000,
      validFrom: '2026-01-01T00:00:00Z',
      validUntil: '2099-01-01T00:00:00Z',
      stock: 'in_stock',
    };
    const bodyCases = (method: string, path: string) => [
      [method, path, '{"tradeName": ', 400, 'malformed JSON'],
      [method, path, '[]', 400, 'an array'],
      [method, path, '"text"', 400, 'a string'],
      [method, path, '', 400, 'an empty body'],
      [method, path, { unknownField: 1 }, 400, 'an unknown field'],
      [method, path, { tradeName: 7, openingHours: 'all day', address: [] }, 400, 'wrong types'],
      [method, path, huge, 413, 'a body over the limit'],
      [method, path.replace(/[0-9a-f-]{36}/, 'not-a-uuid'), {}, 400, 'a bad id'],
    ] as const;
    const cases: Record<string, readonly (readonly [string, string, unknown, number, string])[]> = {
      registerPharmacy: [...bodyCases('POST', 'pharmacies').slice(0, 7), ['POST', 'pharmacies', {}, 400, 'missing fields']],
      changePharmacyProfile: [...bodyCases('PATCH', `pharmacies/${id}`), ['PATCH', `pharmacies/${id}`, {}, 400, 'no field at all']],
      changeOpeningHours: bodyCases('PUT', `pharmacies/${id}/opening-hours`),
      relocatePharmacy: bodyCases('POST', `pharmacies/${id}/relocation`),
      closePharmacy: [
        ['POST', `pharmacies/${id}/closure`, { reason: 'x' }, 400, 'a body where none is taken'],
        ['POST', 'pharmacies/123/closure', undefined, 400, 'a bad id'],
        ['POST', `pharmacies/${id}/closure`, huge, 413, 'a body over the limit'],
      ],
      reopenPharmacy: [
        ['POST', `pharmacies/${id}/reopening`, '{oops', 400, 'a body where none is taken'],
        ['POST', "pharmacies/'%20OR%201=1/reopening", undefined, 400, 'an injection as id'],
      ],
      getPharmacy: [
        ['GET', 'pharmacies/123', undefined, 400, 'a bad id'],
        ['GET', `pharmacies/${id}?x-min-version=abc`, undefined, 400, 'an unknown parameter'],
      ],
      listPharmacies: [
        ['GET', 'pharmacies?limit=0', undefined, 400, 'limit 0'],
        ['GET', 'pharmacies?limit=abc', undefined, 400, 'limit not a number'],
        ['GET', 'pharmacies?limit=101', undefined, 400, 'limit over the maximum'],
        ['GET', 'pharmacies?state=ZZ', undefined, 400, 'an unknown state'],
        ['GET', 'pharmacies?service=spa', undefined, 400, 'an unknown service'],
        ['GET', 'pharmacies?openNow=maybe', undefined, 400, 'openNow not a boolean'],
        ['GET', 'pharmacies?cursor=garbage', undefined, 400, 'a forged cursor'],
        ['GET', 'pharmacies?sort=name', undefined, 400, 'an unknown parameter'],
      ],
      nearbyPharmacies: [
        ['GET', 'pharmacies/nearby', undefined, 400, 'no coordinates'],
        ['GET', 'pharmacies/nearby?lat=100&lon=0', undefined, 400, 'latitude out of range'],
        ['GET', 'pharmacies/nearby?lat=48.85&lon=2.35', undefined, 400, 'a point outside Brazil (Paris)'],
        ['GET', 'pharmacies/nearby?lat=-23.56&lon=-46.65&radiusKm=500', undefined, 400, 'radius over the maximum'],
        ['GET', 'pharmacies/nearby?lat=-23.56&lon=-46.65&radiusKm=-1', undefined, 400, 'a negative radius'],
        ['GET', 'pharmacies/nearby?lat=x&lon=0', undefined, 400, 'latitude not a number'],
      ],
      pharmacyHistory: [
        ['GET', 'pharmacies/abc/history', undefined, 400, 'a bad id'],
        ['GET', `pharmacies/${id}/history?limit=9999`, undefined, 400, 'limit over the maximum'],
        ['GET', `pharmacies/${id}/history?cursor=e30`, undefined, 400, 'a cursor of the wrong shape'],
      ],
      registerProduct: [...bodyCases('POST', 'products').slice(0, 7), ['POST', 'products', { gtin: '7891000315508' }, 400, 'a wrong check digit and missing fields']],
      changeProduct: [...bodyCases('PATCH', `products/${id}`), ['PATCH', `products/${id}`, { gtin: '7891000315507' }, 400, 'the GTIN, which never changes']],
      discontinueProduct: [
        ['POST', `products/${id}/discontinuation`, { reason: 'x' }, 400, 'a body where none is taken'],
        ['POST', 'products/1/discontinuation', undefined, 400, 'a bad id'],
      ],
      reinstateProduct: [
        ['POST', `products/${id}/reinstatement`, '[1]', 400, 'a body where none is taken'],
        ['POST', 'products/x/reinstatement', undefined, 400, 'a bad id'],
      ],
      getProduct: [
        ['GET', 'products/123', undefined, 400, 'a bad id'],
        ['GET', `products/${id}?expand=all`, undefined, 400, 'an unknown parameter'],
      ],
      getProductByGtin: [
        ['GET', 'products/gtin/abc', undefined, 400, 'not digits'],
        ['GET', 'products/gtin/7891000315508', undefined, 400, 'a wrong check digit'],
        ['GET', 'products/gtin/1234567890123456', undefined, 400, 'too long'],
        ['GET', 'products/gtin/7891000315507?x=1', undefined, 400, 'an unknown parameter'],
      ],
      searchProducts: [
        ['GET', 'products?limit=0', undefined, 400, 'limit 0'],
        ['GET', 'products?category=drugs', undefined, 400, 'an unknown category'],
        ['GET', 'products?prescription=maybe', undefined, 400, 'an unknown prescription rule'],
        ['GET', 'products?includeDiscontinued=perhaps', undefined, 400, 'includeDiscontinued not a boolean'],
        ['GET', `products?q=${'a'.repeat(101)}`, undefined, 400, 'q too long'],
        ['GET', 'products?q=%20-%20', undefined, 400, 'q without a word'],
        ['GET', 'products?cursor=eyJ4IjoxfQ', undefined, 400, 'a cursor of the wrong shape'],
        ['GET', "products?q=' OR 1=1 --", undefined, 200, 'an injection attempt, searched as words'],
      ],
      productHistory: [
        ['GET', 'products/abc/history', undefined, 400, 'a bad id'],
        ['GET', `products/${id}/history?limit=-1`, undefined, 400, 'a negative limit'],
      ],
      listCategories: [['GET', 'categories?all=1', undefined, 400, 'an unknown parameter']],
      publishOffer: [
        ...bodyCases('POST', 'offers').slice(0, 7),
        ['POST', 'offers', { pharmacyId: id }, 400, 'missing fields'],
        ['POST', 'offers', { ...offer, priceCents: 0 }, 400, 'a zero price'],
        ['POST', 'offers', { ...offer, priceCents: 10.5 }, 400, 'a fractional price'],
        ['POST', 'offers', { ...offer, priceCents: '1000' }, 400, 'a price as text'],
        ['POST', 'offers', { ...offer, listPriceCents: 500 }, 400, 'a list price below the price'],
        ['POST', 'offers', { ...offer, validUntil: '2020-01-01T00:00:00Z' }, 400, 'an offer ending before it starts'],
        ['POST', 'offers', { ...offer, validFrom: 'yesterday' }, 400, 'a date that is not ISO-8601'],
        ['POST', 'offers', { ...offer, stock: 'plenty' }, 400, 'an unknown stock level'],
        ['POST', 'offers', offer, 422, 'a pharmacy and product that do not exist'],
      ],
      publishOfferBatch: [
        ['POST', 'offers/batch', '{"items": [', 400, 'malformed JSON'],
        ['POST', 'offers/batch', { items: [] }, 400, 'no items'],
        ['POST', 'offers/batch', { items: Array.from({ length: 501 }, () => ({})) }, 400, 'more than 500 items'],
        ['POST', 'offers/batch', { items: [offer], extra: true }, 400, 'an unknown field'],
        ['POST', 'offers/batch', [offer], 400, 'an array instead of { items }'],
        ['POST', 'offers/batch', JSON.stringify({ items: ['x'.repeat(300 * 1024)] }), 413, 'a body over its limit'],
        ['POST', 'offers/batch', { items: [{}, offer] }, 200, 'bad items, answered one by one'],
      ],
      getOffer: [
        ['GET', 'offers/123', undefined, 400, 'a bad id'],
        ['GET', 'offers/batch', undefined, 400, 'the batch path read as an id'],
        ['GET', `offers/${id}?x=1`, undefined, 400, 'an unknown parameter'],
      ],
      changeOfferPrice: [...bodyCases('POST', `offers/${id}/price`), ['POST', `offers/${id}/price`, { priceCents: -5 }, 400, 'a negative price']],
      withdrawOffer: [
        ['POST', `offers/${id}/withdrawal`, { reason: 'x' }, 400, 'a body where none is taken'],
        ['POST', 'offers/1/withdrawal', undefined, 400, 'a bad id'],
      ],
      offerHistory: [
        ['GET', 'offers/abc/history', undefined, 400, 'a bad id'],
        ['GET', `offers/${id}/history?limit=0`, undefined, 400, 'limit 0'],
      ],
      productOffersNear: [
        ['GET', `products/${id}/offers`, undefined, 400, 'no coordinates'],
        ['GET', `products/${id}/offers?lat=-23.56&lon=-46.65&sort=rating`, undefined, 400, 'an unknown sort'],
        ['GET', `products/${id}/offers?lat=-23.56&lon=-46.65&radiusKm=51`, undefined, 400, 'radius over the maximum'],
        ['GET', 'products/x/offers?lat=-23.56&lon=-46.65', undefined, 400, 'a bad id'],
        ['GET', `products/${id}/offers?lat=-23.56&lon=-46.65`, undefined, 404, 'a product that does not exist'],
      ],
      pharmacyOffers: [
        ['GET', 'pharmacies/x/offers', undefined, 400, 'a bad id'],
        ['GET', `pharmacies/${id}/offers?limit=0`, undefined, 400, 'limit 0'],
        ['GET', `pharmacies/${id}/offers?cursor=!!`, undefined, 400, 'a forged cursor'],
        ['GET', `pharmacies/${id}/offers`, undefined, 404, 'a pharmacy that does not exist'],
      ],
      registerUser: [
        ...bodyCases('POST', 'auth/register').slice(0, 7),
        ['POST', 'auth/register', { email: 'not-an-email', password: 'long enough pass phrase', name: 'X' }, 400, 'a malformed e-mail'],
        ['POST', 'auth/register', { email: 'a@b.com', password: 'short', name: 'X' }, 400, 'a short password'],
        ['POST', 'auth/register', { email: "x' OR '1'='1@b.com", password: 'long enough pass phrase', name: 'X' }, 400, 'an injection as e-mail'],
      ],
      issueToken: [
        ['POST', 'auth/token', '', 400, 'an empty JSON body'],
        ['POST', 'auth/token', '[1]', 400, 'a JSON array'],
        ['POST', 'auth/token', { grant_type: 'password' }, 400, 'a password grant without credentials'],
        ['POST', 'auth/token', { grant_type: 'implicit' }, 400, 'an unsupported grant'],
        ['POST', 'auth/token', { grant_type: 'refresh_token', refresh_token: 'forged' }, 400, 'a forged refresh token'],
        ['POST', 'auth/token', huge, 413, 'a body over the limit'],
      ],
      revokeToken: [
        ['POST', 'auth/revoke', {}, 400, 'no token'],
        ['POST', 'auth/revoke', { token: 'x', token_type_hint: 'id_token' }, 400, 'an unknown hint'],
      ],
      currentUser: [['GET', 'auth/me', undefined, 401, 'no token']],
      signingKeys: [['GET', 'auth/jwks', undefined, 200, 'public keys, for anyone']],
      openIdConfiguration: [['GET', 'auth/.well-known/openid-configuration', undefined, 200, 'discovery, for anyone']],
      eraseMe: [['DELETE', 'auth/me', undefined, 404, 'a token that is no person']],
      myData: [['GET', 'auth/me/data', undefined, 401, 'a token that is no person']],
      eraseUser: [
        ['DELETE', 'auth/users/x', undefined, 400, 'a bad id'],
        ['DELETE', `auth/users/${id}`, undefined, 404, 'a user that does not exist'],
      ],
      assignRoles: [
        ...bodyCases('POST', `auth/users/${id}/roles`).slice(0, 7),
        ['POST', `auth/users/${id}/roles`, { roles: ['superuser'] }, 400, 'an unknown role'],
        ['POST', `auth/users/${id}/roles`, { roles: ['admin'] }, 404, 'a user that does not exist'],
      ],
      registerClient: [
        ...bodyCases('POST', 'auth/clients').slice(0, 7),
        ['POST', 'auth/clients', { name: 'X', scopes: ['everything'], pharmacyIds: [id] }, 400, 'an unknown scope'],
        ['POST', 'auth/clients', { name: 'X', scopes: ['offers:write'], pharmacyIds: [] }, 400, 'no pharmacy'],
      ],
      rotateClientSecret: [
        ...bodyCases('POST', `auth/clients/${id}/secret`),
        ['POST', `auth/clients/${id}/secret`, { overlapSeconds: 8 * 86_400 }, 400, 'an overlap over seven days'],
        ['POST', `auth/clients/${id}/secret`, {}, 404, 'a client that does not exist'],
      ],
      disableClient: [
        ['POST', `auth/clients/${id}/disablement`, { reason: 'x' }, 400, 'a body where none is taken'],
        ['POST', 'auth/clients/1/disablement', undefined, 400, 'a bad id'],
        ['POST', `auth/clients/${id}/disablement`, undefined, 404, 'a client that does not exist'],
      ],
      health: [['GET', 'health?verbose=1', undefined, 400, 'an unknown parameter, refused like everywhere']],
      healthReady: [['GET', 'health/ready', undefined, 200, 'readiness']],
    };

    it('covers every declared route', () => {
      const declared = appModules(async () => services).flatMap((m) => m.routes.map((r) => r.name));
      assert.deepEqual(Object.keys(cases).sort(), declared.sort());
    });

    for (const [route, list] of Object.entries(cases)) {
      for (const [method, path, body, status, what] of list) {
        it(`${route}: ${what} → ${status}`, async () => {
          const response = await call(method, path, body);
          assert.equal(response.status, status);
          if (status >= 400 && (route === 'issueToken' || route === 'revokeToken')) {
            // The OAuth endpoints answer as RFC 6749 §5.2 has it, for OAuth client libraries.
            assert.match(response.headers.get('content-type')!, /^application\/json/);
            assert.ok(response.body.error && response.body.error_description && response.body.traceId);
            assert.doesNotMatch(JSON.stringify(response.body), /at \w+ \(|node_modules|\.ts:|\.js:/, 'no stack trace');
          } else if (status >= 400) {
            assert.match(response.headers.get('content-type')!, /^application\/problem\+json/);
            assert.equal(response.body.status, status);
            assert.ok(response.body.title && response.body.detail && response.body.traceId);
            assert.doesNotMatch(JSON.stringify(response.body), /at \w+ \(|node_modules|\.ts:|\.js:/, 'no stack trace');
          }
        });
      }
    }

    it('415s a token request that is neither a form nor JSON', async () => {
      const response = await call('POST', 'auth/token', 'grant_type=password', { 'content-type': 'text/plain' });
      assert.equal(response.status, 415);
    });

    it('415s a body that is not JSON', async () => {
      const response = await call('POST', 'pharmacies', 'cnpj=1', { 'content-type': 'application/x-www-form-urlencoded' });
      assert.equal(response.status, 415);
    });

    it('names each wrong field in errors[]', async () => {
      const response = await call('POST', 'pharmacies', pharmacyBody({ cnpj: '11.222.333/0001-82', location: { lat: 'south', lon: 0 } }));
      assert.deepEqual(response.body.errors.map((e: { field: string }) => e.field).sort(), ['cnpj', 'location.lat']);
    });
  });
});
