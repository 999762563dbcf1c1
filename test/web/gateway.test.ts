import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { importedApis } from '../support/gateway-stand-in';
import { webModule } from '../support/web-module';

const { apiUrl, API_GATEWAY } = webModule<{ apiUrl(route: string, gateway?: string): string; API_GATEWAY: string }>('gateway.ts');
const GATEWAY = 'https://apim-farmacias-test.azure-api.net';

/** An operation's path as the app sends it: parameters filled, no leading slash. */
const routeOf = (operation: string) => operation.replace(/^\//, '').replace(/\{[^}]+\}/g, '3f0c2a9e-5b1d-4c7a-9e2f-6a8b1c0d4e5f');

describe('the web app finds each route at the gateway (API Management)', () => {
  it('sends every operation of every API to the path apim.bicep imports that API under, with or without a query', () => {
    for (const api of importedApis()) {
      for (const operation of api.operations) {
        const route = routeOf(operation);
        assert.equal(apiUrl(route, GATEWAY), `${GATEWAY}/${api.path}/${route}`, operation);
        assert.equal(apiUrl(`${route}?limit=5`, GATEWAY), `${GATEWAY}/${api.path}/${route}?limit=5`, operation);
      }
    }
  });

  it('sends everything to the same origin\'s /api/ when the build names no gateway (the local host)', () => {
    assert.equal(API_GATEWAY, '');
    assert.equal(apiUrl('pharmacies/abc/offers?limit=50'), '/api/pharmacies/abc/offers?limit=50');
  });

  it('refuses a route no API answers, rather than calling a wrong one', () => {
    assert.throws(() => apiUrl('admin/secrets', GATEWAY), /no API answers the route admin\/secrets/);
    assert.throws(() => apiUrl('productsx', GATEWAY), /no API answers/);
  });
});
