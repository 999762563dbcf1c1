import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { repeatedMemberPath, repeatsAMember } from '../../shared/kernel/json-members';
import { InvalidInput } from '../../shared/kernel/errors';
import { parseStrictJson } from '../../shared/kernel/http';

/** A random JSON text whose objects may repeat a name (what JSON.stringify cannot write), with its first repeat's path. */
function randomText(random: () => number, depth = 0, path: string[] = [], found: { path?: string } = {}): string {
  const pick = <T>(options: T[]) => options[Math.floor(random() * options.length)];
  const kind = depth > 3 ? pick(['string', 'number', 'literal']) : pick(['object', 'object', 'array', 'string', 'number', 'literal']);
  if (kind === 'string') return JSON.stringify(pick(['', 'a', 'a:b', 'say "hi": {x}', '\\', '\\"', '[1,2]', 'ç:ã', '\u2028']));
  if (kind === 'number') return pick(['0', '-1.5e3', '42']);
  if (kind === 'literal') return pick(['true', 'false', 'null']);
  if (kind === 'array') {
    const items = Array.from({ length: Math.floor(random() * 4) }, (_, n) => randomText(random, depth + 1, [...path, String(n)], found));
    return `[${items.join(pick([',', ' , ']))}]`;
  }
  const names: string[] = [];
  const members: string[] = [];
  for (let n = Math.floor(random() * 4); n > 0; n--) {
    const name = random() < 0.15 && names.length ? pick(names) : pick(['a', 'b', 'a:b', '"q"', 'ç', 'items', `k${Math.floor(random() * 1000)}`]);
    // The scan goes in text order: a repeat is found before anything nested in a later member.
    const repeated = names.includes(name);
    if (repeated && found.path === undefined) found.path = [...path, name].map((part) => part || '""').join('.');
    names.push(name);
    const value = repeated ? '1' : randomText(random, depth + 1, [...path, name], found);
    members.push(`${JSON.stringify(name)}${pick([':', ' : '])}${value}`);
  }
  return `{${members.join(',')}}`;
}

/** A seeded generator, so that a failure reproduces. */
function seeded(seed: number) {
  return () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

describe('a JSON body that repeats a member', () => {
  it('is told apart from one that does not, on 20 000 random texts, with the path of its first repeat', () => {
    const random = seeded(14);
    let repeats = 0;
    for (let n = 0; n < 20_000; n++) {
      const found: { path?: string } = {};
      const text = randomText(random, 0, [], found);
      const value = JSON.parse(text);
      assert.equal(repeatsAMember(text, value), found.path !== undefined, text);
      assert.equal(repeatedMemberPath(text), found.path, text);
      if (found.path !== undefined) repeats++;
    }
    assert.ok(repeats > 1_000, `only ${repeats} texts repeated a member`);
  });

  it('is refused naming the member, where JSON.parse would keep the last value', () => {
    const refusal = (text: string) => {
      try {
        parseStrictJson(text);
      } catch (error) {
        assert.ok(error instanceof InvalidInput);
        return error.errors;
      }
      assert.fail(`taken: ${text}`);
    };
    assert.deepEqual(refusal('{"priceCents":999999,"priceCents":1190}'), [{ field: 'priceCents', message: 'priceCents is given more than once; send it once' }]);
    assert.equal(refusal('{"items":[{"a":1},{"a":1,"b":{"c":2,"c":3}}]}')[0].field, 'items.1.b.c');
    assert.equal(refusal('{"pa\\u0072t":1,"part":2}')[0].field, 'part', 'an escape spells the same name');
    assert.deepEqual(refusal('{"a":{"":1,"":2}}'), [{ field: 'a.""', message: 'a."" is given more than once; send it once' }], 'an empty name is shown as one');
    assert.equal(refusal('{"a.":1,"a.":2}')[0].field, 'a.', 'a name ending in a dot is itself');
    assert.equal(refusal(`{"${'n'.repeat(5_000)}":1,"${'n'.repeat(5_000)}":2}`)[0].field.length, 200, 'a long name is clipped');
  });

  it('takes a body with names that only look alike, colons inside strings and deep nesting', () => {
    assert.deepEqual(parseStrictJson('{"a":1,"A":2,"a ":3}'), { a: 1, A: 2, 'a ': 3 });
    assert.deepEqual(parseStrictJson('{"x:y":"a\\":b","z":[{"x":1},{"x":1}]}'), { 'x:y': 'a":b', z: [{ x: 1 }, { x: 1 }] });
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    assert.equal(repeatsAMember(deep, JSON.parse(deep)), false, 'no recursion to overflow the stack');
  });
});
