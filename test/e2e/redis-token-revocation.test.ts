import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { createClient } from 'redis';
import { suiteNeeding } from '../support/suite';
import { timedCaller } from '../support/timed-call';
import type { Services } from '../../shared/kernel/services';
import { skipUnlessReachable } from '../support/reachable';
import { TcpProxy } from '../support/tcp-proxy';
import { hostOnRedis, type RedisHost } from '../support/redis-host';

/**
 * A demotion takes the person's tokens back by bumping a generation in Redis; their
 * standing is cached under it for a minute. Redis out of reach at that moment (a dropped
 * connection, the adapter's pause after a timeout) refused the bump, and the failure was
 * swallowed: once Redis answered again, the old generation still held the cached standing
 * and the demoted pharmacist's token kept working for up to a minute, although the
 * security notes promise it fails at the next request.
 */
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PASSWORD = 'a long and private passphrase';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function redisAnswers(services: Services) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await services.cache.ping();
      return;
    } catch {
      assert.ok(Date.now() < deadline, 'Redis did not answer again within 10 s');
      await sleep(50);
    }
  }
}

/** Straight to Redis, past the proxy: what every other instance sees. */
async function inRedis<T>(read: (redis: ReturnType<typeof createClient>) => Promise<T | undefined>, what: string): Promise<T> {
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  try {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const found = await read(redis);
      if (found !== undefined) return found;
      assert.ok(Date.now() < deadline, what);
      await sleep(20);
    }
  } finally {
    await redis.quit();
  }
}

suiteNeeding('A token taken back while Redis is out of reach', skipUnlessReachable('Redis', 'REDIS_URL', redisUrl), () => {
  let proxy: TcpProxy;
  let platform: RedisHost;
  let services: RedisHost['services'];
  let host: RedisHost['host'];
  let asAdmin: RedisHost['asAdmin'];
  const prefix = `test-revocation-${process.pid}-${Date.now()}:`;

  before(async () => {
    const target = new URL(redisUrl);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 6379));
    platform = await hostOnRedis(`redis://127.0.0.1:${proxy.port}`, prefix);
    ({ services, host, asAdmin } = platform);
  });
  after(async () => {
    await platform?.stop();
    await proxy?.stop();
  });

  it('a demotion made while Redis was unreachable refuses the old token once Redis is back', async () => {
    const email = `${randomUUID()}@exemplo.com.br`;
    const registered = await asAdmin('POST', 'auth/register', { email, password: PASSWORD, name: 'Dona Rebaixada' }, { authorization: '' });
    assert.equal(registered.status, 201);
    const id = registered.body.id as string;
    const promoted = await asAdmin('POST', `auth/users/${id}/roles`, { roles: ['pharmacist'], pharmacyIds: [randomUUID()] });
    assert.equal(promoted.status, 200, JSON.stringify(promoted.body));
    const login = await asAdmin('POST', 'auth/token', new URLSearchParams({ grant_type: 'password', username: email, password: PASSWORD }).toString(), {
      authorization: '',
    });
    assert.equal(login.status, 200);
    const asDemoted = timedCaller(host.url, login.body.access_token as string, 8_000);
    assert.equal((await asDemoted('GET', 'auth/me')).status, 200);
    // The standing is cached after the answer, not awaited: wait until Redis has it.
    const standingKey = `${prefix}token-standing:user:${id}`;
    const cached = async (redis: ReturnType<typeof createClient>) =>
      (await redis.keys(`${standingKey}:*`)).some((key) => !key.endsWith(':generation') && !key.endsWith(':fresh')) || undefined;
    await inRedis(cached, 'the standing was never cached');
    const generation = await inRedis(async (redis) => (await redis.get(`${standingKey}:generation`)) ?? undefined, 'no generation');

    proxy.cut();
    assert.equal((await asAdmin('POST', `auth/users/${id}/roles`, { roles: ['customer'] })).status, 200);
    proxy.restore();
    await redisAnswers(services);

    const after = await asDemoted('GET', 'auth/me');
    assert.equal(after.status, 401, `the demoted pharmacist's old token still works: ${after.status}`);
    // Other instances read the standing under the generation: the refused bump lands once Redis is back.
    await inRedis(async (redis) => ((await redis.get(`${standingKey}:generation`)) !== generation ? true : undefined), 'the generation was never bumped');
  });
});
