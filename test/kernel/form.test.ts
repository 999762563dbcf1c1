import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FormNotUtf8, formPairs, queryText } from '../../shared/kernel/form';

/** A small random generator (mulberry32), so a failure names a seed that reproduces it. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Pieces a form is made of: escapes of UTF-8 and of other bytes, stray `%`, separators, text.
 * ASCII only, as a URL's query and a client's form are: Node's URLSearchParams reads raw
 * non-ASCII after an escape as U+FFFD where the WHATWG parser keeps it (see the last test).
 */
const PIECES = ['%C3%A3', '%E3', '%e2%82%ac', '%F0%9F%92%8A', '%EF%BB%BF', '%', '%4', '%zz', '+', '=', '&', 'a', 'Z', '0', ' ', '%25', '%2B', '%26', '%3D', '%ED%A0%80'];

describe('the strict form parser', () => {
  it('reads every form as URLSearchParams does, or refuses it where URLSearchParams left U+FFFD for bytes that are not UTF-8', () => {
    const next = random(14);
    let refused = 0;
    for (let n = 0; n < 20_000; n += 1) {
      const form = Array.from({ length: 1 + Math.floor(next() * 12) }, () => PIECES[Math.floor(next() * PIECES.length)]).join('');
      const whatwg = [...new URLSearchParams(form)];
      let strict: [string, string][] | undefined;
      try {
        strict = formPairs(form);
      } catch (error) {
        assert.ok(error instanceof FormNotUtf8, `${form}: ${String(error)}`);
        assert.ok(whatwg.some(([name, value]) => `${name}${value}`.includes('\uFFFD')), `${form} refused, read by URLSearchParams as ${JSON.stringify(whatwg)}`);
        refused += 1;
        continue;
      }
      assert.deepEqual(strict, whatwg, form);
    }
    assert.ok(refused > 1_000 && refused < 19_000, `${refused} of 20 000 refused: the pieces test both outcomes`);
  });

  it('names the pair that is not UTF-8 by its name as sent, cut to 40 characters', () => {
    assert.throws(() => formPairs('limit=5&q=S%E3o'), (error) => error instanceof FormNotUtf8 && error.rawName === 'q');
    assert.throws(() => formPairs(`${'n%E3'.repeat(20)}=1`), (error) => error instanceof FormNotUtf8 && error.rawName === 'n%E3'.repeat(10));
  });

  it('keeps a U+FFFD sent as its own UTF-8 escape: only bytes that are not UTF-8 are refused', () => {
    assert.deepEqual(formPairs('q=%EF%BF%BD'), [['q', '\uFFFD']]);
  });

  it('keeps raw non-ASCII text as itself, as the WHATWG parser does (it reads the text as UTF-8)', () => {
    assert.deepEqual(formPairs('name=S%C3%A3o João&x=%zzã'), [['name', 'São João'], ['x', '%zzã']]);
  });

  it('takes the query string of a URL, without its fragment', () => {
    assert.equal(queryText('http://localhost/api/offers?productId=1&limit=5'), 'productId=1&limit=5');
    assert.equal(queryText('http://localhost/api/offers?q=a#b?c'), 'q=a');
    assert.equal(queryText('http://localhost/api/offers'), '');
    assert.equal(queryText('http://localhost/api/offers?'), '');
  });

  it('reads no query from a fragment: a `?` after `#` begins none, as URL.search reads it', () => {
    // Node's HTTP server takes a request target with a fragment, and the local host's URL keeps it.
    for (const url of ['http://localhost/api/offers#top?limit=500', 'http://localhost/api/offers#?q=a', 'http://localhost/api/offers?q=a#b?c', 'http://localhost/api/offers?#x?y=1']) {
      assert.equal(queryText(url), new URL(url).search.slice(1), url);
    }
  });
});
