// A Redis of the test's own (spare port, own folder), over its memory limit with no eviction.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { createClient } from 'redis';
import { pharmacyBody } from '../support/fixtures';
import { privateRedisUnavailable, RedisNode } from '../support/redis-node';
import { hostOnRedis, type RedisHost } from '../support/redis-host';
import { suiteNeeding } from '../support/suite';

/**
 * Redis at `maxmemory` with `noeviction` (Redis's own default policy) refuses every write
 * with OOM but still answers reads and PING. Logins fail closed then (the attempt counter
 * cannot be written: 503), yet readiness pinged with PING alone and said sign-ins were
 * available: the one answer an operator reads to find what is wrong said nothing was.
 */
const PASSWORD = 'a long and private passphrase';

suiteNeeding('Redis full, refusing writes (maxmemory, noeviction)', privateRedisUnavailable(), () => {
  let redis: RedisNode;
  let platform: RedisHost;
  let call: RedisHost['asAdmin'];

  before(async () => {
    redis = await RedisNode.start();
    platform = await hostOnRedis(redis.url, 'full:');
    call = platform.asAdmin;
  });
  after(async () => {
    await platform?.stop();
    await redis?.dispose();
  });

  it('logins answer 503 with Retry-After (never 500), reads and commands answer, and readiness says sign-ins are unavailable', async () => {
    const email = `${randomUUID()}@exemplo.com.br`;
    assert.equal((await call('POST', 'auth/register', { email, password: PASSWORD, name: 'Dona Cheia' }, { authorization: '' })).status, 201);
    const registered = await call('POST', 'pharmacies', pharmacyBody());
    assert.equal(registered.status, 201);
    await platform.services.bus.idle?.();
    assert.equal((await call('GET', 'health/ready')).body.capabilities.signIns, 'available');

    // Full: a limit below what Redis holds already, so that every write is refused whatever is freed meanwhile.
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.configSet({ maxmemory: '1048576', 'maxmemory-policy': 'noeviction' });
    await assert.rejects(admin.set('one more', 'x'), /OOM/);
    await admin.quit();

    const login = await call('POST', 'auth/token', new URLSearchParams({ grant_type: 'password', username: email, password: PASSWORD }).toString(), { authorization: '' });
    assert.equal(login.status, 503, JSON.stringify(login.body));
    assert.ok(Number(login.headers.get('retry-after')) > 0);
    assert.equal((await call('GET', `pharmacies/${registered.body.id}`)).status, 200);
    assert.equal((await call('PATCH', `pharmacies/${registered.body.id}`, { tradeName: 'Drogaria Cheia' })).status, 200);

    const ready = await call('GET', 'health/ready');
    assert.equal(ready.body.capabilities.signIns, 'unavailable', JSON.stringify(ready.body));
    assert.equal(ready.body.checks.cache.status, 'unhealthy');
  });
});
