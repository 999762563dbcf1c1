// Two Redis of the test's own: the cache, small and evicting (AllKeysLRU, as the Bicep's), and the counters' own.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { createClient } from 'redis';
import type { RedisCache } from '../../shared/adapters/redis/cache';
import type { Services } from '../../shared/kernel/services';
import { appModules } from '../../shared/platform/app';
import { startLocalHost, type LocalHost } from '../../local/host';
import { bulkyProductBody } from '../support/fixtures';
import { privateRedisUnavailable, RedisNode } from '../support/redis-node';
import { testServices } from '../support/services';
import { suiteNeeding } from '../support/suite';
import { timedCaller } from '../support/timed-call';
import { ADMIN, tokenFor } from '../support/tokens';

/**
 * Anyone can fill the cache with reads (a made-up cursor each caches a page), and a Redis
 * at its memory limit with AllKeysLRU evicts whatever was touched least lately: a victim's
 * attempt window among them, which forgave the guesses counted against the victim. With
 * REDIS_COUNTERS_URL the windows live in a Redis of their own that no read fills.
 */
const PASSWORD = 'a long and private passphrase';

suiteNeeding('login counters in a Redis of their own, apart from an evicting cache', privateRedisUnavailable(), () => {
  let cacheRedis: RedisNode;
  let countersRedis: RedisNode;
  let services: Services & { dispose(): Promise<void> };
  let host: LocalHost;

  before(async () => {
    [cacheRedis, countersRedis] = await Promise.all([RedisNode.start(), RedisNode.start()]);
    services = await testServices({ REDIS_URL: cacheRedis.url, REDIS_COUNTERS_URL: countersRedis.url, LOGIN_MAX_FAILURES_PER_ACCOUNT: '5' });
    await Promise.all([(services.cache as RedisCache).ready(), (services.counters as RedisCache).ready()]);
    host = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {} });
  });
  after(async () => {
    await host?.stop();
    await services?.dispose();
    await Promise.all([cacheRedis?.dispose(), countersRedis?.dispose()]);
  });

  it('a flood of cached reads evicts from the cache, never a victim’s window: the guesses stay counted', { timeout: 120_000 }, async () => {
    const asAdmin = timedCaller(host.url, await tokenFor(services, ADMIN), 8_000);
    const login = (password: string, address: string) =>
      fetch(`${host.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-farmacias-client-ip': address },
        body: new URLSearchParams({ grant_type: 'password', username: email, password }),
      }).then((answer) => answer.status);
    const email = `${randomUUID()}@exemplo.com.br`;
    assert.equal((await asAdmin('POST', 'auth/register', { email, password: PASSWORD, name: 'Dona Vítima' }, { authorization: '' })).status, 201);
    for (let i = 0; i < 40; i++) {
      assert.equal((await asAdmin('POST', 'products', bulkyProductBody(i))).status, 201);
    }
    await services.bus.idle?.();

    const attacker = '198.51.100.77';
    for (let i = 0; i < 5; i++) assert.equal(await login(`wrong guess ${i}`, attacker), 400);
    assert.equal(await login('wrong guess 5', attacker), 429, 'the pair limit holds');

    // The cache at 2 MB, evicting; a canary written before the flood shows the flood churned it through.
    const admin = createClient({ url: cacheRedis.url });
    await admin.connect();
    try {
      await admin.configSet({ maxmemory: String(2 * 1024 * 1024), 'maxmemory-policy': 'allkeys-lru' });
      await admin.set('canary', 'x');
      for (let i = 0; i < 400; i++) {
        const cursor = Buffer.from(JSON.stringify({ after: `!${i}` })).toString('base64url');
        assert.equal((await fetch(`${host.url}/products?limit=100&cursor=${cursor}`)).status, 200);
      }
      assert.equal(await admin.exists('canary'), 0, 'the flood evicted what the cache held before it');
      assert.match(await admin.info('stats'), /evicted_keys:[1-9]/);
    } finally {
      await admin.quit();
    }

    assert.equal(await login(PASSWORD, attacker), 429, 'within the window the pair is still over its limit: no password checked');
    assert.equal((await asAdmin('GET', 'health/ready')).body.checks.counters.status, 'healthy');
  });

  it('readiness: the counters away take sign-ins, not reads; the cache away takes reads’ speed, not sign-ins', async () => {
    const asAdmin = timedCaller(host.url, await tokenFor(services, ADMIN), 8_000);
    countersRedis.freeze();
    try {
      const ready = (await asAdmin('GET', 'health/ready')).body;
      assert.equal(ready.checks.counters.status, 'unhealthy');
      assert.deepEqual(ready.capabilities, { reads: 'available', commands: 'available', signIns: 'unavailable' });
    } finally {
      countersRedis.thaw();
    }
    cacheRedis.freeze();
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const ready = (await asAdmin('GET', 'health/ready')).body;
      assert.equal(ready.checks.cache.status, 'unhealthy');
      assert.deepEqual(ready.capabilities, { reads: 'degraded', commands: 'available', signIns: 'available' });
    } finally {
      cacheRedis.thaw();
    }
  });
});
