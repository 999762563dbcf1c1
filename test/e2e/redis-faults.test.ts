import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { timedCaller } from '../support/timed-call';
import { RedisCache } from '../../shared/adapters/redis/cache';
import { appModules } from '../../shared/platform/app';
import { startLocalHost, type LocalHost } from '../../local/host';
import { pharmacyBody } from '../support/fixtures';
import { skipUnlessReachable } from '../support/reachable';
import { testServices } from '../support/services';
import { TcpProxy } from '../support/tcp-proxy';
import { ADMIN, tokenFor } from '../support/tokens';

/**
 * Issue 12, item 4: losing Redis crippled reads and logins. Down, a MULTI (a cache write
 * after a miss, a login count) waited for the next reconnection although the offline queue
 * is off, and every miss awaited its write: reads took seconds, logins failed with 500.
 * Frozen, nothing had a timeout: reads, logins and projector invalidations hung. The
 * proxy in front of the test's Redis is cut (down) or stops forwarding (frozen).
 */
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BOUND_MS = 500;
const PASSWORD = 'a long and private passphrase';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function hostOn(proxy: TcpProxy) {
  const services = await testServices({
    REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
    REDIS_KEY_PREFIX: `test-faults-${process.pid}-${Date.now()}:`,
    // Wrong passwords are part of the probing here, not an attack to stop.
    LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000',
    LOGIN_MAX_FAILURES_PER_ADDRESS: '1000',
  });
  await (services.cache as RedisCache).ready();
  const host: LocalHost = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {} });
  const token = await tokenFor(services, ADMIN);
  /** One request; the old code hung on a frozen Redis, so a request gives up after 8 s (and the test fails on its bound). */
  const call = timedCaller(host.url, token, 8_000);
  return { services, call, stop: async () => (await host.stop(), await services.dispose()) };
}

const skip = skipUnlessReachable('Redis', 'REDIS_URL', redisUrl);

