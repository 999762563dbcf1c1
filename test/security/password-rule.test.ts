import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isBreachedPassword } from '../../shared/identity/common-passwords';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

/**
 * Item 9i: registration accepted `12345678901`, `password!!` and the e-mail itself. The rule
 * now checks a real breached-password list shipped with the code, trivial variations of its
 * entries, sequences and repetitions, and the account's own address.
 */
describe('the password rule refuses breached, trivial and self-naming passwords', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const EMAIL = 'maria.silva@exemplo.com.br';
  const register = (password: string, email = EMAIL) =>
    invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: { email, password, name: 'Maria Silva' } });

  it('ships a real list: tens of thousands of breached passwords', () => {
    for (const password of ['123456', 'password', 'qwerty', 'iloveyou', 'trustno1', 'flamengo', 'abc123']) assert.ok(isBreachedPassword(password), password);
    assert.equal(isBreachedPassword('a long and unusual passphrase'), false);
  });

  const REFUSED: [string, string][] = [
    ['12345678901', 'common'],
    ['password!!', 'common'],
    ['Password!!', 'common'],
    ['P@ssw0rd!!', 'common'],
    ['iloveyou2024', 'common'],
    ['trustno1trustno1', 'common'],
    ['qwertyuiop', 'common'],
    ['baseball123', 'common'],
    ['Senha12345', 'common'],
    ['9876543210', 'sequence'],
    ['abcdefghijkl', 'sequence'],
    ['1212121212', 'sequence'],
    ['abcabcabcabc', 'sequence'],
    [EMAIL, 'e-mail'],
    [EMAIL.toUpperCase(), 'e-mail'],
    ['Maria.Silva2024', 'e-mail'],
    ['maria.silva!!!', 'e-mail'],
    ['a long \ud800 passphrase', 'surrogates'],
  ];
  for (const [password, why] of REFUSED) {
    it(`refuses ${JSON.stringify(password)} (${why})`, async () => {
      const response = await register(password);
      assert.equal(response.status, 400, JSON.stringify(response.body));
      const error = response.body.errors.find((e: { field: string }) => e.field === 'password');
      assert.ok(error, JSON.stringify(response.body.errors));
      assert.match(error.message, new RegExp(why === 'sequence' ? 'sequence or a repetition' : why === 'e-mail' ? 'e-mail' : why));
    });
  }

  it('accepts passphrases and random passwords (the control)', async () => {
    for (const [index, password] of ['correct horse battery staple', 'x7#Kp2!vQz9m', 'dragon8372946153', 'maria silva gosta de chá verde'].entries()) {
      const response = await register(password, `ok${index}@exemplo.com.br`);
      assert.equal(response.status, 201, `${password}: ${JSON.stringify(response.body)}`);
    }
  });
});
