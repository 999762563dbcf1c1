import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { REDIS_COMMAND_TIMEOUT_MS, REDIS_PAUSE_AFTER_TIMEOUT_MS, RedisCache, RETIRE_WHEN_IDLE_MS, STALL_MS } from '../../shared/adapters/redis/cache';
import { skipUnlessReachable } from '../support/reachable';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * Issue 12, item 4, at the adapter: every call to the cache answers or fails within a
 * bound, whether Redis is down (a MULTI used to wait for the next reconnection) or frozen
 * (nothing used to time out), and Redis is used again once it is back.
 */
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BOUND_MS = REDIS_COMMAND_TIMEOUT_MS + 150;
/** A first timeout that fired late (this process stalled) grants Redis one more window. */
const STALLED_BOUND_MS = 2 * REDIS_COMMAND_TIMEOUT_MS + STALL_MS + 150;
/** Keeps this process busy, as a long task or a starved CPU does: no timer, no socket read. */
const stall = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The call's end, or 'hung' after 5 s (the old code never answered on a frozen Redis). */
const settled = (call: Promise<unknown>) =>
  Promise.race([
    call.then(
      () => 'answered',
      (error: Error) => error.message,
    ),
    sleep(5_000).then(() => 'hung'),
  ]);

/** Every operation of the port, each awaited to its end (or 5 s, where the old code hung): the slowest time and the outcomes. */
async function everyCall(cache: RedisCache) {
  const calls: [string, () => Promise<unknown>][] = [
    ['get', () => cache.get('k')],
    ['set', () => cache.set('k', { v: 1 }, { freshSeconds: 30, staleSeconds: 60 })],
    ['invalidate', () => cache.invalidate(['k'])],
    ['incrementWithin', () => cache.incrementWithin('w', 60)],
    ['uncount', () => cache.uncount('w')],
    ['peekWindow', () => cache.peekWindow('w')],
    ['resetWindow', () => cache.resetWindow('w')],
    ['counter', () => cache.counter('c')],
    ['increment', () => cache.increment('c')],
    ['ping', () => cache.ping()],
  ];
  const timings: Record<string, { ms: number; outcome: string }> = {};
  for (const [name, call] of calls) {
    const started = performance.now();
    const outcome = await settled(call());
    timings[name] = { ms: performance.now() - started, outcome: outcome === 'answered' || outcome === 'hung' ? outcome : 'failed' };
  }
  return timings;
}

