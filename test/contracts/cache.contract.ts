import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Cache } from '../../shared/kernel/ports';

/** What the query side relies on from every Cache adapter. */
export function cacheContract(adapter: string, open: () => Promise<Cache>) {
  describe(`Cache contract: ${adapter}`, () => {
    const key = () => `test:${randomUUID()}`;
    const ttl = { freshSeconds: 60, staleSeconds: 3600 };

    it('misses an unknown key and returns a value it was given, fresh', async () => {
      const cache = await open();
      const k = key();
      assert.equal(await cache.get(k), undefined);
      await cache.set(k, { name: 'Drogaria', n: [1, 2] }, ttl);
      assert.deepEqual(await cache.get(k), { value: { name: 'Drogaria', n: [1, 2] }, fresh: true });
    });

    it('keeps an entry as a stale copy once its fresh time is over', async () => {
      const cache = await open();
      const k = key();
      await cache.set(k, 'v', { freshSeconds: 0, staleSeconds: 3600 });
      assert.deepEqual(await cache.get(k), { value: 'v', fresh: false });
    });

    it('invalidation ends freshness but keeps the stale copy for outages', async () => {
      const cache = await open();
      const k = key();
      await cache.set(k, 'v', ttl);
      await cache.invalidate([k, key()]);
      assert.deepEqual(await cache.get(k), { value: 'v', fresh: false });
      await cache.set(k, 'w', ttl);
      assert.deepEqual(await cache.get(k), { value: 'w', fresh: true });
    });

    it('counts generations: a read alone leaves a counter as it is, each bump moves it on by one', async () => {
      const cache = await open();
      const k = key();
      const first = await cache.counter(k);
      assert.equal(await cache.counter(k), first);
      assert.equal(await cache.increment(k), first + 1);
      assert.equal(await cache.increment(k), first + 2);
      assert.equal(await cache.counter(k), first + 2);
    });

    it('counts within a window, peeks without counting, and resets', async () => {
      const cache = await open();
      const k = key();
      assert.equal(await cache.peekWindow(k), undefined);
      assert.equal((await cache.incrementWithin(k, 60)).count, 1);
      const second = await cache.incrementWithin(k, 60);
      assert.equal(second.count, 2);
      assert.ok(second.resetsInSeconds > 0 && second.resetsInSeconds <= 60);
      assert.equal((await cache.peekWindow(k))?.count, 2);
      await cache.resetWindow(k);
      assert.equal(await cache.peekWindow(k), undefined);
    });

    it('counts atomically under parallel increments, and takes a count back without going below zero or opening a window', async () => {
      const cache = await open();
      const k = `parallel-${Math.random()}`;
      const counts = await Promise.all(Array.from({ length: 50 }, () => cache.incrementWithin(k, 60)));
      assert.deepEqual(
        counts.map((c) => c.count).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      await cache.uncount(k);
      assert.equal((await cache.peekWindow(k))?.count, 49);
      const none = `never-${Math.random()}`;
      await cache.uncount(none);
      assert.equal(await cache.peekWindow(none), undefined);
    });

    it('remembers members for their time, renewed in one step, keeping the most recently renewed', async () => {
      const cache = await open();
      const k = key();
      assert.equal(await cache.recalls(k, 'home', 60), false);
      await cache.remember(k, 'home', 60, 3);
      assert.equal(await cache.recalls(k, 'home', 60), true);
      assert.equal(await cache.recalls(k, 'elsewhere', 60), false);
      for (const member of ['a', 'b', 'c']) await cache.remember(k, member, 60, 3);
      assert.equal(await cache.recalls(k, 'home', 60), false, 'the least recently renewed went past `keep`');
      await cache.remember(k, 'a', 60, 3);
      await cache.remember(k, 'd', 60, 3);
      assert.deepEqual(await Promise.all(['a', 'b', 'c', 'd'].map((member) => cache.recalls(k, member, 60))), [true, false, true, true], 'renewing a kept it');
      const brief = key();
      await cache.remember(brief, 'home', 1, 3);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.equal(await cache.recalls(brief, 'home', 1), false, 'its time ran out');
    });

    it('answers a ping', async () => {
      await (await open()).ping();
    });
  });
}
