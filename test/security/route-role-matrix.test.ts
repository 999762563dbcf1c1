import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { gtinCheckDigit } from '../../shared/catalog/domain/gtin';
import { offerIdFor } from '../../shared/offers/commands';
import { demoProducts } from '../../local/demo-products';
import { testApp } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke, type Call } from '../support/http';
import { tokenFor } from '../support/tokens';

type Caller = 'anonymous' | 'customer' | 'pharmacist' | 'otherPharmacist' | 'catalogEditor' | 'admin' | 'partner' | 'offersOnlyPartner' | 'otherPartner';
const CALLERS: Caller[] = ['anonymous', 'customer', 'pharmacist', 'otherPharmacist', 'catalogEditor', 'admin', 'partner', 'offersOnlyPartner', 'otherPartner'];

interface Fixture {
  pharmacyId: string;
  productId: string;
  offerId: string;
  userId: string;
  /** Set by the prepare step of the client-management routes. */
  clientId?: string;
}

let gtinSequence = 0;
const gtin = () => {
  gtinSequence += 1;
  const body = `789${String(500_000_000 + (Date.now() % 100_000) * 1000 + gtinSequence).slice(-9)}`;
  return body + gtinCheckDigit(body);
};
const validity = { validFrom: '2026-01-01T00:00:00Z', validUntil: '2099-01-01T00:00:00Z', stock: 'in_stock' };

async function registerClientFor(f: Fixture, admin: (name: string, call: Call) => Promise<unknown>) {
  const body = { name: 'Parceiro', scopes: ['offers:write'], pharmacyIds: [f.pharmacyId] };
  f.clientId = ((await admin('registerClient', { method: 'POST', path: 'auth/clients', body })) as { clientId: string }).clientId;
}

