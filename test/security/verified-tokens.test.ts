import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { SignJWT, importJWK } from 'jose';
import { testApp } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';
import { ADMIN } from '../support/tokens';

/**
 * A token verified once is remembered by its exact text until its `exp` (issue 14: the
 * ES256 verification was a sixth of a command's CPU). What is remembered must never let
 * through what the full verification refuses.
 */
describe('remembered access tokens', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  async function sign(expiresInSeconds: number) {
    const [current] = app.services.secrets.signingKeys;
    const key = await importJWK({ ...current.privateJwk, kty: 'EC' }, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ roles: ADMIN.roles, scope: ADMIN.scopes.join(' ') })
      .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'at+jwt' })
      .setIssuer(app.services.settings.auth.issuer)
      .setAudience(app.services.settings.auth.audience)
      .setSubject(ADMIN.subject)
      .setIssuedAt(now)
      .setExpirationTime(now + expiresInSeconds)
      .sign(key);
  }

  const register = (token: string) =>
    invoke(app.handler('registerPharmacy'), { method: 'POST', body: pharmacyBody(), headers: { authorization: `Bearer ${token}` } });

  it('accepts the same token again, and refuses it once it has expired (past the clock tolerance)', async () => {
    const token = await sign(60);
    assert.equal((await register(token)).status, 201);
    assert.equal((await register(token)).status, 201, 'remembered');
    mock.timers.enable({ apis: ['Date'], now: Date.now() + 66_000 });
    try {
      assert.equal((await register(token)).status, 401);
    } finally {
      mock.timers.reset();
    }
  });

  it('refuses a remembered token with its claims or its signature changed', async () => {
    const token = await sign(300);
    assert.equal((await register(token)).status, 201);
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
    assert.equal((await register(`${header}.${forged}.${signature}`)).status, 401);
    const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BA' : 'AA');
    assert.equal((await register(`${header}.${payload}.${flipped}`)).status, 401);
  });
});
