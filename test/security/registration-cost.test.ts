import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import nodeCrypto from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

/**
 * A registration hashes a password at full cost (scrypt, 128 MiB): an attack review flooded
 * `POST /auth/register` (each answered 409, nothing created) and a real login took 40 s.
 * Registrations are counted per client address, and a taken e-mail is refused before any
 * hashing.
 */
describe('registration cost', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp({ REGISTRATIONS_PER_ADDRESS_PER_HOUR: '3' });
  });
  after(() => app.services.dispose());

  const register = (email: string, address: string) =>
    invoke(app.handler('registerUser', { as: 'anonymous' }), {
      method: 'POST',
      body: { email, password: `a long passphrase ${randomUUID()}`, name: 'Pessoa' },
      headers: { 'x-farmacias-client-ip': address },
    });
  const email = () => `pessoa.${randomUUID()}@exemplo.com.br`;

  it('refuses a fourth registration from one address within the hour (429, Retry-After), not from another', async () => {
    for (let i = 0; i < 3; i += 1) assert.equal((await register(email(), '198.51.100.7')).status, 201);
    const refused = await register(email(), '198.51.100.7');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.equal((await register(email(), '198.51.100.8')).status, 201, 'another address is not affected');
  });

  it('refuses a taken e-mail before hashing the password', async () => {
    const taken = email();
    assert.equal((await register(taken, '198.51.100.20')).status, 201);
    // The module object itself (default import): passwords.ts reads crypto.scrypt at each call.
    const crypto = nodeCrypto as { scrypt: typeof nodeCrypto.scrypt };
    const real = crypto.scrypt;
    let hashes = 0;
    crypto.scrypt = ((...args: Parameters<typeof nodeCrypto.scrypt>) => {
      hashes += 1;
      return (real as (...a: unknown[]) => void)(...args);
    }) as typeof nodeCrypto.scrypt;
    try {
      const again = await register(taken.toUpperCase(), '198.51.100.21');
      assert.equal(again.status, 409);
      assert.equal(hashes, 0, 'no password was hashed for a taken e-mail');
      assert.equal((await register(email(), '198.51.100.21')).status, 201);
      assert.ok(hashes > 0, 'the count sees the hashing of a free e-mail');
    } finally {
      crypto.scrypt = real;
    }
  });
});