/** Each command route: the request a caller makes, what to prepare first, and who may. */
const ROUTES: {
  route: string;
  allowed: Caller[];
  success: number;
  prepare?: (f: Fixture, admin: (name: string, call: Call) => Promise<unknown>) => Promise<unknown>;
  request: (f: Fixture) => Call;
  /** For the batch: the status of its one item. */
  itemStatus?: true;
}[] = (() => {
  const admins: Caller[] = ['admin'];
  const pharmacyStaff: Caller[] = ['admin', 'pharmacist', 'partner'];
  const offerStaff: Caller[] = ['admin', 'pharmacist', 'partner', 'offersOnlyPartner'];
  const editors: Caller[] = ['admin', 'catalogEditor'];
  const onPharmacy = (method: string, path = '', body?: unknown) => (f: Fixture): Call => ({ method, params: { id: f.pharmacyId }, path: `pharmacies/${f.pharmacyId}${path}`, body });
  const onProduct = (method: string, path = '', body?: unknown) => (f: Fixture): Call => ({ method, params: { id: f.productId }, path: `products/${f.productId}${path}`, body });
  const onOffer = (method: string, path = '', body?: unknown) => (f: Fixture): Call => ({ method, params: { id: f.offerId }, path: `offers/${f.offerId}${path}`, body });
  const address = { street: 'Rua Nova', number: '1', district: 'Centro', city: 'Santos', state: 'SP', postalCode: '11010-000' };
  return [
    { route: 'registerPharmacy', allowed: admins, success: 201, request: () => ({ method: 'POST', path: 'pharmacies', body: pharmacyBody() }) },
    { route: 'changePharmacyProfile', allowed: pharmacyStaff, success: 200, request: onPharmacy('PATCH', '', { tradeName: 'Novo Nome' }) },
    { route: 'changeOpeningHours', allowed: pharmacyStaff, success: 200, request: onPharmacy('PUT', '/opening-hours', { openingHours: [{ day: 'sun', opens: '08:00', closes: '12:00' }] }) },
    { route: 'relocatePharmacy', allowed: pharmacyStaff, success: 200, request: onPharmacy('POST', '/relocation', { address, location: { lat: -23.96, lon: -46.33 } }) },
    { route: 'closePharmacy', allowed: pharmacyStaff, success: 200, request: onPharmacy('POST', '/closure') },
    {
      route: 'reopenPharmacy',
      allowed: pharmacyStaff,
      success: 200,
      prepare: (f, admin) => admin('closePharmacy', onPharmacy('POST', '/closure')(f)),
      request: onPharmacy('POST', '/reopening'),
    },
    { route: 'registerProduct', allowed: editors, success: 201, request: () => ({ method: 'POST', path: 'products', body: { ...demoProducts()[3], gtin: gtin() } }) },
    { route: 'changeProduct', allowed: editors, success: 200, request: onProduct('PATCH', '', { presentation: '750 mg, 30 comprimidos' }) },
    { route: 'discontinueProduct', allowed: editors, success: 200, request: onProduct('POST', '/discontinuation') },
    {
      route: 'reinstateProduct',
      allowed: editors,
      success: 200,
      prepare: (f, admin) => admin('discontinueProduct', onProduct('POST', '/discontinuation')(f)),
      request: onProduct('POST', '/reinstatement'),
    },
    { route: 'publishOffer', allowed: offerStaff, success: 200, request: (f) => ({ method: 'POST', path: 'offers', body: { pharmacyId: f.pharmacyId, productId: f.productId, priceCents: 999, ...validity } }) },
    { route: 'changeOfferPrice', allowed: offerStaff, success: 200, request: onOffer('POST', '/price', { priceCents: 777 }) },
    { route: 'withdrawOffer', allowed: offerStaff, success: 200, request: onOffer('POST', '/withdrawal') },
    {
      route: 'publishOfferBatch',
      allowed: offerStaff,
      success: 200,
      itemStatus: true,
      request: (f) => ({ method: 'POST', path: 'offers/batch', body: { items: [{ pharmacyId: f.pharmacyId, productId: f.productId, priceCents: 555, ...validity }] } }),
    },
    { route: 'assignRoles', allowed: admins, success: 200, request: (f) => ({ method: 'POST', params: { id: f.userId }, path: `auth/users/${f.userId}/roles`, body: { roles: ['catalog-editor'] } }) },
    { route: 'eraseUser', allowed: admins, success: 200, request: (f) => ({ method: 'DELETE', params: { id: f.userId }, path: `auth/users/${f.userId}` }) },
    { route: 'registerClient', allowed: admins, success: 201, request: (f) => ({ method: 'POST', path: 'auth/clients', body: { name: 'Parceiro', scopes: ['offers:write'], pharmacyIds: [f.pharmacyId] } }) },
    {
      route: 'rotateClientSecret',
      allowed: admins,
      success: 200,
      prepare: registerClientFor,
      request: (f) => ({ method: 'POST', params: { id: f.clientId! }, path: `auth/clients/${f.clientId}/secret`, body: { overlapSeconds: 60 } }),
    },
    {
      route: 'disableClient',
      allowed: admins,
      success: 200,
      prepare: registerClientFor,
      request: (f) => ({ method: 'POST', params: { id: f.clientId! }, path: `auth/clients/${f.clientId}/disablement` }),
    },
    { route: 'pharmacyHistory', allowed: admins, success: 200, request: onPharmacy('GET', '/history') },
    { route: 'productHistory', allowed: admins, success: 200, request: onProduct('GET', '/history') },
    { route: 'offerHistory', allowed: admins, success: 200, request: onOffer('GET', '/history') },
  ];
})();