// One host and proxy per fault, so each test stands alone.
for (const fault of ['down', 'frozen'] as const) suiteNeeding(`Redis ${fault} under a running host (issue 12, item 4)`, skip, () => {
  let proxy: TcpProxy;
  let app: Awaited<ReturnType<typeof hostOn>>;
  let pharmacyId: string;
  let email: string;
  const healthy: number[] = [];

  const login = (password: string) =>
    app.call('POST', 'auth/token', new URLSearchParams({ grant_type: 'password', username: email, password }).toString(), { authorization: '' });
  const clientLogin = () =>
    app.call('POST', 'auth/token', new URLSearchParams({ grant_type: 'client_credentials', client_id: randomUUID(), client_secret: 'not a secret' }).toString(), {
      authorization: '',
    });

  /** Waits until Redis answers again: reads are cache hits and a wrong password is a 400 again. */
  async function recovered() {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const first = await app.call('GET', `pharmacies/${pharmacyId}`);
      const second = await app.call('GET', `pharmacies/${pharmacyId}`);
      const wrong = await login('a wrong guess');
      if (second.headers.get('x-cache') === 'hit' && wrong.status === 400) return { first, second, wrong };
      assert.ok(Date.now() < deadline, `not recovered: ${second.headers.get('x-cache')}, login ${wrong.status}`);
      await sleep(200);
    }
  }

  before(async () => {
    const target = new URL(redisUrl);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 6379));
    app = await hostOn(proxy);
    const registered = await app.call('POST', 'pharmacies', pharmacyBody());
    assert.equal(registered.status, 201);
    pharmacyId = registered.body.id;
    await app.services.bus.idle?.();
    email = `${randomUUID()}@exemplo.com.br`;
    assert.equal((await app.call('POST', 'auth/register', { email, password: PASSWORD, name: 'Dona Falha' }, { authorization: '' })).status, 201);
    assert.equal((await login(PASSWORD)).status, 200);
    for (let i = 0; i < 20; i++) healthy.push((await app.call('GET', `pharmacies/${pharmacyId}`)).ms);
    healthy.sort((a, b) => a - b);
  });
  after(async () => {
    proxy?.thaw();
    await app?.stop();
    await proxy?.stop();
  });

  if (fault === 'down') it('down: reads answer from the store within the bound, logins 503 with Retry-After at once (never 500), and Redis is used again once back', async () => {
    proxy.cut();
    const reads = [];
    // Some reads find nothing cached (a list page never read), all go to the store and try to cache what they read.
    for (let i = 0; i < 10; i++) {
      reads.push(await app.call('GET', `pharmacies/${pharmacyId}`));
      reads.push(await app.call('GET', `pharmacies?state=SP&limit=${i + 1}`));
      await sleep(50);
    }
    for (const read of reads) assert.equal(read.status, 200);
    const slowest = Math.max(...reads.map((read) => read.ms));
    assert.ok(slowest < BOUND_MS, `a read with Redis down took ${slowest.toFixed(0)} ms`);

    for (const answer of [await login(PASSWORD), await login('a wrong guess'), await clientLogin()]) {
      assert.equal(answer.status, 503, JSON.stringify(answer.body));
      assert.ok(Number(answer.headers.get('retry-after')) > 0, 'a 503 says when to come back');
      assert.ok(answer.ms < BOUND_MS, `a login with Redis down took ${answer.ms.toFixed(0)} ms`);
    }
    const patched = await app.call('PATCH', `pharmacies/${pharmacyId}`, { tradeName: 'Drogaria Sem Redis' });
    assert.equal(patched.status, 200);
    const started = performance.now();
    await app.services.bus.idle?.();
    assert.ok(performance.now() - started < BOUND_MS, 'the projector invalidating its keys waited for Redis');
    const read = await app.call('GET', `pharmacies/${pharmacyId}`);
    assert.deepEqual([read.status, read.body.tradeName], [200, 'Drogaria Sem Redis']);
    console.log(
      `healthy read p50 ${healthy[10].toFixed(1)} ms, max ${healthy[19].toFixed(1)} ms; Redis down: read max ${slowest.toFixed(1)} ms`,
    );

    proxy.restore();
    const back = await recovered();
    assert.equal(back.first.status, 200);
    assert.equal((await login(PASSWORD)).status, 200);
  });

  else it('frozen: reads, logins (503 with Retry-After) and projector invalidations answer within the bound, and Redis is used again once it thaws', async () => {
    proxy.freeze();
    const reads = [];
    for (let i = 0; i < 10; i++) {
      reads.push(await app.call('GET', `pharmacies/${pharmacyId}`));
      reads.push(await app.call('GET', `pharmacies?state=SP&limit=${i + 11}`));
      await sleep(150);
    }
    for (const read of reads) assert.equal(read.status, 200, `a read with Redis frozen: ${read.status}`);
    const slowest = Math.max(...reads.map((read) => read.ms));
    assert.ok(slowest < BOUND_MS, `a read with Redis frozen took ${slowest.toFixed(0)} ms`);

    const logins = [];
    for (let i = 0; i < 4; i++) {
      logins.push(await login(i % 2 ? PASSWORD : 'a wrong guess'), await clientLogin());
      await sleep(400);
    }
    for (const answer of logins) {
      assert.equal(answer.status, 503, JSON.stringify(answer.body));
      assert.ok(Number(answer.headers.get('retry-after')) > 0, 'a 503 says when to come back');
      assert.ok(answer.ms < BOUND_MS, `a login with Redis frozen took ${answer.ms.toFixed(0)} ms`);
    }

    const patched = await app.call('PATCH', `pharmacies/${pharmacyId}`, { tradeName: 'Drogaria Congelada' });
    assert.equal(patched.status, 200);
    assert.ok(patched.ms < BOUND_MS, `a command with Redis frozen took ${patched.ms.toFixed(0)} ms`);
    const started = performance.now();
    const idle = await Promise.race([app.services.bus.idle?.().then(() => 'idle'), sleep(5_000).then(() => 'hung')]);
    const invalidation = performance.now() - started;
    assert.equal(idle, 'idle', 'the projector hung on its cache invalidation');
    assert.ok(invalidation < BOUND_MS, `the projection with its invalidation took ${invalidation.toFixed(0)} ms`);
    console.log(
      `Redis frozen: read max ${slowest.toFixed(1)} ms, login max ${Math.max(...logins.map((l) => l.ms)).toFixed(1)} ms, projection ${invalidation.toFixed(1)} ms`,
    );

    proxy.thaw();
    const back = await recovered();
    assert.equal(back.first.status, 200);
    assert.equal((await login(PASSWORD)).status, 200);
  });
});
