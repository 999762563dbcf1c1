import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

/** Item 9a: a browser must not sniff a JSON answer into HTML, and must keep to HTTPS. */
describe('security headers on every response', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  it('nosniff, HSTS of at least a year and a Cache-Control, on every route, answered or refused', async () => {
    const routes = app.modules.flatMap((module) => module.routes);
    assert.ok(routes.length > 30);
    for (const route of routes) {
      const params = { id: '0b0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11', gtin: '7891234567895' };
      for (const as of ['anonymous', 'admin'] as const) {
        const method = route.methods[0];
        const response = await invoke(app.handler(route.name, { as }), { method, params, ...(method === 'GET' ? {} : { rawBody: '{"x":' }) });
        const where = `${method} ${route.route} as ${as}: ${response.status}`;
        assert.equal(response.headers.get('x-content-type-options'), 'nosniff', where);
        const maxAge = /max-age=(\d+)/.exec(response.headers.get('strict-transport-security') ?? '');
        assert.ok(maxAge && Number(maxAge[1]) >= 31_536_000, where);
        assert.ok(response.headers.get('cache-control'), where);
      }
    }
  });

  it('keeps a route’s own Cache-Control and ETag; refusals and commands are not stored', async () => {
    const jwks = await invoke(app.handler('signingKeys', { as: 'anonymous' }));
    assert.equal(jwks.headers.get('cache-control'), 'public, max-age=300');
    const refused = await invoke(app.handler('registerPharmacy', { as: 'anonymous' }), { method: 'POST', body: {} });
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('cache-control'), 'no-store');
    const missing = await invoke(app.handler('getPharmacy'), { params: { id: '0b0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('cache-control'), 'no-store');
  });
});
