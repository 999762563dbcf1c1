import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

/**
 * Issue 11, items 7 and 8: a malformed `%` in HTTP Basic credentials was a 500 with a stack
 * in the log (and no counted failure); the token endpoint answered problem+json, which
 * OAuth client libraries do not read; a request without credentials was told
 * `error="invalid_token"`; repeated parameters were taken (the last one won).
 */
describe('the token and revocation endpoints answer errors as OAuth has them', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  let client: { clientId: string; clientSecret: string };
  before(async () => {
    app = await testApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '50', LOGIN_MAX_FAILURES_PER_ADDRESS: '3' });
    const created = await invoke(app.handler('registerClient'), {
      method: 'POST',
      body: { name: 'Parceiro', scopes: ['offers:write'], pharmacyIds: ['0d0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11'] },
    });
    client = created.body;
  });
  after(() => app.services.dispose());

  let addresses = 0;
  /** Each call from an address of its own unless told: the per-address limit is tested on purpose only. */
  const post = (name: 'issueToken' | 'revokeToken', body: string, headers: Record<string, string> = {}) =>
    invoke(app.handler(name, { as: 'anonymous' }), {
      method: 'POST',
      rawBody: body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-farmacias-client-ip': `198.51.100.${++addresses}`, ...headers },
    });
  const basic = (raw: string) => ({ authorization: `Basic ${Buffer.from(raw, 'utf8').toString('base64')}` });

  /** RFC 6749 §5.2: application/json, `error` (and a description in its character set), never cached. */
  const assertOAuthError = (response: Awaited<ReturnType<typeof post>>, status: number, error: string) => {
    assert.equal(response.status, status, JSON.stringify(response.body));
    assert.match(response.headers.get('content-type')!, /^application\/json(;|$)/);
    assert.equal(response.body.error, error);
    assert.match(response.body.error_description, /^[\x20\x21\x23-\x5b\x5d-\x7e]+$/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(response.body.type, undefined, 'not a problem document');
  };

  describe('malformed HTTP Basic credentials (item 7)', () => {
    for (const [what, raw] of [
      ['a lone %', `%:secret`],
      ['a truncated escape in the id', `${'0d0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d1'}%E:secret`],
      ['an invalid UTF-8 escape in the secret', `0d0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11:%C0%AF%ZZ`],
      ['no colon', 'no-colon-at-all'],
    ] as const) {
      it(`${what}: 401 invalid_client with a Basic challenge, and nothing logged as an error`, async () => {
        const response = await post('issueToken', 'grant_type=client_credentials', basic(raw));
        assertOAuthError(response, 401, 'invalid_client');
        assert.match(response.headers.get('www-authenticate')!, /^Basic realm="farmacias"/);
        assert.deepEqual(response.logs.filter((line) => /^error/.test(line)), []);
        assert.doesNotMatch(JSON.stringify(response.body), /URIError|at .*\.js/);
      });
    }

    it('a Basic header that is no base64 at all: 401 invalid_client', async () => {
      const response = await post('issueToken', 'grant_type=client_credentials', { authorization: 'Basic !!!not base64!!!' });
      assertOAuthError(response, 401, 'invalid_client');
    });

    it('each counts as a failed login of its address', async () => {
      const from = { 'x-farmacias-client-ip': '203.0.113.77' };
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await post('issueToken', 'grant_type=client_credentials', { ...from, ...basic(`%${i}:x`) })).status);
      assert.deepEqual(statuses, [401, 401, 401, 429]);
    });

    it('form-encoded parts decode (RFC 6749 §2.3.1), and the right ones still pass', async () => {
      const encoded = `${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`;
      assert.equal((await post('issueToken', 'grant_type=client_credentials', basic(encoded))).status, 200);
      const wrong = await post('issueToken', 'grant_type=client_credentials', basic(`${client.clientId}:a+b%3Ac`));
      assertOAuthError(wrong, 401, 'invalid_client');
    });
  });

  describe('RFC 6749 §5.2 error responses (item 8)', () => {
    it('invalid_client: 401 with a Basic challenge for HTTP Basic; 400 without a challenge for form credentials', async () => {
      const viaBasic = await post('issueToken', 'grant_type=client_credentials', basic(`${client.clientId}:wrong`));
      assertOAuthError(viaBasic, 401, 'invalid_client');
      assert.match(viaBasic.headers.get('www-authenticate')!, /^Basic realm="farmacias"/);
      const viaForm = await post('issueToken', new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: 'wrong' }).toString());
      assertOAuthError(viaForm, 400, 'invalid_client');
      assert.equal(viaForm.headers.get('www-authenticate'), null);
      const none = await post('issueToken', 'grant_type=client_credentials');
      assertOAuthError(none, 400, 'invalid_client');
    });

    it('invalid_grant, unsupported_grant_type, invalid_scope and invalid_request', async () => {
      assertOAuthError(await post('issueToken', 'grant_type=password&username=nobody%40exemplo.com.br&password=wrong%20password'), 400, 'invalid_grant');
      assertOAuthError(await post('issueToken', 'grant_type=refresh_token&refresh_token=not-a-token'), 400, 'invalid_grant');
      assertOAuthError(await post('issueToken', 'grant_type=authorization_code&code=x'), 400, 'unsupported_grant_type');
      assertOAuthError(await post('issueToken', 'grant_type=password&username=someone%40exemplo.com.br'), 400, 'invalid_request');
      assertOAuthError(await post('issueToken', ''), 400, 'invalid_request');
      const greedy = new URLSearchParams({ grant_type: 'client_credentials', client_id: client.clientId, client_secret: client.clientSecret, scope: 'users:admin' });
      assertOAuthError(await post('issueToken', greedy.toString()), 400, 'invalid_scope');
    });

    it('a body of another media type: 415, still in OAuth form', async () => {
      assertOAuthError(await post('issueToken', '<grant/>', { 'content-type': 'text/xml' }), 415, 'invalid_request');
    });

    it('refuses a parameter sent twice (RFC 6749 §3.1), on both endpoints', async () => {
      const twice = [
        'grant_type=password&grant_type=client_credentials',
        'grant_type=password&username=a%40exemplo.com.br&username=b%40exemplo.com.br&password=wrong%20password',
        `grant_type=client_credentials&client_id=${client.clientId}&client_id=${client.clientId}&client_secret=${client.clientSecret}`,
        `grant_type=client_credentials&client_id=${client.clientId}&client_secret=wrong&client_secret=${client.clientSecret}`,
      ];
      for (const body of twice) {
        const response = await post('issueToken', body);
        assertOAuthError(response, 400, 'invalid_request');
        assert.match(response.body.error_description, /more than once/);
      }
      assertOAuthError(await post('revokeToken', 'token=a&token=b'), 400, 'invalid_request');
      for (const name of ['constructor', 'toString']) {
        const response = await post('issueToken', `grant_type=client_credentials&${name}=x`);
        assertOAuthError(response, 400, 'invalid_request');
        assert.match(response.body.error_description, /is not allowed/, name);
      }
      // joi would drop a __proto__ member without a word: refused as any unknown name is, and nothing's prototype changes.
      for (const body of ['grant_type=client_credentials&__proto__=x&__proto__=y', 'grant_type=client_credentials&__proto__=x']) {
        const response = await post('issueToken', body);
        assertOAuthError(response, 400, 'invalid_request');
        assert.match(response.body.error_description, /__proto__ is not allowed/, body);
      }
      assert.equal(({} as Record<string, unknown>).x, undefined);
    });

    it('refuses two client authentication methods at once (RFC 6749 §2.3)', async () => {
      const both = await post('issueToken', `grant_type=client_credentials&client_secret=${client.clientSecret}`, basic(`${client.clientId}:${client.clientSecret}`));
      assertOAuthError(both, 400, 'invalid_request');
    });

    it('the revocation endpoint too (RFC 7009 §2.2.1), and it takes what libraries send', async () => {
      assertOAuthError(await post('revokeToken', 'token_type_hint=refresh_token'), 400, 'invalid_request');
      assertOAuthError(await post('revokeToken', 'token=x&token_type_hint=id_token'), 400, 'invalid_request');
      assert.equal((await post('revokeToken', 'token=x&client_id=web-app')).status, 200);
    });
  });

  describe('challenges on a protected route (RFC 6750 §3.1)', () => {
    const me = (headers: Record<string, string> = {}) => invoke(app.handler('currentUser', { as: 'anonymous' }), { headers });

    it('no credentials, or credentials of another scheme: a bare Bearer challenge with no error code', async () => {
      const attempts: Record<string, string>[] = [{}, { authorization: 'Basic dXNlcjpwYXNz' }, { authorization: 'Digest username="x"' }];
      for (const headers of attempts) {
        const response = await me(headers);
        assert.equal(response.status, 401);
        assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="farmacias"', JSON.stringify(headers));
      }
    });

    it('a malformed or invalid token: error="invalid_token"', async () => {
      for (const value of ['Bearer', 'Bearer not-a-jwt', 'Bearer a.b', 'Bearer aaaa.bbbb.cccc', 'bearer aaaa.bbbb.cccc']) {
        const response = await me({ authorization: value });
        assert.equal(response.status, 401);
        assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="farmacias", error="invalid_token"', value);
      }
    });
  });
});
