import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { createClient } from 'redis';
import { suiteNeeding } from '../support/suite';
import { RedisCache } from '../../shared/adapters/redis/cache';
import { cacheContract } from '../contracts/cache.contract';
import { skipUnlessReachable } from '../support/reachable';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = skipUnlessReachable('Redis', 'REDIS_URL', url);

suiteNeeding('Redis cache', skip, () => {
  const opened: RedisCache[] = [];
  after(() => Promise.all(opened.map((cache) => cache.close())));

  cacheContract('Redis', async () => {
    const cache = RedisCache.open(url, `test-${process.pid}-${Date.now()}:`);
    opened.push(cache);
    await cache.ready();
    return cache;
  });

  it('given a counter Redis evicted, it comes back above every value it had, so no old generation matches again', async () => {
    const prefix = `test-${process.pid}-evicted:`;
    const cache = RedisCache.open(url, prefix);
    // Connected first: the cache fails fast while its connection is still opening (a flake under load).
    await cache.ready();
    const admin = createClient({ url });
    await admin.connect();
    try {
      const before = await cache.increment('gen');
      await cache.increment('gen');
      const had = await cache.counter('gen');
      await admin.del(`${prefix}gen`);
      const again = await cache.counter('gen');
      assert.ok(again > had && again > before, `${again} after ${had}`);
      assert.equal(await cache.counter('gen'), again, 'and stays there until bumped');
    } finally {
      await admin.del(`${prefix}gen`);
      await admin.quit();
      await cache.close();
    }
  });

  it('keeps stale copies past invalidation with their own TTL, not forever', async () => {
    const cache = RedisCache.open(url, `test-${process.pid}-ttl:`);
    opened.push(cache);
    await cache.ready();
    await cache.set('short', 'v', { freshSeconds: 0, staleSeconds: 1 });
    assert.deepEqual(await cache.get('short'), { value: 'v', fresh: false });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    assert.equal(await cache.get('short'), undefined);
  });

  it('fails fast while Redis is unreachable, so queries fall back to the store at once', async () => {
    const cache = RedisCache.open('redis://127.0.0.1:1', 'unreachable:');
    opened.push(cache);
    const started = performance.now();
    await assert.rejects(cache.get('anything'));
    await assert.rejects(cache.ping());
    assert.ok(performance.now() - started < 1000);
  });
});

suiteNeeding('the app on Redis', skip, () => {
  it('serves cached reads from Redis, and throttles logins across instances sharing it', async () => {
    const { testApp } = await import('../support/app');
    const { invoke } = await import('../support/http');
    const { pharmacyBody } = await import('../support/fixtures');
    const { newSigningKey } = await import('../../shared/adapters/local-secrets/secrets');
    const { randomBytes } = await import('node:crypto');
    // Instances of one app share their secrets (Key Vault in Azure), so they share the e-mail index too.
    const env = {
      REDIS_URL: url,
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '2',
      AUTH_SIGNING_KEYS: JSON.stringify([newSigningKey()]),
      PERSONAL_DATA_MASTER_KEY: randomBytes(32).toString('base64'),
      PERSONAL_DATA_INDEX_KEY: randomBytes(32).toString('base64'),
    };
    const [a, b] = [await testApp(env), await testApp(env)];
    try {
      const { body } = await invoke(a.handler('registerPharmacy'), { method: 'POST', body: pharmacyBody() });
      await invoke(a.handler('getPharmacy'), { params: { id: body.id }, headers: { 'x-min-version': '1' } });
      const cached = await invoke(a.handler('getPharmacy'), { params: { id: body.id } });
      assert.equal(cached.headers.get('x-cache'), 'hit');
      const email = `shared-${Date.now()}@exemplo.com.br`;
      const attempt = (app: typeof a) =>
        invoke(app.handler('issueToken'), { method: 'POST', body: { grant_type: 'password', username: email, password: 'not the right one' } });
      await attempt(a);
      await attempt(a);
      assert.equal((await attempt(b)).status, 429, 'the other instance knows of the failures');
    } finally {
      await a.services.dispose();
      await b.services.dispose();
    }
  });
});
