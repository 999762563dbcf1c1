// A Redis of the test's own (spare port, own folder), killed and frozen under steady load: run alone, after the main suite (see `npm test`).
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { RedisCache } from '../../shared/adapters/redis/cache';
import { describeLatency, lostCommands, percentile, readModelDifferences, request, SteadyLoad, underSteadyLoad, until, type World } from '../support/fault-load';
import { privateRedisUnavailable, RedisNode } from '../support/redis-node';
import { suiteNeeding } from '../support/suite';

/**
 * Issue 12's fault suite, Redis: the cache is an optimisation. While it is killed or
 * frozen, commands and reads keep answering (reads close to their healthy latency; no 5xx
 * but logins, which fail closed with a 503: the login throttle cannot count attempts
 * without it); once it is back, logins work again by themselves, every read model equals
 * a rebuild and no acknowledged command is missing from the event store.
 */
const FAULT_MS = 6_000;
/** How much slower than healthy reads may be during the fault (the cache's timeout is 200 ms, paid at most once a second when frozen). */
const READ_SLACK_MS = 250;
/** No request may come near a hang: well above any bound the app sets itself. */
const SLOWEST_MS = 2_000;

suiteNeeding('Redis killed and frozen under steady load', privateRedisUnavailable(), () => {
  let redis: RedisNode;
  let platform: Awaited<ReturnType<typeof underSteadyLoad>>;
  let services: typeof platform.services;
  let host: typeof platform.host;
  let load: SteadyLoad;
  let world: World;
  let token: string;

  before(async () => {
    redis = await RedisNode.start();
    platform = await underSteadyLoad(
      { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'faults:', LOGIN_MAX_FAILURES_PER_ACCOUNT: '1000', LOGIN_MAX_FAILURES_PER_ADDRESS: '1000' },
      { withUser: true, loginsPerSecond: 1, composed: (services) => (services.cache as RedisCache).ready() },
    );
    ({ services, host, load, world, token } = platform);
  });
  after(async () => {
    redis?.thaw();
    await platform?.stop();
    await redis?.dispose();
  });

  /** Once Redis is back: a login succeeds and readiness reports the cache healthy again. */
  async function recovered(): Promise<number> {
    return until('logins and readiness recover once Redis is back', 30_000, async () => {
      const ready = await request(host.url, undefined, 'GET', 'health/ready');
      const checks = ready.body?.checks as { cache?: { status: string } } | undefined;
      const login = await request(host.url, undefined, 'POST', 'auth/token', new URLSearchParams({ grant_type: 'password', username: world.user!.email, password: world.user!.password }).toString());
      return checks?.cache?.status === 'healthy' && login.status === 200;
    });
  }

  /** Reads answer as served by the read store: each seeded pharmacy's ETag is the read model's version (no stale cached copy left). */
  async function readsFresh(): Promise<number> {
    return until('reads answer the read model again (no stale cached copy)', 45_000, async () => {
      for (const id of world.pharmacies) {
        const [answer, stored] = await Promise.all([request(host.url, token, 'GET', `pharmacies/${id}`), services.readStore.container('pharmacies').get(id)]);
        // The ETag is `"<version>"` or `"<version>-<variant>"` (open now or not).
        if (/^"(\d+)/.exec(answer.headers.get('etag') ?? '')?.[1] !== String(stored?.document.version)) return false;
      }
      return true;
    });
  }

  function checkFaultPhase(t: { diagnostic(message: string): void }, phase: string) {
    const healthy = load.of('read', 'healthy');
    const reads = load.of('read', phase);
    const commands = load.of('command', phase);
    const logins = load.of('login', phase);
    t.diagnostic(`reads healthy ${describeLatency(healthy)}; ${phase} ${describeLatency(reads)}`);
    t.diagnostic(`commands healthy ${describeLatency(load.of('command', 'healthy'))}; ${phase} ${describeLatency(commands)}`);
    t.diagnostic(`logins healthy ${describeLatency(load.of('login', 'healthy'))}; ${phase} ${describeLatency(logins)}`);
    // Recorded, not judged here: what readiness should say under each fault is issue 12 item 5.
    t.diagnostic(`readiness healthy ${load.readinessIn('healthy')}; ${phase} ${load.readinessIn(phase)}`);
    assert.ok(reads.length > 20 && commands.length > 10, 'the load ran through the fault');
    assert.deepEqual(load.failures(), [], 'no read or command went unanswered or answered 5xx, at any time (requests across a phase change too)');
    assert.deepEqual(reads.filter((read) => read.status !== 200), [], `every read answers 200 with Redis ${phase}`);
    assert.deepEqual(commands.filter((command) => command.status < 200 || command.status >= 300), [], `every command is accepted with Redis ${phase}`);
    assert.deepEqual(
      load.samples.filter((sample) => sample.kind === 'login' && sample.status !== 200 && sample.status !== 503),
      [],
      'a login answers 200 or fails closed with 503, never 500 or a hang',
    );
    assert.deepEqual(load.of('login', 'healthy').filter((login) => login.status !== 200), [], 'logins succeed while Redis is healthy');
    assert.ok(logins.some((login) => login.status === 503), `logins fail closed while Redis is ${phase} (the throttle cannot count)`);
    const p95 = (samples: typeof reads) => percentile(samples.map((sample) => sample.ms), 95);
    assert.ok(p95(reads) <= p95(healthy) + READ_SLACK_MS, `reads p95 ${Math.round(p95(reads))} ms with Redis ${phase}, healthy ${Math.round(p95(healthy))} ms`);
    const slowest = Math.max(...[...reads, ...commands, ...logins].map((sample) => sample.ms));
    assert.ok(slowest < SLOWEST_MS, `a request took ${Math.round(slowest)} ms with Redis ${phase}`);
  }

  async function checkConverged(t: { diagnostic(message: string): void }, phase: string, backAt: number) {
    const back = await recovered();
    const fresh = await readsFresh();
    await services.bus.idle?.();
    const lost = await lostCommands(services, load.acknowledged);
    assert.deepEqual(lost, [], `${lost.length} acknowledged command(s) missing from the event store`);
    const differences = await readModelDifferences(services);
    assert.equal(differences.count, 0, `read models differ from a rebuild: ${differences.summary}`);
    t.diagnostic(
      `Redis ${phase}: logins and readiness back ${back} ms after it returned, every read fresh ${Math.round(Date.now() - backAt)} ms after (` +
        `${fresh} ms after the logins); ${load.acknowledged.length} acknowledged commands, 0 lost; read models = rebuild (${differences.summary})`,
    );
  }

  it('killed (SIGKILL, comes back empty): reads and commands answer, logins 503; then all converges', async (t) => {
    load.phase = 'killed';
    await redis.kill();
    await load.run(FAULT_MS);
    load.phase = 'restarting';
    await redis.restart();
    const backAt = Date.now();
    load.phase = 'after-kill';
    checkFaultPhase(t, 'killed');
    await checkConverged(t, 'killed', backAt);
  });

  it('frozen (SIGSTOP): reads and commands answer within the bound, logins 503; then all converges', async (t) => {
    load.phase = 'frozen';
    redis.freeze();
    try {
      await load.run(FAULT_MS);
    } finally {
      redis.thaw();
    }
    const backAt = Date.now();
    load.phase = 'after-freeze';
    checkFaultPhase(t, 'frozen');
    await checkConverged(t, 'frozen', backAt);
  });
});
