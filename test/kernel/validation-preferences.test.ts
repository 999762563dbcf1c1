import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Joi from 'joi';
import { gtinSchema } from '../../shared/catalog/commands';
import { InvalidInput } from '../../shared/kernel/errors';
import { MOST_FIELD_ERROR_CHARS, MOST_LISTED_FIELD_ERRORS, validate } from '../../shared/kernel/http';
import { instantSchema, matching, phoneSchema, text } from '../../shared/kernel/schemas';
import { changeProfileSchema, openingHoursBodySchema, registerSchema } from '../../shared/pharmacies/commands';

/** The field errors `validate` refuses `value` with. */
function refusal(schema: Joi.Schema, value: unknown, source: 'body' | 'query' | 'path' = 'body') {
  try {
    validate(schema, value, source);
  } catch (error) {
    assert.ok(error instanceof InvalidInput, String(error));
    return error.errors;
  }
  return assert.fail('accepted');
}

/** Every schema under `description` (joi's describe()) but the root, with its path. */
function nested(description: Joi.Description, path = ''): { path: string; description: Joi.Description }[] {
  const children: { path: string; description: Joi.Description }[] = [];
  for (const [key, child] of Object.entries((description.keys ?? {}) as Record<string, Joi.Description>)) children.push({ path: `${path}.${key}`, description: child });
  for (const item of (description.items ?? []) as Joi.Description[]) children.push({ path: `${path}[]`, description: item });
  return children.flatMap((child) => [child, ...nested(child.description, child.path)]);
}

describe('Validation preferences: made once per schema, messages built only for a refusal', () => {
  it('given a body with thousands of unknown members, then the refusal lists the first few and says how many there were', () => {
    const body = Object.fromEntries(Array.from({ length: 5_000 }, (_, n) => [`unknown${n}`, n]));
    let refused: unknown;
    try {
      validate(Joi.object({ name: Joi.string() }), body, 'body');
    } catch (error) {
      refused = error;
    }
    assert.ok(refused instanceof InvalidInput, String(refused));
    assert.equal(refused.errors.length, MOST_LISTED_FIELD_ERRORS);
    assert.deepEqual(refused.errors[0], { field: 'unknown0', message: 'unknown0 is not allowed' });
    assert.equal(refused.message, `the body is not valid: 5000 problems, the first ${MOST_LISTED_FIELD_ERRORS} listed`);
    assert.deepEqual(refusal(Joi.object({ name: Joi.string() }), { a: 1 }), [{ field: 'a', message: 'a is not allowed' }], 'a few are all listed');
  });

  it('given an unknown member with a very long name, then the refusal repeats the start of it only', () => {
    const [error] = refusal(Joi.object({ name: Joi.string() }), { ['x'.repeat(10_000)]: 1 });
    assert.equal(error.field.length, MOST_FIELD_ERROR_CHARS);
    assert.equal(error.message.length, MOST_FIELD_ERROR_CHARS);
    assert.ok(error.field.endsWith('…'));
  });

  it('given the shared field schemas, then none carries preferences of its own (joi would merge them on every request that reaches the field)', () => {
    for (const schema of [text(10), phoneSchema, instantSchema, matching(/^\d$/, 'a digit'), gtinSchema]) {
      assert.equal(schema.describe().preferences, undefined, JSON.stringify(schema.describe()));
    }
  });

  it("given the pharmacies' body schemas, then only their roots carry messages", () => {
    for (const schema of [registerSchema, changeProfileSchema, openingHoursBodySchema]) {
      const withPreferences = nested(schema.describe()).filter(({ description }) => description.preferences !== undefined);
      assert.deepEqual(withPreferences.map(({ path }) => path), []);
    }
  });

  it('given nested fields that fail, then each is refused in its own words, under its own name', () => {
    const body = Joi.object({ name: text(20), at: instantSchema, code: matching(/^\d{2}$/, 'code must be two digits'), gtin: gtinSchema });
    assert.deepEqual(refusal(body, { name: 'a\u0001b', at: '2031-02-29T00:00:00Z', code: 'ab', gtin: '7891000053509' }), [
      { field: 'name', message: 'name must not contain NUL, control characters, bidirectional controls or unpaired surrogates' },
      { field: 'at', message: 'at must be an RFC 3339 date-time of a real day up to year 9999 (in UTC), with its offset, such as 2026-12-31T23:59:59Z or 2026-12-31T20:59:59-03:00' },
      { field: 'code', message: 'code must be two digits' },
      { field: 'gtin', message: 'gtin check digit does not match (a GTIN-8, -12, -13 or -14 with a matching check digit)' },
    ]);
    assert.deepEqual(refusal(changeProfileSchema, {}), [{ field: 'body', message: 'send at least one of tradeName, legalName, phone, services, timeZone' }], "the root's own message");
  });

  it('given one schema used for a body and for a query, then each source keeps its own preferences: a body is not converted, a query is', () => {
    const count = Joi.object({ count: Joi.number().integer() });
    assert.deepEqual(refusal(count, { count: '5' }), [{ field: 'count', message: 'count must be a number' }]);
    assert.deepEqual(validate(count, { count: '5' }, 'query'), { count: 5 });
    assert.deepEqual(refusal(count, { count: '5' }), [{ field: 'count', message: 'count must be a number' }], 'the query did not change the body');
    assert.equal(refusal(count, { count: 'x', other: 1 }).length, 2, 'every error, not the first only');
  });
});
