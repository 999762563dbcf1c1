import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { RedisCache } from '../../shared/adapters/redis/cache';
import { isRevoked } from '../../shared/identity/commands';
import type { EventStore } from '../../shared/kernel/ports';
import { testApp } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';
import { skipUnlessReachable } from '../support/reachable';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Issue 11, item 5: credentials that could not be taken back. An access token kept its
 * powers for its 15 minutes after its account was demoted or erased (a former administrator
 * minted a new, permanent partner client with it); partner clients could be neither
 * disabled nor given a new secret.
 */
type App = Awaited<ReturnType<typeof testApp>>;
const PASSWORD = 'a long passphrase';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

describe('attack: using powers that were taken back', () => {
  let app: App;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  async function administrator(): Promise<{ id: string; token: string }> {
    const email = `${randomUUID()}@exemplo.com.br`;
    const { id } = (await invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: { email, password: PASSWORD, name: 'Admin' } })).body;
    assert.equal((await invoke(app.handler('assignRoles'), { method: 'POST', params: { id }, body: { roles: ['admin'] } })).status, 200);
    const token = (await invoke(app.handler('issueToken', { as: 'anonymous' }), { method: 'POST', body: { grant_type: 'password', username: email, password: PASSWORD } })).body
      .access_token as string;
    assert.deepEqual(claims(token).roles, ['admin']);
    return { id, token };
  }

  const mintClient = (token: string, pharmacyId = randomUUID()) =>
    invoke(app.handler('registerClient', { as: 'anonymous' }), {
      method: 'POST',
      headers: bearer(token),
      body: { name: 'Backdoor', scopes: ['offers:write', 'pharmacies:write'], pharmacyIds: [pharmacyId] },
    });

  it('a demoted administrator’s token no longer mints a partner client', async () => {
    const former = await administrator();
    await administrator(); // someone remains an administrator
    assert.equal((await invoke(app.handler('assignRoles'), { method: 'POST', params: { id: former.id }, body: { roles: ['customer'] } })).status, 200);
    const attempt = await mintClient(former.token);
    assert.equal(attempt.status, 401, JSON.stringify(attempt.body));
  });

  it('an erased administrator’s token is refused', async () => {
    const former = await administrator();
    await administrator();
    assert.equal((await mintClient(former.token)).status, 201, 'the token worked before');
    assert.equal((await invoke(app.handler('eraseUser'), { method: 'DELETE', params: { id: former.id } })).status, 200);
    assert.equal((await mintClient(former.token)).status, 401);
  });

  it('a promotion does not revoke, and a token issued after a demotion works with its new powers', async () => {
    const email = `${randomUUID()}@exemplo.com.br`;
    const { id } = (await invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: { email, password: PASSWORD, name: 'Pessoa' } })).body;
    const login = async () =>
      (await invoke(app.handler('issueToken', { as: 'anonymous' }), { method: 'POST', body: { grant_type: 'password', username: email, password: PASSWORD } })).body.access_token as string;
    const before = await login();
    await invoke(app.handler('assignRoles'), { method: 'POST', params: { id }, body: { roles: ['customer', 'catalog-editor'] } });
    const me = (token: string) => invoke(app.handler('currentUser', { as: 'anonymous' }), { headers: bearer(token) });
    assert.equal((await me(before)).status, 200);
    await invoke(app.handler('assignRoles'), { method: 'POST', params: { id }, body: { roles: ['customer'] } });
    assert.equal((await me(before)).status, 401);
    assert.equal((await me(await login())).status, 200);
  });

  describe('partner clients', () => {
    async function partner() {
      const { id: pharmacyId } = (await invoke(app.handler('registerPharmacy'), { method: 'POST', body: pharmacyBody() })).body;
      const registered = await invoke(app.handler('registerClient'), {
        method: 'POST',
        body: { name: 'Parceiro', scopes: ['pharmacies:write'], pharmacyIds: [pharmacyId] },
      });
      assert.equal(registered.status, 201);
      return { pharmacyId, clientId: registered.body.clientId as string, secret: registered.body.clientSecret as string };
    }
    const clientToken = (clientId: string, secret: string) =>
      invoke(app.handler('issueToken', { as: 'anonymous' }), {
        method: 'POST',
        body: { grant_type: 'client_credentials', client_id: clientId, client_secret: secret },
        headers: { 'x-farmacias-client-ip': '203.0.113.50' },
      });
    const changeProfile = (pharmacyId: string, token: string) =>
      invoke(app.handler('changePharmacyProfile', { as: 'anonymous' }), {
        method: 'PATCH',
        params: { id: pharmacyId },
        headers: bearer(token),
        body: { tradeName: `Nome ${randomUUID().slice(0, 8)}` },
      });

    it('a disabled client’s secret and its access tokens are refused at once', async () => {
      const { pharmacyId, clientId, secret } = await partner();
      const token = (await clientToken(clientId, secret)).body.access_token as string;
      assert.equal((await changeProfile(pharmacyId, token)).status, 200);
      assert.equal((await invoke(app.handler('disableClient'), { method: 'POST', params: { id: clientId } })).status, 200);
      assert.equal((await changeProfile(pharmacyId, token)).status, 401, 'the access token it held');
      assert.equal((await clientToken(clientId, secret)).body.error, 'invalid_client', 'its secret');
      assert.equal((await invoke(app.handler('rotateClientSecret'), { method: 'POST', params: { id: clientId }, body: {} })).status, 409, 'no new secret brings it back');
    });

    it('a rotated secret: the new one works, the old one during the overlap only', async () => {
      const { clientId, secret: first } = await partner();
      const rotated = await invoke(app.handler('rotateClientSecret'), { method: 'POST', params: { id: clientId }, body: { overlapSeconds: 3600 } });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.equal(rotated.headers.get('cache-control'), 'no-store');
      const second = rotated.body.clientSecret as string;
      assert.equal((await clientToken(clientId, second)).status, 200);
      assert.equal((await clientToken(clientId, first)).status, 200, 'the previous secret during the overlap');
      const again = await invoke(app.handler('rotateClientSecret'), { method: 'POST', params: { id: clientId }, body: { overlapSeconds: 0 } });
      assert.equal((await clientToken(clientId, again.body.clientSecret)).status, 200);
      assert.equal((await clientToken(clientId, second)).body.error, 'invalid_client', 'no overlap asked: the replaced secret stops at once');
      assert.equal((await clientToken(clientId, first)).body.error, 'invalid_client', 'a secret replaced two rotations ago stops');
    });

    it('an emergency rotation (no overlap) also stops the tokens the leaked secret already issued; a planned one lets them run out', async () => {
      const { pharmacyId, clientId, secret } = await partner();
      const stolen = (await clientToken(clientId, secret)).body.access_token as string;
      const planned = await invoke(app.handler('rotateClientSecret'), { method: 'POST', params: { id: clientId }, body: { overlapSeconds: 3600 } });
      assert.equal((await changeProfile(pharmacyId, stolen)).status, 200, 'a planned rotation takes no token back');
      const emergency = await invoke(app.handler('rotateClientSecret'), { method: 'POST', params: { id: clientId }, body: { overlapSeconds: 0 } });
      assert.equal(emergency.status, 200);
      assert.equal((await changeProfile(pharmacyId, stolen)).status, 401, 'the token the leaked secret issued');
      const fresh = (await clientToken(clientId, emergency.body.clientSecret as string)).body.access_token as string;
      assert.equal((await changeProfile(pharmacyId, fresh)).status, 200, 'a token of the new secret');
      assert.equal((await clientToken(clientId, planned.body.clientSecret as string)).body.error, 'invalid_client');
    });
  });

  it('the check costs a cached read: the event store is read once per subject, not once per request', async () => {
    const subject = randomUUID();
    let reads = 0;
    const counting = new Proxy(app.services.eventStore, {
      get(target, name: keyof EventStore) {
        const value = target[name];
        if (name === 'loadStream') reads += 1; // a load reads the snapshot and the stream's tail in one call
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const services = { ...app.services, eventStore: counting };
    for (let i = 0; i < 50; i++) assert.equal(await isRevoked(services, { subject, kind: 'user', roles: [], scopes: [], pharmacyIds: [], version: 1 }), false);
    assert.ok(reads <= 1, `${reads} loads for 50 checks`);
  });
});

suiteNeeding('attack: a demoted administrator’s token, with the cache on Redis', skipUnlessReachable('Redis', 'REDIS_URL', redisUrl), () => {
  let app: App;
  before(async () => {
    app = await testApp({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `test-revocation-${process.pid}-${Date.now()}:` });
    if (app.services.cache instanceof RedisCache) await app.services.cache.ready();
  });
  after(() => app.services.dispose());

  it('is refused on the request after the demotion, though its standing was cached', async () => {
    const email = `${randomUUID()}@exemplo.com.br`;
    const { id } = (await invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: { email, password: PASSWORD, name: 'Admin' } })).body;
    await invoke(app.handler('assignRoles'), { method: 'POST', params: { id }, body: { roles: ['admin', 'customer'] } });
    const token = (await invoke(app.handler('issueToken', { as: 'anonymous' }), { method: 'POST', body: { grant_type: 'password', username: email, password: PASSWORD } })).body
      .access_token as string;
    const me = () => invoke(app.handler('currentUser', { as: 'anonymous' }), { headers: bearer(token) });
    assert.equal((await me()).status, 200, 'the standing is now cached');
    const other = (await invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: { email: `${randomUUID()}@exemplo.com.br`, password: PASSWORD, name: 'Outra' } }))
      .body.id;
    await invoke(app.handler('assignRoles'), { method: 'POST', params: { id: other }, body: { roles: ['admin'] } });
    assert.equal((await invoke(app.handler('assignRoles'), { method: 'POST', params: { id }, body: { roles: ['customer'] } })).status, 200);
    assert.equal((await me()).status, 401);
  });
});
