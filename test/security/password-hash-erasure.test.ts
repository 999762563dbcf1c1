import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { userStreamId } from '../../shared/identity/commands';
import { hashPassword, verifyPassword } from '../../shared/identity/passwords';
import { emailBlindIndex, openPasswordHash, sealPersonalData } from '../../shared/identity/vault';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

/**
 * Item 9k: the scrypt hash stayed readable in the UserRegistered event after the person's
 * erasure, crackable offline. It is now sealed with the person's data key, which erasure
 * destroys; events written before (with a plain hash) stay readable and are re-sealed at login.
 */
describe('the password hash is sealed with the person’s key and gone with the erasure', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const PASSWORD = 'a long and unusual passphrase';
  const register = (email: string) => invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: { email, password: PASSWORD, name: 'Rita' } });
  const login = (username: string) =>
    invoke(app.handler('issueToken', { as: 'anonymous' }), { method: 'POST', body: { grant_type: 'password', username, password: PASSWORD } });
  const hashesIn = async (id: string) =>
    (await app.services.eventStore.readStream(userStreamId(id))).flatMap((event) => {
      const data = event.data as { passwordHash?: string };
      return data.passwordHash ? [data.passwordHash] : [];
    });

  it('no event holds a hash in clear; the person’s key opens it', async () => {
    const { body } = await register('rita@exemplo.com.br');
    const [sealed] = await hashesIn(body.id);
    assert.doesNotMatch(sealed, /scrypt|\$/);
    const opened = await openPasswordHash(app.services, body.id, sealed);
    assert.match(opened!, /^scrypt\$/);
    assert.ok(await verifyPassword(PASSWORD, opened!));
    // Not even in the database file.
    for (const name of ['events.sqlite', 'events.sqlite-wal']) {
      const path = join(app.services.settings.dataDir, name);
      if (existsSync(path)) assert.equal(readFileSync(path).includes(opened!.split('$')[5]), false, name);
    }
  });

  it('after the erasure the hash cannot be opened by anyone', async () => {
    const { body } = await register('rita.erased@exemplo.com.br');
    const token = (await login('rita.erased@exemplo.com.br')).body.access_token;
    const erased = await invoke(app.handler('eraseMe', { as: 'anonymous' }), { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    assert.equal(erased.status, 200, JSON.stringify(erased.body));
    for (const sealed of await hashesIn(body.id)) {
      assert.doesNotMatch(sealed, /scrypt/);
      assert.equal(await openPasswordHash(app.services, body.id, sealed), undefined);
    }
    assert.equal((await login('rita.erased@exemplo.com.br')).status, 400);
  });

  it('an account from before (a plain hash in its event) still logs in, and its hash is sealed then', async () => {
    const id = randomUUID();
    const email = 'antiga@exemplo.com.br';
    const plain = await hashPassword(PASSWORD, { N: 2 ** 14, r: 8, p: 1 });
    const personal = await sealPersonalData(app.services, id, { email, name: 'Conta Antiga' });
    await app.services.eventStore.append(
      userStreamId(id),
      0,
      [{ eventId: randomUUID(), type: 'UserRegistered', data: { userId: id, personal, passwordHash: plain, roles: ['customer'], registeredAt: new Date().toISOString() }, metadata: { correlationId: randomUUID() } }],
      { reservations: [{ scope: 'email', value: emailBlindIndex(app.services, email) }] },
    );
    assert.equal((await login(email)).status, 200);
    const [first, latest] = await hashesIn(id);
    assert.equal(first, plain);
    assert.doesNotMatch(latest, /scrypt/);
    assert.ok(await verifyPassword(PASSWORD, (await openPasswordHash(app.services, id, latest))!));
    assert.equal((await login(email)).status, 200, 'the sealed hash verifies');
    assert.equal((await hashesIn(id)).length, 2, 'and is not made again');
  });
});
