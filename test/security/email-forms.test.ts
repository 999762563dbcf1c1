import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

/**
 * Item 9h: the NFC and NFD forms of one address made two accounts, and invisible or
 * full-width characters made look-alike addresses. One address is now one account.
 */
describe('one e-mail address, one account, whatever its Unicode form', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '50', LOGIN_MAX_FAILURES_PER_ADDRESS: '500' });
  });
  after(() => app.services.dispose());

  const PASSWORD = 'a long and unusual passphrase';
  const register = (email: string) =>
    invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: { email, password: PASSWORD, name: 'José' } });
  const login = (username: string) =>
    invoke(app.handler('issueToken', { as: 'anonymous' }), { method: 'POST', body: { grant_type: 'password', username, password: PASSWORD } });

  it('the decomposed form of a registered address is the same account', async () => {
    const composed = 'josé.açúcar@exemplo.com.br'.normalize('NFC');
    const decomposed = composed.normalize('NFD');
    assert.notEqual(composed, decomposed);
    assert.equal((await register(composed)).status, 201);
    const again = await register(decomposed);
    assert.equal(again.status, 409, JSON.stringify(again.body));
    const upper = await register(decomposed.toUpperCase());
    assert.equal(upper.status, 409, JSON.stringify(upper.body));
    assert.equal((await login(decomposed)).status, 200);
    const token = (await login(composed)).body.access_token;
    const me = await invoke(app.handler('currentUser', { as: 'anonymous' }), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.body.email, composed);
  });

  it('a decomposed address is kept composed', async () => {
    const decomposed = 'maria.joão@exemplo.com.br'.normalize('NFD');
    assert.equal((await register(decomposed)).status, 201);
    const token = (await login(decomposed.normalize('NFC'))).body.access_token;
    const me = await invoke(app.handler('currentUser', { as: 'anonymous' }), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(me.body.email, decomposed.normalize('NFC'));
  });

  const LOOK_ALIKES: [string, string][] = [
    ['zero-width space', 'ana\u200b@exemplo.com.br'],
    ['zero-width joiner', 'a\u200dna@exemplo.com.br'],
    ['zero-width non-joiner', 'an\u200ca@exemplo.com.br'],
    ['soft hyphen', 'an\u00ada@exemplo.com.br'],
    ['byte-order mark', '\ufeffana@exemplo.com.br'],
    ['word joiner at the end', 'ana@exemplo.com.br\u2060'],
    ['full-width letters', 'ａｎａ@exemplo.com.br'],
    ['full-width domain', 'ana@ｅｘｅｍｐｌｏ.com.br'],
    ['a ligature', 'ﬁlipe@exemplo.com.br'],
    ['superscript digit', 'ana²@exemplo.com.br'],
  ];
  for (const [what, email] of LOOK_ALIKES) {
    it(`refuses ${what}`, async () => {
      const response = await register(email);
      assert.equal(response.status, 400, JSON.stringify(response.body));
      assert.ok(response.body.errors.some((error: { field: string }) => error.field === 'email'), JSON.stringify(response.body.errors));
    });
  }

  it('still accepts the plain address (the control)', async () => {
    assert.equal((await register('ana@exemplo.com.br')).status, 201);
  });
});
