import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MemoryCache } from '../../shared/adapters/memory/cache';
import { testApp } from '../support/app';
import { invoke } from '../support/http';
import { bulkyProductBody } from '../support/fixtures';
import { OWNER_PASSWORD as PASSWORD, passwordLogin as login, registeredOwner } from '../support/logins';

type App = Awaited<ReturnType<typeof testApp>>;

/** The windows the in-memory counter holds: what its bound (50 000) sheds the oldest of. */
function openWindows(app: App): number {
  assert.ok(app.services.cache instanceof MemoryCache, 'the embedded profile counts in memory');
  return (app.services.cache as unknown as { windows: Map<string, unknown> }).windows.size;
}

/**
 * The in-memory counter keeps a bounded number of windows and sheds the oldest past it.
 * Attempts the address's limit refuses used to open an (account, address) window each, so
 * one address could make the 50 000 that shed a victim's (a minute of cheap, refused logins
 * for made-up e-mails), and the guesses counted against the victim were forgiven.
 */
describe('attack: crowding the login windows of the in-memory counter', () => {
  let app: App | undefined;
  after(() => app?.services.dispose());

  it('logins the address limit refuses open no window: one address cannot crowd out a victim’s', async () => {
    app = await testApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '5', LOGIN_MAX_FAILURES_PER_ADDRESS: '20' });
    const junk = '198.51.100.78';
    for (let i = 0; i < 20; i++) assert.equal((await login(app, `junk-${i}@x.example`, 'x', junk)).status, 400);
    const before = openWindows(app);
    for (let i = 20; i < 220; i++) assert.equal((await login(app, `junk-${i}@x.example`, 'x', junk)).status, 429);
    assert.equal(openWindows(app), before, '200 refused logins for made-up accounts opened windows');
  });
});

/**
 * A known client's mark (an address the account signed in from, which lets its owner past
 * the account's ceiling) was a cached value, under the memory cache's byte bound with the
 * cached reads: anonymous list reads with distinct cursors, a full page cached each, pushed
 * it out, and the botnet that took the account over its ceiling kept the owner out too.
 */
describe('attack: flushing a known client’s mark with cached reads', () => {
  let app: App | undefined;
  after(() => app?.services.dispose());

  it('anonymous list reads do not cost the owner’s known device its way past the account’s ceiling', { timeout: 120_000 }, async () => {
    app = await testApp({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '1', MEMORY_CACHE_MAX_MB: '4' });
    const email = await registeredOwner(app);
    // A catalogue of some size: each page read caches every product on it.
    for (let i = 0; i < 60; i++) {
      assert.equal((await invoke(app.handler('registerProduct'), { method: 'POST', body: bulkyProductBody(i) })).status, 201);
    }
    await app.settle();

    const home = '203.0.113.20';
    assert.equal((await login(app, email, PASSWORD, home)).status, 200, 'the owner signs in from home: a known client');
    // The account's ceiling (20 with a pair limit of 1) reached by 20 addresses.
    const guesses = await Promise.all(Array.from({ length: 20 }, (_, i) => login(app!, email, `distributed guess ${i}`, `192.0.2.${i + 1}`)));
    assert.ok(guesses.every((answer) => answer.status === 400));

    for (let i = 0; i < 400; i++) {
      const cursor = Buffer.from(JSON.stringify({ after: `!${i}` })).toString('base64url');
      const page = await invoke(app.handler('searchProducts', { as: 'anonymous' }), { path: `products?limit=100&cursor=${cursor}` });
      assert.equal(page.status, 200);
    }

    const owner = await login(app, email, PASSWORD, home);
    assert.equal(owner.status, 200, `the owner's known device is held back with the strangers (${owner.status})`);
  });
});
