import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { testApp } from './app';
import { invoke } from './http';

type App = Awaited<ReturnType<typeof testApp>>;

/** The password every account these tests register is given. */
export const OWNER_PASSWORD = 'the owner passphrase';

/** A password login from `address` (the header the gateway sets from the caller's socket). */
export const passwordLogin = (app: App, username: string, password: string, address: string) =>
  invoke(app.handler('issueToken', { as: 'anonymous' }), {
    method: 'POST',
    body: { grant_type: 'password', username, password },
    headers: { 'x-farmacias-client-ip': address },
  });

/** A new account with OWNER_PASSWORD: its e-mail. */
export async function registeredOwner(app: App): Promise<string> {
  const email = `${randomUUID()}@exemplo.com.br`;
  const registered = await invoke(app.handler('registerUser', { as: 'anonymous' }), { method: 'POST', body: { email, password: OWNER_PASSWORD, name: 'Dona' } });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  return email;
}
