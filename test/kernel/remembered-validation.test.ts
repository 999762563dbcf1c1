import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Joi from 'joi';
import { InvalidInput } from '../../shared/kernel/errors';
import { rememberingValidator } from '../../shared/kernel/remembered-validation';

/** A schema whose validations are counted: how often joi really ran. */
function countedSchema() {
  const counted = { runs: 0 };
  const schema = Joi.object({
    lat: Joi.number().min(-90).max(90).required(),
    radiusKm: Joi.number().greater(0).max(50).default(5),
  }).custom((value) => {
    counted.runs += 1;
    return value;
  });
  return { schema, counted };
}

describe('A remembering validator: joi once per distinct valid input, the same answers and refusals as validate', () => {
  it('given a valid but long input (a number padded with zeros), when validated twice, then joi runs both times: it is not kept', () => {
    const { schema, counted } = countedSchema();
    const valid = rememberingValidator(schema, 'query');
    const padded = { lat: `-${'0'.repeat(300)}23.5` };
    assert.deepEqual(valid(padded), { lat: -23.5, radiusKm: 5 });
    assert.deepEqual(valid(padded), { lat: -23.5, radiusKm: 5 });
    assert.equal(counted.runs, 2);
  });

  it('given the same query text twice, when validated, then joi runs once and both get the same frozen, converted value', () => {
    const { schema, counted } = countedSchema();
    const valid = rememberingValidator(schema, 'query');
    const first = valid({ lat: '-23.5614' });
    const second = valid({ lat: '-23.5614' });
    assert.deepEqual(first, { lat: -23.5614, radiusKm: 5 });
    assert.equal(second, first);
    assert.ok(Object.isFrozen(first));
    assert.equal(counted.runs, 1);
    valid({ lat: '-23.5614', radiusKm: '5' });
    assert.equal(counted.runs, 2, 'another text is another input, validated on its own');
  });

  it('given an invalid query, when validated twice, then both are refused with the field error (a refusal is never kept as an answer)', () => {
    const { schema } = countedSchema();
    const valid = rememberingValidator(schema, 'query');
    for (let attempt = 0; attempt < 2; attempt++) {
      assert.throws(
        () => valid({ lat: '91' }),
        (error: unknown) => error instanceof InvalidInput && error.errors?.[0]?.field === 'lat',
      );
    }
  });

  it('given a path parameter, when validated twice, then both get the converted text and an invalid one is refused', () => {
    const valid = rememberingValidator(Joi.string().guid().lowercase(), 'path');
    const id = 'A86B2571-F376-480B-B507-30C502031434';
    assert.equal(valid(id), id.toLowerCase());
    assert.equal(valid(id), id.toLowerCase());
    assert.throws(() => valid('not-an-id'), (error: unknown) => error instanceof InvalidInput && error.errors?.[0]?.field === 'path');
  });

  it('given more distinct inputs than its capacity, when the first is asked again, then joi runs for it again', () => {
    const { schema, counted } = countedSchema();
    const valid = rememberingValidator(schema, 'query', 2);
    valid({ lat: '1' });
    valid({ lat: '2' });
    valid({ lat: '3' });
    assert.equal(counted.runs, 3);
    valid({ lat: '3' });
    assert.equal(counted.runs, 3, 'the latest is still kept');
    valid({ lat: '1' });
    assert.equal(counted.runs, 4, 'the oldest was forgotten');
  });
});
