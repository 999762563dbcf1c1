import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { AttemptCounters } from '../../shared/kernel/ports';
import { testApp } from '../support/app';
import { OWNER_PASSWORD as PASSWORD, passwordLogin as login, registeredOwner } from '../support/logins';

type App = Awaited<ReturnType<typeof testApp>>;

/**
 * Review of 27a9316: a known client's mark was refreshed by two calls, a DEL and then a new
 * window, and when the second failed (the counters' Redis stopped answering, failed over, or
 * the adapter's pause refused it) the first had deleted the mark: the owner's device was a
 * stranger from then on, held back with the botnet at the account's ceiling. The mark is now
 * renewed in one step (`remember`): a renewal that fails leaves the one before it standing.
 */
describe('a known client’s mark survives a refresh that fails halfway', () => {
  let app: App | undefined;
  after(() => app?.services.dispose());

  it('the counters fail as the mark is renewed: the owner’s known device still passes the account’s ceiling', async () => {
    app = await testApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '1' });
    const email = await registeredOwner(app);
    const home = '203.0.113.30';
    assert.equal((await login(app, email, PASSWORD, home)).status, 200, 'the owner signs in from home: a known client');
    // The account's ceiling (20 with a pair limit of 1) reached by 20 addresses.
    const guesses = await Promise.all(Array.from({ length: 20 }, (_, i) => login(app!, email, `distributed guess ${i}`, `192.0.2.${i + 1}`)));
    assert.ok(guesses.every((answer) => answer.status === 400));

    // The counters stop answering when the mark is renewed.
    const counters = app.services.counters;
    const flaky: AttemptCounters = {
      incrementWithin: (key, seconds) => counters.incrementWithin(key, seconds),
      uncount: (key) => counters.uncount(key),
      peekWindow: (key) => counters.peekWindow(key),
      resetWindow: (key) => counters.resetWindow(key),
      remember: () => Promise.reject(new Error('redis did not answer remember within 200 ms')),
      recalls: (key, member, seconds) => counters.recalls(key, member, seconds),
      ping: () => counters.ping(),
      close: () => counters.close(),
    };
    app.services.counters = flaky;
    assert.equal((await login(app, email, PASSWORD, home)).status, 200, 'the login stands when the counters fail after it');
    app.services.counters = counters;

    const again = await login(app, email, PASSWORD, home);
    assert.equal(again.status, 200, `the owner's known device lost its mark to a failed refresh (${again.status})`);
  });
});
