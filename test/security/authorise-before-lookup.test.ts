import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { testApp } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';
import { tokenFor } from '../support/tokens';

/**
 * Item 9d: a caller without the right to act on an id got 404 for an id that does not
 * exist and 403 for one that does, so it could tell which ids (accounts) exist. Now both 403.
 */
describe('authorise before looking up: the same 403 for an id that exists and one that does not', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  let customer: string;
  let pharmacist: string;
  let existingUser: string;
  let existingPharmacy: string;
  before(async () => {
    app = await testApp();
    customer = await tokenFor(app.services, { subject: randomUUID(), roles: ['customer'] });
    pharmacist = await tokenFor(app.services, { subject: randomUUID(), roles: ['pharmacist'], pharmacyIds: [randomUUID()] });
    const registered = await invoke(app.handler('registerUser', { as: 'anonymous' }), {
      method: 'POST',
      body: { email: 'someone.else@exemplo.com.br', password: 'a long and unusual passphrase', name: 'Someone Else' },
    });
    assert.equal(registered.status, 201);
    existingUser = registered.body.id;
    existingPharmacy = (await invoke(app.handler('registerPharmacy'), { method: 'POST', body: pharmacyBody() })).body.id;
  });
  after(() => app.services.dispose());

  const as = (token: string) => ({ authorization: `Bearer ${token}` });

  it('a customer erasing another person’s account', async () => {
    for (const id of [existingUser, randomUUID()]) {
      const response = await invoke(app.handler('eraseUser'), { method: 'DELETE', params: { id }, headers: as(customer) });
      assert.equal(response.status, 403, id === existingUser ? 'existing' : 'unknown');
    }
  });

  it('a customer assigning roles on any id', async () => {
    for (const id of [existingUser, randomUUID()]) {
      const response = await invoke(app.handler('assignRoles'), { method: 'POST', params: { id }, body: { roles: ['admin'], pharmacyIds: [] }, headers: as(customer) });
      assert.equal(response.status, 403, id === existingUser ? 'existing' : 'unknown');
    }
  });

  it('a pharmacist changing a pharmacy it is not bound to, or an offer', async () => {
    for (const id of [existingPharmacy, randomUUID()]) {
      const response = await invoke(app.handler('changePharmacyProfile'), { method: 'PATCH', params: { id }, body: { tradeName: 'Minha' }, headers: as(pharmacist) });
      assert.equal(response.status, 403, id === existingPharmacy ? 'existing' : 'unknown');
    }
    const offer = await invoke(app.handler('withdrawOffer'), { method: 'POST', params: { id: randomUUID() }, headers: as(pharmacist) });
    assert.equal(offer.status, 403);
  });

  it('an administrator still gets 404 for an id that does not exist (the control)', async () => {
    const response = await invoke(app.handler('eraseUser'), { method: 'DELETE', params: { id: randomUUID() } });
    assert.equal(response.status, 404);
  });
});
