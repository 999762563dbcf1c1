import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { demoProducts } from '../../local/demo-products';
import { startLocalHost, type LocalHost } from '../../local/host';
import { issueAccessToken, MOST_PHARMACIES_IN_A_TOKEN } from '../../shared/identity/tokens';
import { appModules } from '../../shared/platform/app';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { testServices } from '../support/services';
import { ADMIN, tokenFor } from '../support/tokens';

/**
 * Attack review: a partner client could be registered for 5 000 pharmacies, and its access
 * token names each (260 KB then), far past any header limit: such a client could never call
 * the API. The bound is what a token can carry in a 16 KB request head (Node's default, the
 * local host's; Azure's front ends and API Management accept about as much), the other
 * headers left a margin.
 */
const HEAD_BYTES = 16_384;
const OTHER_HEADERS_BYTES = 4_096;

describe('attack: a partner client whose access token no request could carry', () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  let host: LocalHost;
  let admin: Record<string, string>;
  let pharmacyId = '';
  /** One product for the client's offer, another for the pharmacist's: each a new offer. */
  const productIds: string[] = [];

  before(async () => {
    services = await testServices();
    host = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {} });
    admin = { authorization: `Bearer ${await tokenFor(services, ADMIN)}` };
    const pharmacy = await host.dispatch('POST', 'pharmacies', pharmacyBody(), admin);
    assert.equal(pharmacy.status, 201, JSON.stringify(pharmacy.body));
    pharmacyId = (pharmacy.body as { id: string }).id;
    for (const product of demoProducts().slice(0, 2)) {
      const created = await host.dispatch('POST', 'products', { ...product, gtin: uniqueGtin() }, admin);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      productIds.push((created.body as { id: string }).id);
    }
  });
  after(async () => {
    await host?.stop();
    await services?.dispose();
  });

  const registerClient = (pharmacyIds: string[]) =>
    host.dispatch('POST', 'auth/clients', { name: 'Rede Parceira', scopes: ['offers:write'], pharmacyIds }, admin);
  const othersThan = (count: number) => Array.from({ length: count }, () => randomUUID());
  const offer = (productId: string) => ({
    pharmacyId,
    productId,
    priceCents: 990,
    stock: 'in_stock',
    validFrom: new Date(Date.now() - 86_400_000).toISOString(),
    validUntil: new Date(Date.now() + 86_400_000).toISOString(),
  });
  const postOffer = (token: string, productId = productIds[0]) =>
    fetch(`${host.url}/offers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify(offer(productId)),
    });

  it(`registers a client for ${MOST_PHARMACIES_IN_A_TOKEN} pharmacies, whose token the local host accepts in an Authorization header`, async () => {
    const created = await registerClient([pharmacyId, ...othersThan(MOST_PHARMACIES_IN_A_TOKEN - 1)]);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { clientId, clientSecret } = created.body as { clientId: string; clientSecret: string };
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret });
    const granted = await fetch(`${host.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    assert.equal(granted.status, 200);
    const token = ((await granted.json()) as { access_token: string }).access_token;
    const header = `Authorization: Bearer ${token}\r\n`.length;
    assert.ok(header <= HEAD_BYTES - OTHER_HEADERS_BYTES, `the header is ${header} bytes, over ${HEAD_BYTES - OTHER_HEADERS_BYTES}`);
    const answer = await postOffer(token);
    assert.equal(answer.status, 201, await answer.text());
  });

  it(`refuses a client for ${MOST_PHARMACIES_IN_A_TOKEN + 1} pharmacies with a 400 that says why`, async () => {
    const refused = await registerClient(othersThan(MOST_PHARMACIES_IN_A_TOKEN + 1));
    assert.equal(refused.status, 400);
    assert.match(refused.headers['content-type'], /^application\/problem\+json/);
    const { errors } = refused.body as { errors: Array<{ field: string; message: string }> };
    assert.deepEqual(
      errors.map(({ field }) => field),
      ['pharmacyIds'],
    );
    assert.match(errors[0].message, new RegExp(`at most ${MOST_PHARMACIES_IN_A_TOKEN} pharmacies.*header`));
  });

  it('would otherwise issue a token the local host refuses (431): 320 pharmacies make 17 KB', async () => {
    const pharmacyIds = [pharmacyId, ...othersThan(319)];
    const token = await issueAccessToken(services, { subject: randomUUID(), clientId: randomUUID(), roles: [], scopes: ['offers:write'], pharmacyIds });
    assert.equal((await postOffer(token)).status, 431);
  });

  it(`gives a pharmacist ${MOST_PHARMACIES_IN_A_TOKEN} pharmacies, whose token is accepted, and refuses one more with a 400 (500 before)`, async () => {
    const person = { email: `rede-${randomUUID().slice(0, 8)}@exemplo.com.br`, password: 'uma frase longa e segura', name: 'Farmacêutica da Rede' };
    const registered = await host.dispatch('POST', 'auth/register', person);
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const roles = (pharmacyIds: string[]) => host.dispatch('POST', `auth/users/${(registered.body as { id: string }).id}/roles`, { roles: ['pharmacist'], pharmacyIds }, admin);
    const refused = await roles(othersThan(MOST_PHARMACIES_IN_A_TOKEN + 1));
    assert.equal(refused.status, 400);
    assert.match((refused.body as { errors: Array<{ message: string }> }).errors[0].message, new RegExp(`at most ${MOST_PHARMACIES_IN_A_TOKEN} pharmacies.*header`));
    const assigned = await roles([pharmacyId, ...othersThan(MOST_PHARMACIES_IN_A_TOKEN - 1)]);
    assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
    const form = new URLSearchParams({ grant_type: 'password', username: person.email, password: person.password });
    const granted = await fetch(`${host.url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    assert.equal(granted.status, 200);
    const answer = await postOffer(((await granted.json()) as { access_token: string }).access_token, productIds[1]);
    assert.equal(answer.status, 201, await answer.text());
  });
});
