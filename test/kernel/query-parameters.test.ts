import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

describe('Query parameters: refused when unknown or repeated, on every route', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const get = (name: string, path: string, headers: Record<string, string> = {}) => invoke(app.handler(name), { path, headers });
  const assertRefused = (response: Awaited<ReturnType<typeof get>>, field: string) => {
    assert.equal(response.status, 400, JSON.stringify(response.body));
    assert.match(response.headers.get('content-type')!, /^application\/problem\+json/);
    assert.deepEqual(response.body.errors.map((e: { field: string }) => e.field), [field]);
  };

  it('refuses a parameter sent twice, naming it, instead of taking the last copy', async () => {
    const repeated = await get('searchProducts', 'products?q=dipirona&limit=5&limit=500');
    assertRefused(repeated, 'limit');
    assert.match(repeated.body.errors[0].message, /more than once/);
    assertRefused(await get('listPharmacies', 'pharmacies?city=Campinas&city=Santos'), 'city');
  });

  it('reads no parameter from the fragment: a `?` after `#` begins no query (a request target may carry one)', async () => {
    const listed = await get('listPharmacies', 'pharmacies#top?limit=-1&limit=500');
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
  });

  it('refuses a parameter named __proto__, alone or repeated, as any unknown one (joi drops that name without a word)', async () => {
    assertRefused(await get('listPharmacies', 'pharmacies?limit=1&__proto__=1'), '__proto__');
    assertRefused(await get('listPharmacies', 'pharmacies?__proto__=1&__proto__=2'), '__proto__');
    assertRefused(await get('searchProducts', 'products?q=dipirona&__proto__=x'), '__proto__');
    assertRefused(await get('listCategories', 'categories?__proto__=1'), '__proto__');
  });

  it('refuses unknown parameters on health, readiness, keys, discovery and the caller\'s account', async () => {
    assertRefused(await get('health', 'health?verbose=1'), 'verbose');
    assertRefused(await get('healthReady', 'health/ready?verbose=1'), 'verbose');
    assertRefused(await get('signingKeys', 'auth/jwks?kid=x'), 'kid');
    assertRefused(await get('openIdConfiguration', 'auth/.well-known/openid-configuration?x=1'), 'x');
    const email = 'query.params@exemplo.com.br';
    const password = 'uma frase longa e bem segura';
    const registered = await invoke(app.handler('registerUser'), { method: 'POST', body: { email, password, name: 'Maria Query' } });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const form = new URLSearchParams({ grant_type: 'password', username: email, password }).toString();
    const token = await invoke(app.handler('issueToken'), { method: 'POST', rawBody: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    const bearer = { authorization: `Bearer ${token.body.access_token}` };
    assertRefused(await get('currentUser', 'auth/me?fields=all', bearer), 'fields');
    assertRefused(await get('myData', 'auth/me/data?fields=all', bearer), 'fields');
    assert.equal((await get('currentUser', 'auth/me', bearer)).status, 200, 'without a query it still answers');
    assert.equal((await get('health', 'health')).status, 200);
  });

  it('reads the query of the routes that take none from the URL too: an empty one answers, any parameter is refused', async () => {
    assert.equal((await get('health', 'health?')).status, 200);
    assert.equal((await get('health', 'health?&')).status, 200);
    assertRefused(await get('health', 'health?%E3=1'), '%E3');
    const pharmacies = await get('listPharmacies', 'pharmacies?limit=1');
    const id = pharmacies.body.items[0]?.id ?? '7a1b6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11';
    const byId = (path: string) => invoke(app.handler('getPharmacy'), { path, params: { id } });
    assertRefused(await byId(`pharmacies/${id}?fields=all`), 'fields');
    assert.notEqual((await byId(`pharmacies/${id}?`)).status, 400, 'an empty query is no parameter');
  });
});
