import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT, importJWK } from 'jose';
import { testApp } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';
import { ADMIN } from '../support/tokens';

/**
 * Item 9b: tokens signed with the app's own key (as a leaked ID token, a token made by a
 * bug, or one from another use of the key would be) but without an expiry, or not an
 * access token, are refused.
 */
describe('access tokens need exp and typ at+jwt', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  async function sign(options: { typ?: string; exp?: boolean; iat?: boolean }) {
    const [current] = app.services.secrets.signingKeys;
    const key = await importJWK({ ...current.privateJwk, kty: 'EC' }, 'ES256');
    let jwt = new SignJWT({ roles: ADMIN.roles, scope: ADMIN.scopes.join(' ') })
      .setProtectedHeader({ alg: 'ES256', kid: current.kid, ...(options.typ ? { typ: options.typ } : {}) })
      .setIssuer(app.services.settings.auth.issuer)
      .setAudience(app.services.settings.auth.audience)
      .setSubject(ADMIN.subject);
    if (options.iat !== false) jwt = jwt.setIssuedAt();
    if (options.exp !== false) jwt = jwt.setExpirationTime('5m');
    return jwt.sign(key);
  }

  const register = (token: string) =>
    invoke(app.handler('registerPharmacy'), { method: 'POST', body: pharmacyBody(), headers: { authorization: `Bearer ${token}` } });

  it('accepts a well-formed access token (the control)', async () => {
    assert.equal((await register(await sign({ typ: 'at+jwt' }))).status, 201);
    assert.equal((await register(await sign({ typ: 'application/at+jwt' }))).status, 201);
  });

  it('refuses a token that never expires', async () => {
    const response = await register(await sign({ typ: 'at+jwt', exp: false }));
    assert.equal(response.status, 401);
  });

  it('refuses a token without typ, or typed as another kind of JWT', async () => {
    for (const typ of [undefined, 'JWT', 'id_token+jwt', 'logout+jwt']) {
      const response = await register(await sign({ typ }));
      assert.equal(response.status, 401, String(typ));
    }
  });

  it('refuses a token without iat', async () => {
    assert.equal((await register(await sign({ typ: 'at+jwt', iat: false }))).status, 401);
  });
});
