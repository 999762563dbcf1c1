import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PHARMACIES_CONTAINER } from '../../shared/pharmacies/projection';
import { PRODUCTS_CONTAINER } from '../../shared/catalog/projection';
import { OFFERS_CONTAINER } from '../../shared/offers/projection';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

describe('personal data (LGPD)', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const joana = {
    email: 'joana.privada@exemplo.com.br',
    password: 'private passphrase of joana',
    name: 'Joana Privada de Souza',
    cpf: '111.444.777-35',
    phone: '(21) 99876-5432',
  };
  const personalValues = ['joana.privada@exemplo.com.br', 'Joana Privada de Souza', '11144477735', '5521998765432'];
  const form = (fields: Record<string, string>) => ({
    method: 'POST',
    rawBody: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const login = () => invoke(app.handler('issueToken'), form({ grant_type: 'password', username: joana.email, password: joana.password }));
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  /** Every byte the platform keeps about anyone: the event store files, the read containers. */
  async function everythingStored(): Promise<string> {
    const dir = app.services.settings.dataDir;
    const files = readdirSync(dir).filter((name) => name.startsWith('events.sqlite'));
    const bytes = files.map((name) => readFileSync(join(dir, name)).toString('latin1')).join('');
    const documents = [];
    for (const container of [PHARMACIES_CONTAINER, PRODUCTS_CONTAINER, OFFERS_CONTAINER]) {
      documents.push(...(await app.services.readStore.container(container.name).queryPage({ query: 'SELECT * FROM c' }, 1000)).items);
    }
    return bytes + JSON.stringify(documents);
  }

  it('gives the person everything held about them, and erases it for good on request', async () => {
    const registered = await invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: joana });
    assert.equal(registered.status, 201);
    const userId = registered.body.id;
    const first = await login();
    const second = await invoke(app.handler('issueToken'), form({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token }));

    const data = await invoke(app.handler('myData', { as: 'anonymous' }), { headers: bearer(second.body.access_token) });
    assert.equal(data.status, 200);
    assert.deepEqual(
      [data.body.account.email, data.body.account.name, data.body.account.cpf, data.body.account.phone],
      ['joana.privada@exemplo.com.br', 'Joana Privada de Souza', '11144477735', '+5521998765432'],
    );
    assert.deepEqual(data.body.sessions.map((s: { status: string; rotations: number }) => [s.status, s.rotations]), [['active', 1]]);
    assert.deepEqual(data.body.history.map((e: { type: string }) => e.type), ['UserRegistered']);
    for (const value of personalValues) assert.ok(!(await everythingStored()).includes(value), `${value} stored in clear before erasure`);

    const erased = await invoke(app.handler('eraseMe', { as: 'anonymous' }), { method: 'DELETE', headers: bearer(second.body.access_token) });
    assert.equal(erased.status, 200);

    assert.equal(await app.services.dataKeys.find(userId), undefined, 'the data key is destroyed');
    assert.equal((await login()).body.error, 'invalid_grant', 'the account cannot log in');
    assert.equal((await invoke(app.handler('issueToken'), form({ grant_type: 'refresh_token', refresh_token: second.body.refresh_token }))).status, 400);
    assert.equal((await invoke(app.handler('currentUser', { as: 'anonymous' }), { headers: bearer(second.body.access_token) })).status, 401);
    const history = await invoke(app.handler('myData', { as: 'anonymous' }), { headers: bearer(second.body.access_token) });
    assert.equal(history.status, 401);

    const events = await app.services.eventStore.readStream(`user-${userId}`);
    assert.deepEqual(events.map((e) => e.type), ['UserRegistered', 'UserErased'], 'append-only: the history shows the erasure');
    assert.deepEqual(Object.keys(events[1].data).sort(), ['erasedAt', 'userId'], 'the erasure event holds no personal data');
    for (const value of personalValues) assert.ok(!(await everythingStored()).includes(value), `${value} stored in clear after erasure`);

    const again = await invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: joana });
    assert.equal(again.status, 201, 'the e-mail is free again: its blind index was released');
    assert.notEqual(again.body.id, userId);
  });

  it('lets an administrator erase someone, and nobody else', async () => {
    const other = await invoke(app.handler('registerUser', { as: 'anonymous' }), {
      method: 'POST',
      body: { email: 'pedro@exemplo.com.br', password: 'pedro private passphrase', name: 'Pedro' },
    });
    const stranger = await invoke(app.handler('registerUser', { as: 'anonymous' }), {
      method: 'POST',
      body: { email: 'mallory@exemplo.com.br', password: 'mallory private passphrase', name: 'Mallory' },
    });
    void stranger;
    const malloryToken = (await invoke(app.handler('issueToken'), form({ grant_type: 'password', username: 'mallory@exemplo.com.br', password: 'mallory private passphrase' })))
      .body.access_token;
    const attempt = await invoke(app.handler('eraseUser', { as: 'anonymous' }), { method: 'DELETE', params: { id: other.body.id }, headers: bearer(malloryToken) });
    assert.equal(attempt.status, 403);
    const byAdmin = await invoke(app.handler('eraseUser'), { method: 'DELETE', params: { id: other.body.id } });
    assert.equal(byAdmin.status, 200);
    assert.equal(await app.services.dataKeys.find(other.body.id), undefined);
    const twice = await invoke(app.handler('eraseUser'), { method: 'DELETE', params: { id: other.body.id } });
    assert.equal(twice.status, 200, 'erasing an erased account changes nothing');
  });
});
