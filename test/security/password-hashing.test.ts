import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { userStreamId } from '../../shared/identity/commands';
import { hashPassword, needsRehash, OWASP_MINIMUM, verifyPassword } from '../../shared/identity/passwords';
import { openPasswordHash } from '../../shared/identity/vault';
import { loadSettings } from '../../shared/kernel/settings';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

/**
 * Item 9j: scrypt ran at N=2^15, below OWASP's minimum. The default is now N=2^17, r=8, p=1,
 * and hashes made at a lower cost are made anew at the next successful login.
 */
describe('password hashing at OWASP’s minimum, old hashes upgraded at login', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp({ PASSWORD_SCRYPT_LOG2_N: '17' });
  });
  after(() => app.services.dispose());

  const PASSWORD = 'a long and unusual passphrase';
  const register = (email: string) => invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: { email, password: PASSWORD, name: 'Ana' } });
  const login = (username: string, password = PASSWORD) =>
    invoke(app.handler('issueToken', { as: 'anonymous' }), { method: 'POST', body: { grant_type: 'password', username, password } });
  const parametersOf = (hash: string) => hash.split('$').slice(0, 4).join('$');
  /** The hash the account's events hold now (the registration's, or the last rehash's), opened. */
  async function storedHash(id: string): Promise<string> {
    return (await openPasswordHash(app.services, id, await sealedHash(id)))!;
  }
  async function sealedHash(id: string): Promise<string> {
    const events = await app.services.eventStore.readStream(userStreamId(id));
    const hashes = events.flatMap((event) => {
      const data = event.data as { passwordHash?: string };
      return data.passwordHash ? [data.passwordHash] : [];
    });
    return hashes[hashes.length - 1];
  }

  it('defaults to N=2^17, r=8, p=1, and an instance on Azure may not lower it', async () => {
    assert.deepEqual(OWASP_MINIMUM, { N: 2 ** 17, r: 8, p: 1 });
    assert.equal(loadSettings({}).auth.passwordScryptLog2N, 17);
    assert.throws(() => loadSettings({ WEBSITE_INSTANCE_ID: 'x', PASSWORD_SCRYPT_LOG2_N: '14' }), /PASSWORD_SCRYPT_LOG2_N/);
    const hash = await hashPassword(PASSWORD);
    assert.equal(parametersOf(hash), 'scrypt$131072$8$1');
    assert.ok(await verifyPassword(PASSWORD, hash));
    assert.equal(await verifyPassword('another passphrase here', hash), false);
  });

  it('a registration stores an OWASP-cost hash', async () => {
    const { body } = await register('owasp@exemplo.com.br');
    assert.equal(parametersOf(await storedHash(body.id)), 'scrypt$131072$8$1');
  });

  it('an old, cheaper hash is replaced at the next successful login, once', async () => {
    app.services.settings.auth.passwordScryptLog2N = 15;
    const { body } = await register('legacy@exemplo.com.br');
    app.services.settings.auth.passwordScryptLog2N = 17;
    const old = await storedHash(body.id);
    assert.equal(parametersOf(old), 'scrypt$32768$8$1');
    assert.ok(needsRehash(old));

    const sealed = await sealedHash(body.id);
    assert.equal((await login('legacy@exemplo.com.br', 'not the right one at all')).status, 400);
    assert.equal(await sealedHash(body.id), sealed, 'a wrong password changes nothing');

    assert.equal((await login('legacy@exemplo.com.br')).status, 200);
    const upgraded = await storedHash(body.id);
    assert.equal(parametersOf(upgraded), 'scrypt$131072$8$1');
    const events = (await app.services.eventStore.readStream(userStreamId(body.id))).map((event) => event.type);
    assert.deepEqual(events, ['UserRegistered', 'UserPasswordRehashed']);

    assert.equal((await login('legacy@exemplo.com.br')).status, 200, 'the new hash verifies');
    assert.equal((await app.services.eventStore.readStream(userStreamId(body.id))).length, 2, 'and is not made again');
  });

  it('refuses a stored hash whose parameters would exhaust memory', async () => {
    assert.equal(await verifyPassword(PASSWORD, 'scrypt$1073741824$8$1$c2FsdA$aGFzaA'), false);
    assert.equal(await verifyPassword(PASSWORD, 'scrypt$131072$1024$1$c2FsdA$aGFzaA'), false);
  });
});
