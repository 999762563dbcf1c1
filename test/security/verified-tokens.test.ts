import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it, mock } from 'node:test';
import { HttpRequest } from '@azure/functions';
import { SignJWT, importJWK } from 'jose';
import { VERIFIED_TOKENS_BYTES, authenticate, verifiedTokensOf } from '../../shared/kernel/auth';
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

  async function sign(expiresInSeconds: number, pharmacyIds: string[] = []) {
    const [current] = app.services.secrets.signingKeys;
    const key = await importJWK({ ...current.privateJwk, kty: 'EC' }, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ roles: ADMIN.roles, scope: ADMIN.scopes.join(' '), ...(pharmacyIds.length ? { pharmacyIds } : {}) })
      .setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'at+jwt' })
      .setIssuer(app.services.settings.auth.issuer)
      .setAudience(app.services.settings.auth.audience)
      .setSubject(ADMIN.subject)
      .setIssuedAt(now)
      .setJti(randomUUID())
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

  const pharmacies = (count: number) => Array.from({ length: count }, () => randomUUID());
  const principalOf = (token: string) =>
    authenticate(new HttpRequest({ method: 'GET', url: 'http://localhost/api/pharmacies', headers: { authorization: `Bearer ${token}` } }), app.services);

  /**
   * Attack review: the memo was bounded by count only, and an entry holds a token of up to
   * the header limit and a principal naming up to thousands of pharmacies: 10 000 of them
   * held hundreds of MB per instance.
   */
  it('keeps many heavy tokens under its byte budget, and still accepts a token it let go (verified again)', async () => {
    const memo = verifiedTokensOf(app.services);
    const ids = pharmacies(250);
    const first = await sign(300, ids);
    assert.ok(first.length > 13_000, `a heavy token (${first.length} characters), as a 16 KB header can carry`);
    assert.deepEqual((await principalOf(first)).pharmacyIds, ids);
    assert.ok(memo.holds(first));
    const heavy = 450;
    for (let i = 0; i < heavy; i++) {
      await principalOf(await sign(300, pharmacies(250)));
      assert.ok(memo.weight <= VERIFIED_TOKENS_BYTES, `${memo.weight} bytes held after ${i + 1} heavy tokens`);
    }
    assert.ok(memo.size < heavy, `${memo.size} tokens held of ${heavy + 1}: the budget let some go`);
    assert.ok(memo.weight > VERIFIED_TOKENS_BYTES / 2, 'the budget is used, not emptied');
    assert.equal(memo.holds(first), false, 'the least recently used went first');
    assert.deepEqual((await principalOf(first)).pharmacyIds, ids, 'verified again, and accepted');
    assert.ok(memo.holds(first), 'and remembered again');
  });

  it('verifies a token heavier than a sixty-fourth of the budget each time, without remembering it', async () => {
    const memo = verifiedTokensOf(app.services);
    const ids = pharmacies(2_500);
    const token = await sign(300, ids);
    const before = { size: memo.size, weight: memo.weight };
    for (let i = 0; i < 2; i++) assert.deepEqual((await principalOf(token)).pharmacyIds, ids);
    assert.equal(memo.holds(token), false);
    assert.deepEqual({ size: memo.size, weight: memo.weight }, before);
  });
});
