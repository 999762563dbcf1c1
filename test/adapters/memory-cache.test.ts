import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { approximateSize, MemoryCache } from '../../shared/adapters/memory/cache';
import { cacheContract } from '../contracts/cache.contract';

const MB = 1024 * 1024;

cacheContract('memory', async () => new MemoryCache(MB));

/** A list of offer-like documents estimated at about `bytes`. */
function offers(bytes: number, tag = 'x') {
  const one = { id: `${tag}-00000000-0000-0000-0000-000000000000`, pharmacyId: 'a86b2571-f376-480b-b507-30c502031434', priceCents: 1061, stock: 'in_stock' };
  return Array.from({ length: Math.round(bytes / (approximateSize(one) + 1)) }, () => one);
}

describe('memory cache', () => {
  const ttl = { freshSeconds: 60, staleSeconds: 3600 };

  it('forgets an entry once its stale time is over', async () => {
    // Given an entry fresh for 10 s and kept for 100 s
    let now = 0;
    const cache = new MemoryCache(MB, () => now);
    await cache.set('k', 'v', { freshSeconds: 10, staleSeconds: 100 });
    // When 50 s have passed, then it answers as a stale copy
    now = 50_000;
    assert.deepEqual(await cache.get('k'), { value: 'v', fresh: false });
    // When 100 s have passed, then it is gone, and so are its bytes
    now = 100_000;
    assert.equal(await cache.get('k'), undefined);
    assert.deepEqual(cache.size, { entries: 0, bytes: 0 });
  });

  it('keeps invalidated entries as stale copies, and a new value is fresh again', async () => {
    const cache = new MemoryCache(MB);
    await cache.set('k', offers(1000), ttl);
    await cache.invalidate(['k']);
    assert.equal((await cache.get('k'))?.fresh, false);
    await cache.set('k', 'w', ttl);
    assert.deepEqual(await cache.get('k'), { value: 'w', fresh: true });
  });

  it('evicts the least recently used entries, reads counting as use, until the total fits', async () => {
    // Given a 1 MB cache holding eight entries of 0.12 MB (0.96 MB), the first one read since
    const cache = new MemoryCache(MB);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    for (const key of keys) await cache.set(key, offers(0.12 * MB, key), ttl);
    await cache.get('a');
    // When an entry of 0.24 MB comes in
    await cache.set('new', offers(0.24 * MB, 'new'), ttl);
    // Then the two least recently used go (b, then c), and the one read stays
    assert.equal(await cache.get('b'), undefined);
    assert.equal(await cache.get('c'), undefined);
    for (const key of ['a', 'd', 'e', 'f', 'g', 'h', 'new']) assert.ok(await cache.get(key), `${key} is kept`);
    assert.ok(cache.size.bytes <= MB);
  });

  it('given reads of an entry in the newer half and of one in the older half, both outlive the rest of the older half', async () => {
    // Given eight entries of 0.12 MB in a 1 MB cache; f, in the newer half, is read (and left in place), then a (moved to the back)
    const cache = new MemoryCache(MB);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    for (const key of keys) await cache.set(key, offers(0.12 * MB, key), ttl);
    await cache.get('f');
    await cache.get('a');
    // When two entries of 0.24 MB come in
    await cache.set('new', offers(0.24 * MB, 'new'), ttl);
    await cache.set('newer', offers(0.24 * MB, 'newer'), ttl);
    // Then the four oldest unread go, and both read entries stay
    for (const key of ['b', 'c', 'd', 'e']) assert.equal(await cache.get(key), undefined, `${key} went`);
    for (const key of ['a', 'f', 'g', 'h', 'new', 'newer']) assert.ok(await cache.get(key), `${key} is kept`);
  });

  it('keeps the order of use when the same key is read again and again, and after the newest entry was dropped', async () => {
    // Given four entries of 0.24 MB (0.96 MB), the newest ('d') read many times, then 'a' and 'd' read
    const cache = new MemoryCache(MB);
    for (const key of ['a', 'b', 'c', 'd']) await cache.set(key, offers(0.24 * MB, key), ttl);
    for (let i = 0; i < 3; i++) await cache.get('d');
    await cache.get('a');
    await cache.get('d');
    // When 'd' is replaced by a value too large to keep (it is dropped), and three new entries come in
    await cache.set('d', offers(0.3 * MB, 'd'), ttl);
    for (const key of ['e', 'f', 'g']) await cache.set(key, offers(0.24 * MB, key), ttl);
    // Then the least recently used went first ('b', then 'c'), and 'a', read since, stays
    assert.equal(await cache.get('d'), undefined);
    assert.equal(await cache.get('b'), undefined);
    assert.equal(await cache.get('c'), undefined);
    for (const key of ['a', 'e', 'f', 'g']) assert.ok(await cache.get(key), `${key} is kept`);
  });

  it('stays under its byte bound with many large values', async () => {
    // Given a 4 MB cache
    const cache = new MemoryCache(4 * MB);
    const value = offers(600_000);
    // When 200 values of 600 KB are set (120 MB in all)
    for (let i = 0; i < 200; i++) {
      await cache.set(`near:${i}`, value, ttl);
      assert.ok(cache.size.bytes <= 4 * MB, `after ${i + 1}: ${cache.size.bytes} bytes`);
    }
    // Then it holds the newest six (6 × 600 KB fit in 4 MB, 7 do not), the total matches them, and the first ones are gone
    assert.equal(cache.size.entries, 6);
    const each = approximateSize(value);
    assert.ok(cache.size.bytes >= 6 * each && cache.size.bytes < 6 * (each + 1000));
    assert.equal(await cache.get('near:0'), undefined);
    assert.ok(await cache.get('near:199'));
  });

  it('refuses an entry larger than a quarter of its bound, and drops the value it had under that key', async () => {
    // Given a 1 MB cache holding a small value under a key
    const cache = new MemoryCache(MB);
    await cache.set('near', 'small', ttl);
    await cache.set('other', 'kept', ttl);
    // When a 300 KB value is set under that key
    await cache.set('near', offers(300_000), ttl);
    // Then neither answers for it, and the rest stays
    assert.equal(await cache.get('near'), undefined);
    assert.deepEqual(await cache.get('other'), { value: 'kept', fresh: true });
    assert.equal(cache.size.entries, 1);
    // And just under a quarter is cached
    await cache.set('near', offers(240_000), ttl);
    assert.ok(await cache.get('near'));
  });

  it('counts a replaced entry once', async () => {
    const cache = new MemoryCache(MB);
    await cache.set('k', offers(100_000), ttl);
    const once = cache.size.bytes;
    await cache.set('k', offers(100_000), ttl);
    assert.equal(cache.size.bytes, once);
    await cache.set('k', 'v', ttl);
    assert.ok(cache.size.bytes < 1000);
  });

  it('estimates a document within a tenth of the length of its JSON', () => {
    const product = { id: 'e54a1dbd-89a2-4bf8-90e5-754cee5570ae', name: 'Novalgina', activeIngredients: ['dipirona sódica'], generic: false, version: 1, searchPrefixes: ['no', 'nov', 'nova'] };
    for (const value of [offers(600_000), offers(1000), product, 'texto']) {
      const json = JSON.stringify(value).length;
      const estimate = approximateSize(value);
      assert.ok(estimate >= json * 0.9 && estimate <= json * 1.1, `${estimate} against ${json}`);
    }
  });

  it('bounds its rate-limit windows: ended ones go first, then the longest open', async () => {
    // Given room for 10 windows, 5 of them ended
    let now = 0;
    const cache = new MemoryCache(MB, () => now, 10);
    for (let i = 0; i < 5; i++) await cache.incrementWithin(`ended:${i}`, 1);
    now = 2000;
    for (let i = 0; i < 5; i++) await cache.incrementWithin(`open:${i}`, 60);
    // When 5 more open
    for (let i = 5; i < 10; i++) await cache.incrementWithin(`open:${i}`, 60);
    // Then all 10 open ones are kept
    for (let i = 0; i < 10; i++) assert.equal((await cache.peekWindow(`open:${i}`))?.count, 1, `open:${i}`);
    // When a further one opens, past the bound with none ended, the oldest ones go down to nine tenths
    await cache.incrementWithin('open:10', 60);
    assert.equal(await cache.peekWindow('open:0'), undefined);
    assert.equal(await cache.peekWindow('open:1'), undefined);
    for (let i = 2; i <= 10; i++) assert.ok(await cache.peekWindow(`open:${i}`), `open:${i}`);
  });

  it('bounds its counters, and a forgotten counter never reads a generation it had', async () => {
    // Given room for 10 counters, the first bumped to 3 with an entry cached under that generation
    const cache = new MemoryCache(MB, Date.now, 50_000, 10);
    for (let i = 0; i < 3; i++) await cache.increment('gen:0');
    const before = await cache.counter('gen:0');
    for (let i = 1; i < 10; i++) await cache.increment(`gen:${i}`);
    assert.equal(await cache.counter('gen:9'), 1);
    // When an eleventh is bumped
    await cache.increment('gen:10');
    // Then the first ones are forgotten and read a generation higher than any they had
    assert.ok((await cache.counter('gen:0')) > before);
    assert.equal(await cache.counter('gen:5'), 1, 'recently bumped ones keep theirs');
    const fresh = await cache.counter('never');
    assert.equal(await cache.increment('never'), fresh + 1);
  });
});
