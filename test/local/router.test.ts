import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Router } from '../../local/router';
import { servedMethods } from '../../shared/kernel/routes';
import { declaredModules } from '../../shared/platform/app';

const declarations = declaredModules().flatMap((module) => module.routes);
const router = new Router(declarations);
const ID = '0b6f3a52-5c1e-4f55-9d36-2f6f3c9f1e01';

/** A path for a declared route, its parameters filled with an id. */
const pathOf = (route: string) => route.replace(/\{[^}]+\}/g, ID);

describe('the local host’s router', () => {
  it('finds every declared route, in any case, with its parameters', () => {
    for (const declaration of declarations) {
      for (const path of [pathOf(declaration.route), pathOf(declaration.route).toUpperCase()]) {
        const match = router.match(declaration.methods[0], path);
        assert.equal(match.kind, 'found', path);
        assert.equal(match.kind === 'found' && match.declaration.name, declaration.name, path);
      }
    }
  });

  it('prefers literal segments over parameters', () => {
    const nearby = router.match('GET', 'pharmacies/nearby');
    assert.equal(nearby.kind === 'found' && nearby.declaration.route, 'pharmacies/nearby');
    const byId = router.match('GET', `pharmacies/${ID}`);
    assert.deepEqual(byId.kind === 'found' && byId.declaration.route, 'pharmacies/{id}');
    assert.deepEqual(byId.kind === 'found' && byId.params, { id: ID });
  });

  it('answers 405 with every method the path is served on, and 404 for a path no route has', () => {
    const path = `pharmacies/${ID}`;
    const served = declarations.filter((d) => d.route === 'pharmacies/{id}').flatMap((d) => servedMethods(d));
    const refused = router.match('PUT', path);
    assert.equal(refused.kind, 'method-not-allowed');
    assert.deepEqual(refused.kind === 'method-not-allowed' && [...refused.allow].sort(), [...new Set(served)].sort());
    for (const unknown of ['nope', `nope/${ID}`, '', `pharmacies/${ID}/nope`]) assert.equal(router.match('GET', unknown).kind, 'not-found', unknown);
  });

  it('refuses a parameter that is not valid percent-encoding as no route', () => {
    assert.equal(router.match('GET', 'pharmacies/%E0%A4%A').kind, 'not-found');
  });
});