suiteNeeding('the Redis cache when Redis is down or frozen', skipUnlessReachable('Redis', 'REDIS_URL', url), () => {
  const proxies: TcpProxy[] = [];
  const opened: RedisCache[] = [];
  after(async () => {
    for (const proxy of proxies) proxy.thaw();
    await Promise.all(opened.map((cache) => cache.close()));
    await Promise.all(proxies.map((proxy) => proxy.stop()));
  });

  async function behindProxy() {
    const target = new URL(url);
    const proxy = await TcpProxy.start(target.hostname, Number(target.port || 6379));
    proxies.push(proxy);
    const prefix = `test-cache-faults-${process.pid}-${Date.now()}:`;
    const cache = RedisCache.open(`redis://127.0.0.1:${proxy.port}`, prefix);
    opened.push(cache);
    await cache.ready();
    return { proxy, cache, prefix };
  }

  it('down: every call fails at once, a MULTI included (it used to wait for the next reconnection), and answers once Redis is back', async () => {
    const { proxy, cache } = await behindProxy();
    proxy.cut();
    // Reconnection attempts back off (100 ms, 200 ms, … up to 5 s): a MULTI used to wait for the next one.
    await sleep(1_500);
    for (const [name, { ms, outcome }] of Object.entries(await everyCall(cache))) {
      assert.equal(outcome, 'failed', name);
      assert.ok(ms < 50, `${name} took ${ms.toFixed(0)} ms with Redis down`);
    }
    proxy.restore();
    await cache.ready(10_000);
    for (const [name, { outcome }] of Object.entries(await everyCall(cache))) assert.equal(outcome, 'answered', name);
  });

  it('frozen: every call fails within the timeout, then at once during the pause; one call tries again after it, and all answer once Redis thaws', async () => {
    const { proxy, cache } = await behindProxy();
    proxy.freeze();
    const first = performance.now();
    assert.match(await settled(cache.get('k')), /did not answer get within/);
    const timedOut = performance.now() - first;
    assert.ok(timedOut >= REDIS_COMMAND_TIMEOUT_MS - 5 && timedOut < STALLED_BOUND_MS, `the first call gave up after ${timedOut.toFixed(0)} ms`);
    // Paused: no call waits for the frozen Redis.
    for (const [name, { ms, outcome }] of Object.entries(await everyCall(cache))) {
      assert.equal(outcome, 'failed', name);
      assert.ok(ms < 20, `${name} took ${ms.toFixed(0)} ms during the pause`);
    }
    await sleep(REDIS_PAUSE_AFTER_TIMEOUT_MS);
    // After the pause one call tries Redis (and waits its timeout); the others still fail at once.
    const probe = cache.counter('c');
    const started = performance.now();
    assert.match(await settled(cache.get('k')), /not asked/);
    assert.ok(performance.now() - started < 20);
    assert.match(await settled(probe), /did not answer counter within/);

    proxy.thaw();
    await sleep(REDIS_PAUSE_AFTER_TIMEOUT_MS + 50);
    await cache.ping();
    for (const [name, { outcome, ms }] of Object.entries(await everyCall(cache))) {
      assert.equal(outcome, 'answered', name);
      assert.ok(ms < BOUND_MS, `${name} took ${ms.toFixed(0)} ms once thawed`);
    }
    await cache.set('k', 'back', { freshSeconds: 30, staleSeconds: 60 });
    assert.deepEqual(await cache.get('k'), { value: 'back', fresh: true });
  });

  it('frozen: a cache write that timed out lands at the thaw, yet the invalidation that came after it is not lost: the stale copy is not fresh once Redis answers', async () => {
    const { proxy, cache } = await behindProxy();
    await cache.set('k', 'before', { freshSeconds: 30, staleSeconds: 60 });
    await cache.set('j', 'before', { freshSeconds: 30, staleSeconds: 60 });
    proxy.freeze();
    // A read took 'old' from the store just before the document changed; its write reaches
    // the frozen Redis and times out, but sits in the socket.
    assert.match(await settled(cache.set('k', 'old', { freshSeconds: 30, staleSeconds: 60 })), /did not answer set within/);
    // The projector wrote the new document: its invalidations fail (at once, during the pause).
    assert.match(await settled(cache.invalidate(['k', 'j'])), /not asked/);
    proxy.thaw();
    await sleep(REDIS_PAUSE_AFTER_TIMEOUT_MS + 50);
    // Redis answers again, and runs what waited in the socket first: 'old', fresh for 30 s from now.
    // The first answer since the thaw is already not fresh, nor those after it.
    assert.deepEqual(await cache.get('k'), { value: 'old', fresh: false }, 'the first answer since the thaw');
    await cache.ping();
    assert.deepEqual(await cache.get('k'), { value: 'old', fresh: false }, 'the write that timed out is retired once Redis answers');
    assert.deepEqual(await cache.get('j'), { value: 'before', fresh: false }, 'an invalidation refused meanwhile is done once Redis answers');
    // Reads remember anew: fresh again.
    await cache.set('k', 'new', { freshSeconds: 30, staleSeconds: 60 });
    assert.deepEqual(await cache.get('k'), { value: 'new', fresh: true });
  });

  /** A generation's bump refused on a frozen Redis, which then thaws; the counter read before it. */
  async function bumpRefusedWhileFrozen() {
    const { proxy, cache } = await behindProxy();
    const before = await cache.counter('gen:list');
    proxy.freeze();
    // A read times out, so the projector's bump that follows is refused at once, never sent.
    assert.match(await settled(cache.get('k')), /did not answer get within/);
    assert.match(await settled(cache.increment('gen:list')), /not asked/);
    proxy.thaw();
    await sleep(REDIS_PAUSE_AFTER_TIMEOUT_MS + 50);
    return { cache, before };
  }

  it('frozen: a generation bump that failed is done once Redis answers, so lists cached before it do not stay fresh', async () => {
    const { cache, before } = await bumpRefusedWhileFrozen();
    await cache.ping();
    assert.equal(await cache.counter('gen:list'), before + 1);
  });

  it('frozen: the first answer since the thaw does not give the generation a failed bump left behind (a list cached under it would be a hit)', async () => {
    const { cache, before } = await bumpRefusedWhileFrozen();
    // The bump is sent only after this answer: a list cached under `before` (read before the change) would be served fresh.
    const first = await cache.counter('gen:list');
    assert.ok(first > before, 'the first answer since the thaw');
    await cache.ping();
    // Bumped once, or twice (a bump owed may be sent twice: its lists miss once more), never reused.
    const after = await cache.counter('gen:list');
    assert.ok(after >= first && after <= before + 2, `${before} then ${first} then ${after}`);
  });

  it('frozen: a write that timed out is retired though this instance asks Redis nothing more (another instance read the stale copy fresh)', async () => {
    const { proxy, cache, prefix } = await behindProxy();
    const other = RedisCache.open(url, prefix);
    opened.push(other);
    await other.ready();
    await cache.set('k', 'before', { freshSeconds: 30, staleSeconds: 60 });
    proxy.freeze();
    assert.match(await settled(cache.set('k', 'old', { freshSeconds: 30, staleSeconds: 60 })), /did not answer set within/);
    assert.match(await settled(cache.invalidate(['k'])), /not asked/);
    proxy.thaw();
    // This instance has no more traffic (idle, or scaled in): the late write landed at the thaw,
    // fresh for 30 s, and is retired once the instance has been idle for RETIRE_WHEN_IDLE_MS.
    await sleep(RETIRE_WHEN_IDLE_MS + REDIS_PAUSE_AFTER_TIMEOUT_MS + 500);
    assert.deepEqual(await other.get('k'), { value: 'old', fresh: false });
  });

  it('a stall of this process is not Redis freezing: a command answered meanwhile, or written only after it, succeeds and pauses nothing', async () => {
    const { cache } = await behindProxy();
    // Written, then the process stalls past the timeout: the answer waits unread in the socket.
    const answeredDuringStall = cache.get('k');
    await sleep(5);
    stall(2 * REDIS_COMMAND_TIMEOUT_MS);
    assert.equal(await settled(answeredDuringStall), 'answered');
    // Asked, and the same task stalls before the command is even written.
    const writtenAfterStall = cache.get('k');
    stall(2 * REDIS_COMMAND_TIMEOUT_MS);
    assert.equal(await settled(writtenAfterStall), 'answered');
    // Not paused: the next call goes to Redis.
    assert.equal(await settled(cache.get('k')), 'answered');
  });

  it('a stall and a frozen Redis: the call still fails, one more window after the stall', async () => {
    const { proxy, cache } = await behindProxy();
    proxy.freeze();
    const started = performance.now();
    const call = settled(cache.get('k'));
    stall(2 * REDIS_COMMAND_TIMEOUT_MS);
    assert.match(await call, /did not answer get within/);
    const took = performance.now() - started;
    assert.ok(took >= 3 * REDIS_COMMAND_TIMEOUT_MS - 5 && took < 2 * REDIS_COMMAND_TIMEOUT_MS + STALLED_BOUND_MS, `gave up after ${took.toFixed(0)} ms`);
    assert.match(await settled(cache.get('k')), /not asked/, 'then paused, as after any timeout');
  });

  it('close does not hang on a frozen Redis (QUIT is never answered)', async () => {
    const { proxy, cache } = await behindProxy();
    proxy.freeze();
    const started = performance.now();
    const closed = await Promise.race([cache.close().then(() => 'closed'), sleep(5_000).then(() => 'hung')]);
    assert.equal(closed, 'closed');
    assert.ok(performance.now() - started < BOUND_MS);
  });
});