describe('route × role matrix: every command route, every kind of caller, the exact status', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  const elsewhere = randomUUID();

  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const asAdmin = async (name: string, call: Call) => {
    const response = await invoke(app.handler(name), call);
    assert.ok(response.status < 300, `${name} as admin: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body;
  };

  /** Fresh state per cell: a command that succeeds must not find the last cell's leftovers. */
  async function fixture(withUser: boolean): Promise<Fixture> {
    const { id: pharmacyId } = (await asAdmin('registerPharmacy', { method: 'POST', body: pharmacyBody() })) as { id: string };
    const { id: productId } = (await asAdmin('registerProduct', { method: 'POST', body: { ...demoProducts()[3], gtin: gtin() } })) as { id: string };
    await asAdmin('publishOffer', { method: 'POST', body: { pharmacyId, productId, priceCents: 999, ...validity } });
    const userId = withUser
      ? ((await invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: { email: `${randomUUID()}@exemplo.com.br`, password: 'a matrix passphrase', name: 'Pessoa' } })).body.id as string)
      : randomUUID();
    return { pharmacyId, productId, offerId: offerIdFor(pharmacyId, productId), userId };
  }

  async function tokenOf(caller: Caller, pharmacyId: string): Promise<string | undefined> {
    const both = ['offers:write', 'pharmacies:write'];
    switch (caller) {
      case 'anonymous':
        return undefined;
      case 'customer':
        return tokenFor(app.services, { subject: randomUUID(), roles: ['customer'] });
      case 'pharmacist':
        return tokenFor(app.services, { subject: randomUUID(), roles: ['pharmacist'], scopes: both, pharmacyIds: [pharmacyId] });
      case 'otherPharmacist':
        return tokenFor(app.services, { subject: randomUUID(), roles: ['pharmacist'], scopes: both, pharmacyIds: [elsewhere] });
      case 'catalogEditor':
        return tokenFor(app.services, { subject: randomUUID(), roles: ['catalog-editor'], scopes: ['catalog:write'] });
      case 'admin':
        return tokenFor(app.services, { subject: randomUUID(), roles: ['admin'] });
      case 'partner':
        return tokenFor(app.services, { subject: randomUUID(), clientId: 'partner', scopes: both, pharmacyIds: [pharmacyId] });
      case 'offersOnlyPartner':
        return tokenFor(app.services, { subject: randomUUID(), clientId: 'partner', scopes: ['offers:write'], pharmacyIds: [pharmacyId] });
      case 'otherPartner':
        return tokenFor(app.services, { subject: randomUUID(), clientId: 'partner', scopes: both, pharmacyIds: [elsewhere] });
    }
  }

  it('covers every route that changes something, and every history', () => {
    const guarded = app.modules.flatMap((m) => m.routes).filter((r) => r.methods.some((m) => m !== 'GET') || r.name.endsWith('History'));
    // Open to anyone (registration, OAuth) or to every signed-in person about themselves (erasing one's own account).
    const open = ['registerUser', 'issueToken', 'revokeToken', 'eraseMe'];
    assert.deepEqual(ROUTES.map((r) => r.route).sort(), guarded.map((r) => r.name).filter((name) => !open.includes(name)).sort());
  });

  for (const spec of ROUTES) {
    for (const caller of CALLERS) {
      const allowed = spec.allowed.includes(caller);
      const expected = caller === 'anonymous' ? 401 : allowed || spec.itemStatus ? spec.success : 403;
      const label = spec.itemStatus && caller !== "anonymous" ? `${expected}, item ${allowed ? 200 : 403}` : String(expected);
      it(`${spec.route} as ${caller} → ${label}`, async () => {
        const f = await fixture(spec.route === 'assignRoles' || spec.route === 'eraseUser');
        await spec.prepare?.(f, asAdmin);
        const token = await tokenOf(caller, f.pharmacyId);
        const call = spec.request(f);
        const response = await invoke(app.handler(spec.route, { as: 'anonymous' }), {
          ...call,
          headers: token ? { authorization: `Bearer ${token}` } : {},
        });
        assert.equal(response.status, expected, JSON.stringify(response.body));
        if (expected === 401) assert.match(response.headers.get('www-authenticate')!, /^Bearer/);
        if (expected >= 400) assert.match(response.headers.get('content-type')!, /problem\+json/);
        if (spec.itemStatus && caller !== 'anonymous') {
          assert.equal(response.body.results[0].status, allowed ? 200 : 403, JSON.stringify(response.body.results[0]));
        }
      });
    }
  }

  it('puts the caller in each event’s metadata', async () => {
    const f = await fixture(false);
    const token = await tokenOf('pharmacist', f.pharmacyId);
    const subject = JSON.parse(Buffer.from(token!.split('.')[1], 'base64url').toString()).sub;
    await invoke(app.handler('closePharmacy', { as: 'anonymous' }), { method: 'POST', params: { id: f.pharmacyId }, headers: { authorization: `Bearer ${token}` } });
    const events = await app.services.eventStore.readStream(`pharmacy-${f.pharmacyId}`);
    assert.equal(events[events.length - 1].metadata.actor, subject);
  });
});
