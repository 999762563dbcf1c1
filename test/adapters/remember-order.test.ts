import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { skipUnlessReachable } from '../support/reachable';
import { MemoryCache } from '../../shared/adapters/memory/cache';
import { RedisCache } from '../../shared/adapters/redis/cache';
import type { Cache } from '../../shared/kernel/ports';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = skipUnlessReachable('Redis', 'REDIS_URL', url);

/**
 * Review of f8d0f2e. The port promises that `remember` keeps the `keep` most recently renewed
 * members (memory: the order of renewal). On Redis the set was scored by when each member ran
 * out (now + seconds, by the writing instance's clock), and ZREMRANGEBYRANK kept the `keep`
 * latest to run out: the same thing only while every call passed the same `seconds` and every
 * instance read the same clock. After an operator lowered AUTH_REFRESH_TOKEN_DAYS (30 to 7),
 * an account with a full set had each new login's address dropped in the very MULTI that
 * added it; an instance whose clock was behind the others' likewise dropped the address it
 * was asked to remember. Now scored by renewal, by Redis's clock, each above the one before.
 */
function rememberOrder(adapter: string, open: () => Promise<Cache>) {
  describe(`${adapter}: remember keeps the most recently renewed members`, () => {
    it('a member renewed last, for a shorter time than the others, is kept', async () => {
      const cache = await open();
      const k = `known-clients:${randomUUID()}`;
      for (const member of ['a', 'b', 'c']) await cache.remember(k, member, 30 * 86_400, 3);
      // AUTH_REFRESH_TOKEN_DAYS lowered to 7: the next login remembers its address for 7 days.
      await cache.remember(k, 'new', 7 * 86_400, 3);
      assert.equal(await cache.recalls(k, 'new', 7 * 86_400), true, 'the address just signed in from is not remembered');
      assert.equal(await cache.recalls(k, 'a', 7 * 86_400), false, 'the least recently renewed should have gone');
    });

    it('a member renewed last by an instance whose clock is a minute behind is kept', async () => {
      const cache = await open();
      const k = `known-clients:${randomUUID()}`;
      for (const member of ['a', 'b', 'c']) await cache.remember(k, member, 30 * 86_400, 3);
      const realNow = Date.now;
      const behind = realNow() - 60_000;
      Date.now = () => behind;
      try {
        await cache.remember(k, 'new', 30 * 86_400, 3);
      } finally {
        Date.now = realNow;
      }
      assert.equal(await cache.recalls(k, 'new', 30 * 86_400), true, 'the address just signed in from is not remembered');
    });
  });
}

describe('remember’s order of renewal on both adapters', () => {
  rememberOrder('memory', async () => new MemoryCache(1 << 20));
});

suiteNeeding('remember’s order of renewal on Redis', skip, () => {
  const opened: RedisCache[] = [];
  after(() => Promise.all(opened.map((cache) => cache.close())));
  rememberOrder('Redis', async () => {
    const cache = RedisCache.open(url, `test-${process.pid}-${Date.now()}-remember:`);
    opened.push(cache);
    await cache.ready();
    return cache;
  });
});
