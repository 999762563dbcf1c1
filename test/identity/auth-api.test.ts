import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, importJWK, jwtVerify, SignJWT, UnsecuredJWT } from 'jose';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

describe('Authentication API', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_ADDRESS: '50' });
  });
  after(() => app.services.dispose());

  const call = (name: string, options: Parameters<typeof invoke>[1] = {}) => invoke(app.handler(name), options);
  const person = (n: number) => ({
    email: `Maria.Silva+${n}@Exemplo.com.br`,
    password: `uma frase longa ${n} e segura`,
    name: `Maria da Silva Número${n}`,
    cpf: '529.982.247-25',
    phone: '(11) 98765-4321',
  });
  const register = (body: object) => call('registerUser', { method: 'POST', body });
  const token = (form: Record<string, string>, headers: Record<string, string> = {}) =>
    call('issueToken', { method: 'POST', rawBody: new URLSearchParams(form).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  const me = (accessToken: string) => call('currentUser', { headers: { authorization: `Bearer ${accessToken}` } });

  it('registers with personal data sealed: 201, and none of it in clear in the event store', async () => {
    const response = await register(person(1));
    assert.equal(response.status, 201);
    assert.match(response.body.id, /^[0-9a-f-]{36}$/);
    const dataDir = app.services.settings.dataDir;
    const files = readdirSync(dataDir).filter((name) => name.startsWith('events.sqlite'));
    const bytes = files.map((name) => readFileSync(join(dataDir, name)).toString('latin1')).join('');
    for (const value of ['maria.silva+1@exemplo.com.br', 'Maria da Silva Número1', '52998224725', '5511987654321', 'uma frase longa']) {
      assert.ok(!bytes.includes(value), `${value} stands in clear in the event store`);
    }
  });

  it('refuses a second account for the same e-mail, in any case, saying no more than that', async () => {
    await register(person(2));
    const again = await register({ ...person(2), email: 'MARIA.SILVA+2@exemplo.com.br', name: 'Outra Pessoa' });
    assert.equal(again.status, 409);
    assert.doesNotMatch(JSON.stringify(again.body), /Maria|Silva|[0-9a-f]{8}-/);
  });

  it('refuses weak passwords, bad CPFs and unknown fields', async () => {
    const fields = async (body: object) => (await register(body)).body.errors.map((e: { field: string }) => e.field);
    assert.deepEqual(await fields({ ...person(3), password: 'curta' }), ['password']);
    assert.deepEqual(await fields({ ...person(3), password: 'qwertyuiop' }), ['password']);
    assert.deepEqual(await fields({ ...person(3), cpf: '529.982.247-24' }), ['cpf']);
    assert.deepEqual(await fields({ ...person(3), roles: ['admin'] }), ['roles']);
  });

  it('issues ES256 tokens (form or JSON) that verify against the JWKS, with the claims the APIs need', async () => {
    await register(person(4));
    const granted = await token({ grant_type: 'password', username: 'maria.silva+4@exemplo.com.br', password: person(4).password });
    assert.equal(granted.status, 200);
    assert.equal(granted.headers.get('cache-control'), 'no-store');
    assert.equal(granted.body.token_type, 'Bearer');
    assert.equal(granted.body.expires_in, 900);
    assert.match(granted.body.refresh_token, /^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
    const discovery = (await call('openIdConfiguration')).body;
    assert.equal(discovery.issuer, app.services.settings.auth.issuer);
    assert.equal(discovery.jwks_uri, `${app.services.settings.auth.issuer}/jwks`);
    const jwks = (await call('signingKeys')).body;
    assert.ok(jwks.keys.every((key: Record<string, unknown>) => key.kty === 'EC' && key.alg === 'ES256' && !('d' in key)), 'public keys only');
    const { payload, protectedHeader } = await jwtVerify(granted.body.access_token, createLocalJWKSet(jwks), {
      issuer: app.services.settings.auth.issuer,
      audience: app.services.settings.auth.audience,
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(protectedHeader.kid, jwks.keys[0].kid);
    assert.deepEqual(payload.roles, ['customer']);
    assert.equal(typeof payload.sub, 'string');
    // API Management's public product tells a person (pharmacy staff in the web portal) from a partner's machine by this (infra/apim/product-public.xml).
    assert.equal(payload.client_id, undefined, "a person's token names no client");
    assert.equal((payload.exp as number) - (payload.iat as number), 900);
    const json = await call('issueToken', { method: 'POST', body: { grant_type: 'password', username: person(4).email, password: person(4).password } });
    assert.equal(json.status, 200);
    const mine = await me(granted.body.access_token);
    assert.equal(mine.status, 200);
    assert.deepEqual(
      [mine.body.email, mine.body.name, mine.body.cpf, mine.body.phone, mine.body.roles],
      ['maria.silva+4@exemplo.com.br', 'Maria da Silva Número4', '52998224725', '+5511987654321', ['customer']],
    );
  });

  it('answers a wrong password and an unknown account alike', async () => {
    await register(person(5));
    const wrong = await token({ grant_type: 'password', username: person(5).email, password: 'not the password at all' });
    const unknown = await token({ grant_type: 'password', username: 'nobody@exemplo.com.br', password: 'whatever it is here' });
    assert.deepEqual([wrong.status, wrong.body.error, wrong.body.detail], [400, 'invalid_grant', unknown.body.detail]);
    assert.equal(unknown.body.error, 'invalid_grant');
    assert.equal((await token({ grant_type: 'implicit' })).body.error, 'unsupported_grant_type');
    assert.equal((await token({ username: 'x' })).body.error, 'invalid_request');
  });

  it('registers a partner client whose secret is shown once and stored hashed; client_credentials grants its scopes', async () => {
    const pharmacyId = '0d0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11';
    const created = await call('registerClient', { method: 'POST', body: { name: 'Parceiro', scopes: ['offers:write'], pharmacyIds: [pharmacyId] } });
    assert.equal(created.status, 201);
    const { clientId, clientSecret } = created.body;
    const [stored] = await app.services.eventStore.readStream(`client-${clientId}`);
    assert.ok(!JSON.stringify(stored).includes(clientSecret), 'the secret is not stored');
    const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
    const granted = await token({ grant_type: 'client_credentials' }, { authorization: `Basic ${basic}` });
    assert.equal(granted.status, 200);
    assert.equal(granted.body.refresh_token, undefined);
    const claims = JSON.parse(Buffer.from(granted.body.access_token.split('.')[1], 'base64url').toString());
    assert.deepEqual([claims.sub, claims.client_id, claims.scope, claims.pharmacyIds], [clientId, clientId, 'offers:write', [pharmacyId]]);
    const inForm = await token({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
    assert.equal(inForm.status, 200);
    const wrong = await token({ grant_type: 'client_credentials', client_id: clientId, client_secret: 'guess' });
    assert.deepEqual([wrong.status, wrong.body.error], [400, 'invalid_client'], 'credentials in the form: 400 (401 and a challenge are for HTTP Basic)');
    const greedy = await token({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'pharmacies:write' });
    assert.equal(greedy.body.error, 'invalid_scope');
  });

  it('lets only admins assign roles; a pharmacist must name pharmacies', async () => {
    const created = await register(person(10));
    const assign = (body: object, headers: Record<string, string> = {}) =>
      call('assignRoles', { method: 'POST', params: { id: created.body.id }, body, headers });
    assert.equal((await assign({ roles: ['pharmacist'] })).status, 400);
    assert.equal((await assign({ roles: ['pharmacist'], pharmacyIds: ['0d0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11'] })).status, 200);
    const own = (await token({ grant_type: 'password', username: person(10).email, password: person(10).password })).body.access_token;
    assert.equal((await assign({ roles: ['admin'] }, { authorization: `Bearer ${own}` })).status, 403, 'no one promotes themselves');
    assert.deepEqual((await me(own)).body.roles, ['pharmacist']);
  });

  it('throttles failed logins per account with 429 and Retry-After, even for the right password', async () => {
    await register(person(6));
    for (let i = 0; i < 3; i++) assert.equal((await token({ grant_type: 'password', username: person(6).email, password: `wrong password ${i}` })).status, 400);
    const blocked = await token({ grant_type: 'password', username: person(6).email, password: person(6).password });
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
    assert.match(blocked.headers.get('content-type')!, /^application\/json/, 'the token endpoint answers in OAuth\'s format (RFC 6749 §5.2)');
    assert.equal(blocked.body.error, 'temporarily_unavailable');
  });

  it('throttles failed logins per client address', async () => {
    const throttled = await testApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '50', LOGIN_MAX_FAILURES_PER_ADDRESS: '2' });
    const attempt = (n: number, address: string) =>
      invoke(throttled.handler('issueToken'), {
        method: 'POST',
        body: { grant_type: 'password', username: `someone${n}@exemplo.com.br`, password: 'guessing again here' },
        headers: { 'x-farmacias-client-ip': address },
      });
    await attempt(1, '203.0.113.7');
    await attempt(2, '203.0.113.7');
    assert.equal((await attempt(3, '203.0.113.7')).status, 429);
    assert.equal((await attempt(4, '198.51.100.9')).status, 400, 'another address is not blocked');
    await throttled.services.dispose();
  });

  it('rotates refresh tokens; reusing a rotated one revokes the whole family', async () => {
    await register(person(7));
    const first = await token({ grant_type: 'password', username: person(7).email, password: person(7).password });
    const second = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    assert.equal(second.status, 200);
    assert.notEqual(second.body.refresh_token, first.body.refresh_token);
    assert.equal((await me(second.body.access_token)).status, 200);
    const replay = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token });
    assert.deepEqual([replay.status, replay.body.error], [400, 'invalid_grant']);
    const afterTheft = await token({ grant_type: 'refresh_token', refresh_token: second.body.refresh_token });
    assert.equal(afterTheft.status, 400, 'the family is revoked: the newest token dies too');
  });

  it('revokes a refresh token (RFC 7009), and answers 200 for anything else too', async () => {
    await register(person(8));
    const granted = await token({ grant_type: 'password', username: person(8).email, password: person(8).password });
    const revoke = (value: string) =>
      call('revokeToken', { method: 'POST', rawBody: `token=${encodeURIComponent(value)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal((await revoke(granted.body.refresh_token)).status, 200);
    assert.equal((await token({ grant_type: 'refresh_token', refresh_token: granted.body.refresh_token })).status, 400);
    assert.equal((await revoke('not-a-token')).status, 200);
    assert.equal((await revoke(granted.body.access_token)).status, 200);
  });

  describe('token attacks on a protected route: each is a 401 with WWW-Authenticate', () => {
    let valid: string;
    let claims: Record<string, unknown>;
    before(async () => {
      await register(person(9));
      valid = (await token({ grant_type: 'password', username: person(9).email, password: person(9).password })).body.access_token;
      claims = JSON.parse(Buffer.from(valid.split('.')[1], 'base64url').toString());
    });
    const ours = async () => {
      const [key] = app.services.secrets.signingKeys;
      return { kid: key.kid, key: await importJWK({ ...key.privateJwk, kty: 'EC' }, 'ES256') };
    };
    const sign = async (payload: Record<string, unknown>, kid?: string, key?: Parameters<SignJWT['sign']>[0]) => {
      const signer = key ? { kid: kid!, key } : await ours();
      return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ: 'at+jwt' }).sign(signer.key);
    };
    const stranger = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const now = () => Math.floor(Date.now() / 1000);
    const attacks: [string, () => Promise<string>][] = [
      ['alg: none', async () => new UnsecuredJWT(claims).encode()],
      ['another key, our kid', async () => sign(claims, (await ours()).kid, stranger())],
      ['a kid we never issued', async () => sign(claims, 'not-our-kid', stranger())],
      ['expired', async () => sign({ ...claims, iat: now() - 3600, exp: now() - 60 })],
      ['not yet valid', async () => sign({ ...claims, nbf: now() + 3600 })],
      ['wrong audience', async () => sign({ ...claims, aud: 'another-api' })],
      ['wrong issuer', async () => sign({ ...claims, iss: 'https://evil.example' })],
      ['tampered claims', async () => {
        const [header, , signature] = valid.split('.');
        const forged = Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url');
        return `${header}.${forged}.${signature}`;
      }],
      ['garbage', async () => 'aaaa.bbbb.cccc'],
    ];
    for (const [attack, forge] of attacks) {
      it(attack, async () => {
        const response = await me(await forge());
        assert.equal(response.status, 401);
        assert.match(response.headers.get('www-authenticate')!, /^Bearer realm="farmacias"/);
        assert.equal(response.body.detail, 'the access token is not valid');
      });
    }
    it('no token, or not a bearer token', async () => {
      assert.equal((await invoke(app.handler('currentUser', { as: 'anonymous' }))).status, 401);
      const basic = await call('currentUser', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      assert.equal(basic.status, 401);
    });
    it('the genuine token still passes', async () => {
      assert.equal((await me(valid)).status, 200);
    });
  });

});
