import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { testApp } from '../support/app';
import { OWNER_PASSWORD as PASSWORD, passwordLogin as login, registeredOwner as register } from '../support/logins';

type App = Awaited<ReturnType<typeof testApp>>;

/**
 * Review of 27a9316 (the address counted first). Before it, an attempt its (account, address)
 * pair's limit refused counted nothing more: one pair added at most LOGIN_MAX_FAILURES_PER_ACCOUNT
 * to its address. Counting the address first counted the refused ones there too, so a single
 * device retrying a stale password (or one person hammering one account) took the shared
 * address (an office's or a carrier's NAT) past LOGIN_MAX_FAILURES_PER_ADDRESS, and everyone
 * else behind it who was not a known client was turned away (and the partners'
 * client_credentials from there, which read the same window). Such an attempt is now taken
 * back from the address.
 */
describe('one (account, address) pair past its own limit does not lock its address out', () => {
  let app: App | undefined;
  after(() => app?.services.dispose());

  it('a device retrying a stale password 25 times: a neighbour behind the same NAT still signs in', async () => {
    app = await testApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '5', LOGIN_MAX_FAILURES_PER_ADDRESS: '20' });
    const stuck = await register(app);
    const neighbour = await register(app);
    const office = '198.51.100.40';
    const answers: number[] = [];
    for (let i = 0; i < 25; i++) answers.push((await login(app, stuck, 'an old password, saved', office)).status);
    assert.deepEqual(answers.slice(0, 5), [400, 400, 400, 400, 400]);
    assert.ok(answers.slice(5).every((status) => status === 429), 'the pair limit stops the stuck device');
    const other = await login(app, neighbour, PASSWORD, office);
    assert.equal(other.status, 200, `a neighbour who never failed is refused (${other.status}): the pair's refused attempts counted on the address`);
  });
});
