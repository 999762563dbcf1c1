import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryCache } from '../../shared/adapters/memory/cache';
import { cacheContract } from '../contracts/cache.contract';

cacheContract('memory', async () => new MemoryCache(1000));

describe('memory cache', () => {
  it('forgets an entry once its stale time is over', async () => {
    let now = 0;
    const cache = new MemoryCache(1000, () => now);
    await cache.set('k', 'v', { freshSeconds: 10, staleSeconds: 100 });
    now = 50_000;
    assert.deepEqual(await cache.get('k'), { value: 'v', fresh: false });
    now = 100_000;
    assert.equal(await cache.get('k'), undefined);
  });

  it('stays within its bound, evicting the least recently used', async () => {
    const cache = new MemoryCache(100);
    const ttl = { freshSeconds: 60, staleSeconds: 60 };
    for (let i = 0; i < 100; i++) await cache.set(`k${i}`, i, ttl);
    await cache.get('k0');
    await cache.set('k100', 100, ttl);
    assert.ok(await cache.get('k0'), 'recently read');
    assert.equal(await cache.get('k1'), undefined, 'least recently used');
  });
});
