import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { testApp } from '../support/app';
import { OWNER_PASSWORD as PASSWORD, passwordLogin as login, registeredOwner } from '../support/logins';

type App = Awaited<ReturnType<typeof testApp>>;

/**
 * Review of f8d0f2e. docs/security.md ("No lockout by others") promises that the account's
 * ceiling never stops a known client. Before f8d0f2e each (account, address) mark had its own
 * 30-day window; f8d0f2e kept only an account's 10 latest addresses, so an owner who signed in
 * from home and then from 10 other addresses within the same days (a phone whose carrier
 * changes its IPv6 /64, the branches of one pharmacy, hotel Wi-Fi) was a stranger at home
 * again, refused with the botnet at the account's ceiling. An account keeps 32 now, and the
 * promise says so.
 */
describe('an owner with more than 10 recent addresses', () => {
  let app: App | undefined;
  after(() => app?.services.dispose());

  it('signed in from home within the refresh-token lifetime, the home device still passes the account’s ceiling', { timeout: 120_000 }, async () => {
    app = await testApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '1' });
    const email = await registeredOwner(app);
    const home = '203.0.113.20';
    assert.equal((await login(app, email, PASSWORD, home)).status, 200, 'the owner signs in from home: a known client');
    for (let i = 0; i < 10; i++) assert.equal((await login(app, email, PASSWORD, `2001:db8:${i + 1}::1`)).status, 200, 'then from the phone, on ten /64s');
    // The account's ceiling (20 with a pair limit of 1) reached by 20 addresses.
    const guesses = await Promise.all(Array.from({ length: 20 }, (_, i) => login(app!, email, `distributed guess ${i}`, `192.0.2.${i + 1}`)));
    assert.ok(guesses.every((answer) => answer.status === 400));

    const owner = await login(app, email, PASSWORD, home);
    assert.equal(owner.status, 200, `the owner's device at home, signed in from minutes ago, is held back with the strangers (${owner.status})`);
  });
});
