import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startLocalHost, type LocalHost } from '../../local/host';
import { appModules } from '../../shared/platform/app';
import { testServices } from '../support/services';
import { ADMIN, tokenFor } from '../support/tokens';

/**
 * Issue 11, item 8: a standard OAuth client library, openid-client (v6, ESM: loaded with
 * import()), against the local host over HTTP: discovery, client_credentials (HTTP Basic
 * and form), password, refresh_token and revocation, and every error answer read as the
 * library's own error types. Before, the token endpoint's problem+json errors were not
 * readable by it.
 */
type OpenIdClient = typeof import('openid-client');

/** A free port, so that the issuer (which discovery checks) can be known before the host starts. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe('a standard OAuth client library (openid-client) against the local host', () => {
  let oidc: OpenIdClient;
  let services: Awaited<ReturnType<typeof testServices>>;
  let host: LocalHost;
  let issuer: URL;
  let partner: { clientId: string; clientSecret: string };
  const person = { email: 'cliente.oauth@exemplo.com.br', password: 'uma frase longa e segura', name: 'Cliente OAuth' };

  before(async () => {
    oidc = await import('openid-client');
    const port = await freePort();
    issuer = new URL(`http://127.0.0.1:${port}/api/auth`);
    services = await testServices({ AUTH_ISSUER: issuer.href, LOGIN_MAX_FAILURES_PER_ACCOUNT: '50', LOGIN_MAX_FAILURES_PER_ADDRESS: '50' });
    host = await startLocalHost({ modules: appModules(async () => services), services, port, requestLog: false, log: () => {} });
    const admin = await tokenFor(services, ADMIN);
    const post = (path: string, body: object, headers: Record<string, string> = {}) =>
      fetch(`${host.url}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    assert.equal((await post('auth/register', person)).status, 201);
    const created = await post('auth/clients', { name: 'Parceiro OAuth', scopes: ['offers:write'], pharmacyIds: ['0d0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11'] }, { authorization: `Bearer ${admin}` });
    assert.equal(created.status, 201);
    partner = (await created.json()) as typeof partner;
  });
  after(async () => {
    await host?.stop();
    await services?.dispose();
  });

  /** Discovery at `<issuer>/.well-known/openid-configuration`, plain HTTP allowed for the test. */
  const configure = (clientId: string, auth: ReturnType<OpenIdClient['None']>) =>
    oidc.discovery(issuer, clientId, undefined, auth, { execute: [oidc.allowInsecureRequests] });

  /** The library's error of a failed call, checked to be of the given type. */
  async function refusal<T extends Error>(call: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
    const error = await call.then(
      () => assert.fail('the call succeeded'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}${(error as Error)?.cause ? ` (${JSON.stringify((error as Error).cause)})` : ''}`);
    return error as T;
  }

  it('discovers the server metadata', async () => {
    const config = await configure('farmacias-app', oidc.None());
    const metadata = config.serverMetadata();
    assert.equal(metadata.issuer, issuer.href);
    assert.equal(metadata.token_endpoint, `${issuer.href}/token`);
    assert.equal(metadata.revocation_endpoint, `${issuer.href}/revoke`);
    assert.ok(metadata.grant_types_supported?.includes('client_credentials'));
  });

  it('client_credentials with HTTP Basic and with the form; a wrong secret is read as an OAuth error either way', async () => {
    for (const auth of [oidc.ClientSecretBasic(partner.clientSecret), oidc.ClientSecretPost(partner.clientSecret)]) {
      const granted = await oidc.clientCredentialsGrant(await configure(partner.clientId, auth), { scope: 'offers:write' });
      assert.equal(granted.token_type, 'bearer');
      assert.equal(granted.scope, 'offers:write');
      assert.ok(granted.access_token.split('.').length === 3);
      assert.equal(granted.refresh_token, undefined);
    }
    // The form: RFC 6749 §5.2's 400 invalid_client, read from the body.
    const viaForm = await refusal(oidc.clientCredentialsGrant(await configure(partner.clientId, oidc.ClientSecretPost('a wrong secret'))), oidc.ResponseBodyError);
    assert.deepEqual([viaForm.status, viaForm.error], [400, 'invalid_client']);
    assert.ok(viaForm.error_description);
    // HTTP Basic: §5.2's 401 with a Basic challenge, which the library reports as a challenge.
    const viaBasic = await refusal(oidc.clientCredentialsGrant(await configure(partner.clientId, oidc.ClientSecretBasic('a wrong secret'))), oidc.WWWAuthenticateChallengeError);
    assert.equal(viaBasic.status, 401);
    assert.equal(viaBasic.cause[0].scheme, 'basic');
    assert.equal(viaBasic.cause[0].parameters.realm, 'farmacias');
    const scope = await refusal(oidc.clientCredentialsGrant(await configure(partner.clientId, oidc.ClientSecretBasic(partner.clientSecret)), { scope: 'users:admin' }), oidc.ResponseBodyError);
    assert.deepEqual([scope.status, scope.error], [400, 'invalid_scope']);
  });

  it('password, then refresh_token; a wrong password and an unknown grant are read as OAuth errors', async () => {
    const config = await configure('farmacias-app', oidc.None());
    const granted = await oidc.genericGrantRequest(config, 'password', { username: person.email, password: person.password });
    assert.equal(granted.token_type, 'bearer');
    assert.ok(granted.refresh_token);
    assert.ok(granted.expiresIn()! > 0);
    const refreshed = await oidc.refreshTokenGrant(config, granted.refresh_token!);
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== granted.refresh_token, 'rotated');

    const wrong = await refusal(oidc.genericGrantRequest(config, 'password', { username: person.email, password: 'not the password at all' }), oidc.ResponseBodyError);
    assert.deepEqual([wrong.status, wrong.error], [400, 'invalid_grant']);
    const unknown = await refusal(oidc.genericGrantRequest(config, 'urn:ietf:params:oauth:grant-type:device_code', { device_code: 'x' }), oidc.ResponseBodyError);
    assert.deepEqual([unknown.status, unknown.error], [400, 'unsupported_grant_type']);
    const incomplete = await refusal(oidc.genericGrantRequest(config, 'password', { username: person.email }), oidc.ResponseBodyError);
    assert.deepEqual([incomplete.status, incomplete.error], [400, 'invalid_request']);
  });

  it('revocation; the revoked refresh token is then read as invalid_grant', async () => {
    const config = await configure('farmacias-app', oidc.None());
    const granted = await oidc.genericGrantRequest(config, 'password', { username: person.email, password: person.password });
    await oidc.tokenRevocation(config, granted.refresh_token!, { token_type_hint: 'refresh_token' });
    const revoked = await refusal(oidc.refreshTokenGrant(config, granted.refresh_token!), oidc.ResponseBodyError);
    assert.deepEqual([revoked.status, revoked.error], [400, 'invalid_grant']);
    // RFC 7009: an access token, or anything unknown, is answered 200 too.
    await oidc.tokenRevocation(config, granted.access_token);
    const malformed = await refusal(oidc.tokenRevocation(config, 'x', { token_type_hint: 'id_token' }), oidc.ResponseBodyError);
    assert.deepEqual([malformed.status, malformed.error], [400, 'invalid_request']);
  });

  it('a protected resource with the token it issued; a bad token is read as the invalid_token challenge', async () => {
    const config = await configure('farmacias-app', oidc.None());
    const granted = await oidc.genericGrantRequest(config, 'password', { username: person.email, password: person.password });
    const me = await oidc.fetchProtectedResource(config, granted.access_token, new URL(`${host.url}/auth/me`), 'GET');
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { email: string }).email, person.email);
    const forged = await refusal(oidc.fetchProtectedResource(config, `${granted.access_token}x`, new URL(`${host.url}/auth/me`), 'GET'), oidc.WWWAuthenticateChallengeError);
    assert.equal(forged.status, 401);
    assert.deepEqual([forged.cause[0].scheme, forged.cause[0].parameters.error], ['bearer', 'invalid_token']);
  });
});
