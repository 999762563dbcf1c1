import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { InvocationContext } from '@azure/functions';
import { ensureAdministrator } from '../../shared/identity/commands';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

/**
 * Issue 11, item 1: the start-up administrator's e-mail made anyone an administrator. Every
 * start promoted whatever active account held BOOTSTRAP_ADMIN_EMAIL, so a demotion did not
 * stick, and once the account was erased anyone could register the address and be promoted
 * at the next cold start.
 */
const EMAIL = 'root@farmacias.example';
const PASSWORD = 'first admin passphrase';
const settings = { BOOTSTRAP_ADMIN_EMAIL: EMAIL, BOOTSTRAP_ADMIN_PASSWORD: PASSWORD };

const start = (app: Awaited<ReturnType<typeof testApp>>) =>
  ensureAdministrator(app.services, EMAIL, PASSWORD, new InvocationContext({ functionName: 'bootstrap', logHandler: () => {} }));

async function rolesAfterLogin(app: Awaited<ReturnType<typeof testApp>>, username: string, password: string): Promise<string[] | number> {
  const response = await invoke(app.handler('issueToken', { as: 'anonymous' }), { method: 'POST', body: { grant_type: 'password', username, password } });
  if (response.status !== 200) return response.status;
  return JSON.parse(Buffer.from(response.body.access_token.split('.')[1], 'base64url').toString()).roles;
}

async function register(app: Awaited<ReturnType<typeof testApp>>, email: string, password = 'an attacker passphrase') {
  return invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: { email, password, name: 'Someone' } });
}

describe('attack: becoming administrator through the start-up administrator’s e-mail', () => {
  const apps: Awaited<ReturnType<typeof testApp>>[] = [];
  const app = async (env: Record<string, string> = settings) => {
    const made = await testApp(env);
    apps.push(made);
    return made;
  };
  after(() => Promise.all(apps.map((a) => a.services.dispose())));

  it('a demoted bootstrap administrator is not promoted again at the next start', async () => {
    const a = await app();
    const rootId = await start(a);
    assert.ok(rootId);
    const other = (await register(a, 'second@farmacias.example')).body.id;
    assert.equal((await invoke(a.handler('assignRoles'), { method: 'POST', params: { id: other }, body: { roles: ['admin'] } })).status, 200);
    assert.equal((await invoke(a.handler('assignRoles'), { method: 'POST', params: { id: rootId }, body: { roles: ['customer'] } })).status, 200);
    assert.equal(await start(a), rootId);
    assert.deepEqual(await rolesAfterLogin(a, EMAIL, PASSWORD), ['customer']);
  });

  it('once the bootstrap account is erased, nobody can register its e-mail, and no later start makes an administrator', async () => {
    const a = await app();
    const rootId = (await start(a))!;
    const other = (await register(a, 'second@farmacias.example')).body.id;
    await invoke(a.handler('assignRoles'), { method: 'POST', params: { id: other }, body: { roles: ['admin'] } });
    assert.equal((await invoke(a.handler('eraseUser'), { method: 'DELETE', params: { id: rootId } })).status, 200);

    const taken = await register(a, EMAIL);
    assert.equal(taken.status, 409, 'the reserved e-mail answers as a taken one');
    // Other spellings of the same address are the same identity.
    assert.equal((await register(a, 'ROOT@Farmacias.Example')).status, 409);

    assert.equal(await start(a), rootId);
    assert.equal(await rolesAfterLogin(a, EMAIL, 'an attacker passphrase'), 400);
    assert.equal(await rolesAfterLogin(a, EMAIL, PASSWORD), 400, 'the erased account stays erased');
  });

  it('an account that took the e-mail before the operator set it is never promoted', async () => {
    const a = await app({});
    assert.equal((await register(a, EMAIL)).status, 201);
    assert.equal(await start(a), undefined);
    assert.deepEqual(await rolesAfterLogin(a, EMAIL, 'an attacker passphrase'), ['customer']);
  });

  it('no administrator is made from the settings when one exists already', async () => {
    const a = await app({});
    const existing = (await register(a, 'boss@farmacias.example', 'the boss passphrase')).body.id;
    await invoke(a.handler('assignRoles'), { method: 'POST', params: { id: existing }, body: { roles: ['admin'] } });
    assert.equal(await start(a), existing);
    assert.equal(await rolesAfterLogin(a, EMAIL, PASSWORD), 400, 'no account was made for the e-mail');
  });

  it('two administrators demoting each other at the same moment leave one administrator', async () => {
    const a = await app();
    const rootId = (await start(a))!;
    const other = (await register(a, 'second@farmacias.example')).body.id;
    await invoke(a.handler('assignRoles'), { method: 'POST', params: { id: other }, body: { roles: ['admin'] } });
    // Appends wait a moment, so both decisions are made before either is written.
    const store = a.services.eventStore;
    a.services.eventStore = Object.assign(Object.create(store) as typeof store, {
      append: async (...args: Parameters<typeof store.append>) => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        return store.append(...args);
      },
    });
    const [first, second] = await Promise.all([
      invoke(a.handler('assignRoles'), { method: 'POST', params: { id: rootId }, body: { roles: ['customer'] } }),
      invoke(a.handler('assignRoles'), { method: 'POST', params: { id: other }, body: { roles: ['customer'] } }),
    ]);
    assert.deepEqual([first.status, second.status].sort(), [200, 409], JSON.stringify([first.body, second.body]));
  });

  it('refuses to demote or erase the last administrator', async () => {
    const a = await app();
    const rootId = (await start(a))!;
    const demote = await invoke(a.handler('assignRoles'), { method: 'POST', params: { id: rootId }, body: { roles: ['customer'] } });
    assert.equal(demote.status, 409, JSON.stringify(demote.body));
    const erase = await invoke(a.handler('eraseUser'), { method: 'DELETE', params: { id: rootId } });
    assert.equal(erase.status, 409, JSON.stringify(erase.body));
    assert.deepEqual(await rolesAfterLogin(a, EMAIL, PASSWORD), ['admin', 'customer']);
  });
});
