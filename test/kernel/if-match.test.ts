import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIfMatch, tagNamesVersion } from '../../shared/kernel/http';

const strong = (opaque: string) => ({ weak: false, opaque });

describe('If-Match (RFC 9110 entity tags)', () => {
  it('parses *, one tag, a list with spaces and empty elements, weak tags and commas inside a tag', () => {
    assert.equal(parseIfMatch(' * '), '*');
    assert.deepEqual(parseIfMatch('"6"'), [strong('6')]);
    assert.deepEqual(parseIfMatch('"6-open" ,\t"6-closed"'), [strong('6-open'), strong('6-closed')]);
    assert.deepEqual(parseIfMatch('"6", ,W/"7",'), [strong('6'), { weak: true, opaque: '7' }]);
    assert.deepEqual(parseIfMatch('"a,b"'), [strong('a,b')]);
  });

  it('finds no tag in garbage: unquoted, half-quoted, text after a tag, * in a list, lower-case w/', () => {
    for (const header of ['6', '"6', '6"', '"6"x', '"6" "7"', '*, "6"', 'w/"6"', 'W/6', 'garbage', '"6""']) {
      assert.equal(parseIfMatch(header), undefined, header);
    }
  });

  it('reads a long run of spaces in linear time, not quadratic (a 64 KB header took ~2 s of the event loop)', () => {
    // Review: the element pattern had two [ \t]* around an optional tag, which split a run of n spaces n² ways before failing.
    const started = performance.now();
    assert.equal(parseIfMatch(`"6",${' '.repeat(65_536)}x`), undefined);
    assert.deepEqual(parseIfMatch(`"6",${' '.repeat(65_536)}"7"`), [strong('6'), strong('7')]);
    assert.ok(performance.now() - started < 200, `${Math.round(performance.now() - started)} ms`);
  });

  it('matches a version by strong comparison: only "v" and the read forms "v-open"…', () => {
    assert.equal(tagNamesVersion(strong('6'), 6), true);
    assert.equal(tagNamesVersion(strong('6-open'), 6), true);
    assert.equal(tagNamesVersion(strong('6-ended'), 6), true);
    assert.equal(tagNamesVersion({ weak: true, opaque: '6' }, 6), false, 'a weak tag never matches strongly');
    assert.equal(tagNamesVersion(strong('0006'), 6), false, 'leading zeros name another tag');
    assert.equal(tagNamesVersion(strong('6-bogus'), 6), false, 'no read sends that variant');
    assert.equal(tagNamesVersion(strong('7'), 6), false);
  });
});
