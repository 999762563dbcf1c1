import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startLocalHost, type LocalHost } from '../../local/host';
import { CLIENT_IP_HEADER } from '../../shared/kernel/client-address';
import { appModules } from '../../shared/platform/app';
import { testApp } from '../support/app';
import { invoke } from '../support/http';
import { testServices } from '../support/services';
import { ADMIN, tokenFor } from '../support/tokens';

/**
 * Issue 11, item 3: the per-address login limit took the first X-Forwarded-For entry, which
 * the caller writes. Varying it bypassed the limit; naming someone else's address locked
 * them out. The address now comes only from the platform: API Management's header in
 * Azure, the socket on the local host.
 */
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const guess = (n: number) => form({ grant_type: 'password', username: `someone${n}@exemplo.com.br`, password: `guessing again ${n}` });

describe('the per-address login limit, behind API Management (the trusted header)', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '50', LOGIN_MAX_FAILURES_PER_ADDRESS: '3' });
  });
  after(() => app.services.dispose());

  const attempt = (n: number, headers: Record<string, string>) =>
    invoke(app.handler('issueToken', { as: 'anonymous' }), { method: 'POST', rawBody: guess(n), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });

  it('is not bypassed by a new X-Forwarded-For (or X-Real-IP, Forwarded) on every guess', async () => {
    const statuses: number[] = [];
    for (let n = 0; n < 8; n++) {
      const spoofed = `198.51.100.${n + 1}`;
      const response = await attempt(n, {
        [CLIENT_IP_HEADER]: '203.0.113.10',
        'x-forwarded-for': `${spoofed}, 10.0.0.1`,
        'x-real-ip': spoofed,
        forwarded: `for=${spoofed}`,
      });
      statuses.push(response.status);
    }
    assert.deepEqual(statuses, [400, 400, 400, 429, 429, 429, 429, 429]);
  });

  it('counts another address apart, and a request no front door named in one shared bucket', async () => {
    assert.equal((await attempt(100, { [CLIENT_IP_HEADER]: '203.0.113.11' })).status, 400);
    const unnamed = [];
    for (let n = 200; n < 205; n++) unnamed.push((await attempt(n, { 'x-forwarded-for': `192.0.2.${n - 199}` })).status);
    assert.deepEqual(unnamed, [400, 400, 400, 429, 429], 'without the trusted header every caller is one address, whatever X-Forwarded-For says');
    assert.equal((await attempt(300, { [CLIENT_IP_HEADER]: 'not an address' })).status, 429, 'a malformed value is no address either');
  });

  it('counts an IPv6 caller by its /64: rotating addresses within one network does not bypass the limit', async () => {
    const statuses = [];
    for (let n = 1; n <= 5; n++) statuses.push((await attempt(400 + n, { [CLIENT_IP_HEADER]: `2001:db8:0:7:${n}::${n}` })).status);
    assert.deepEqual(statuses, [400, 400, 400, 429, 429]);
    assert.equal((await attempt(410, { [CLIENT_IP_HEADER]: '2001:db8:0:8::1' })).status, 400, 'the next /64 is another caller');
  });
});

/** An HTTP request from a chosen loopback address (127.0.0.0/8 is all local on Linux). */
function from(localAddress: string, url: string, body: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...headers } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

describe('the per-address login limit on the local host (the socket address)', () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  let host: LocalHost;
  let partner: { clientId: string; clientSecret: string };
  const attacker = '127.0.0.2';
  const victim = '127.0.0.3';

  before(async () => {
    services = await testServices({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '50', LOGIN_MAX_FAILURES_PER_ADDRESS: '3' });
    host = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {} });
    const admin = await tokenFor(services, ADMIN);
    const created = await fetch(`${host.url}/auth/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Parceiro', scopes: ['offers:write'], pharmacyIds: ['0d0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11'] }),
    });
    assert.equal(created.status, 201);
    partner = (await created.json()) as typeof partner;
  });
  after(async () => {
    await host.stop();
    await services.dispose();
  });

  const token = (address: string, body: string, headers: Record<string, string> = {}) => from(address, `${host.url}/auth/token`, body, headers);
  const partnerLogin = (address: string, secret: string, headers: Record<string, string> = {}) =>
    token(address, form({ grant_type: 'client_credentials', client_id: partner.clientId, client_secret: secret }), headers);

  it('ignores a forged trusted header: a new one on every guess still hits the limit', async () => {
    const statuses: number[] = [];
    for (let n = 0; n < 6; n++) {
      const response = await token(attacker, guess(n), { [CLIENT_IP_HEADER]: `198.51.100.${n + 1}`, 'x-forwarded-for': `192.0.2.${n + 1}` });
      statuses.push(response.status);
    }
    assert.deepEqual(statuses, [400, 400, 400, 429, 429, 429]);
  });

  it("does not lock out the address a caller names: the victim's password and client_credentials logins still go through", async () => {
    for (let n = 10; n < 16; n++) {
      await token(attacker, guess(n), { [CLIENT_IP_HEADER]: victim, 'x-forwarded-for': victim });
      await partnerLogin(attacker, 'a wrong secret', { [CLIENT_IP_HEADER]: victim, 'x-forwarded-for': victim });
    }
    const wrong = await token(victim, guess(99));
    assert.equal(wrong.status, 400, "the victim's own address has no failures counted against it");
    assert.equal(wrong.body.error, 'invalid_grant');
    const granted = await partnerLogin(victim, partner.clientSecret);
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    assert.equal(granted.body.token_type, 'Bearer');
    assert.equal((await partnerLogin(attacker, partner.clientSecret)).status, 429, 'the attacker is the one held back');
  });
});
