import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { STORED_EVENT_SCHEMA, toStoredEvent } from '../../shared/kernel/projection';

const message = (occurredAt: unknown) => ({
  position: 7,
  eventId: '0190a3c4-1111-7222-8333-444455556666',
  streamId: 'offer-1',
  version: 2,
  type: 'OfferPriceChanged',
  data: { priceCents: 100 },
  metadata: { correlationId: 'c' },
  occurredAt,
});

describe('a bus message as a stored event', () => {
  it('takes the instant as the event stores write it, as text or bytes', () => {
    const instant = new Date().toISOString();
    assert.equal(toStoredEvent(message(instant)).occurredAt, instant);
    assert.equal(toStoredEvent(Buffer.from(JSON.stringify(message(instant)))).occurredAt, instant);
  });

  it('refuses any other instant', () => {
    for (const occurredAt of ['2026-11-30', '2026-11-30T10:00:00Z', '2026-11-30T10:00:00.000+01:00', '2026-13-30T10:00:00.000Z', '2026-11-30T24:00:00.000Z', 'yesterday', 1764496800000, '']) {
      assert.throws(
        () => toStoredEvent(message(occurredAt)),
        // The field and its rule, never the value: a bus writes the message into the dead letter's reason.
        (error: Error) => /^not a domain event message: occurredAt \([\w.]+\)$/.test(error.message) && (occurredAt === '' || !error.message.includes(String(occurredAt))),
        String(occurredAt),
      );
    }
  });

  it('refuses a body that is not JSON without quoting it (the host logs the error, a bus writes it into the dead letter)', () => {
    for (const body of ['maria@example.com', '{"data":{"email": maria@example.com, "cpf": "52998224725"}}', Buffer.from('{"name":"Maria da Silva" "cpf":"529.982.247-25"}')]) {
      assert.throws(
        () => toStoredEvent(body),
        (error: Error) => /^not a domain event message: the body is not JSON \(\d+ bytes\)$/.test(error.message) && !/maria|529/i.test(error.message),
        String(body),
      );
    }
  });

  it('answers every message as joi does, the hand-checked common shape included', () => {
    const valid = message(new Date().toISOString());
    const oddValues: unknown[] = [
      undefined, null, '', 'x', '5', '1.5', ' 7', 5, 1, 0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 2 ** 53 - 1, -0,
      [], [1], {}, { a: 1 }, '{}', '{"a":1}', '[]', true, false, '2026-11-30T10:00:00.000Z', '2026-11-30T10:00:00Z',
    ];
    const fields = Object.keys(valid) as (keyof typeof valid)[];
    const variants: unknown[] = [valid, null, undefined, [], [valid], '"text"', 5, JSON.stringify(valid), { ...valid, extra: { nested: true } }];
    for (const field of fields) {
      for (const odd of oddValues) {
        const changed: Record<string, unknown> = { ...valid, [field]: odd };
        if (odd === undefined) delete changed[field];
        variants.push(changed);
      }
    }
    // Two fields wrong at once, in a fixed pseudo-random order (joi's first complaint must win).
    let seed = 7;
    const next = (n: number) => (seed = (seed * 48_271) % 2_147_483_647) % n;
    for (let i = 0; i < 400; i++) {
      const changed: Record<string, unknown> = { ...valid };
      for (let j = 0; j < 2; j++) changed[fields[next(fields.length)]] = oddValues[next(oddValues.length)];
      variants.push(changed);
    }
    variants.push(JSON.parse(`{"__proto__":{"polluted":true},${JSON.stringify(valid).slice(1)}`));
    variants.push(Object.assign(Object.create(null) as object, valid));
    // Objects no bus hands over, but that the fast path read otherwise than joi's copy does:
    // a field it does not copy (not enumerable), one inherited (joi makes it the copy's own),
    // one whose getter answers a valid value once and another after.
    for (const field of fields) {
      const hidden: Record<string, unknown> = { ...valid };
      delete hidden[field];
      variants.push(Object.defineProperty(hidden, field, { value: valid[field], enumerable: false }));
      const { [field]: inheritedValue, ...own } = valid;
      variants.push(Object.assign(Object.create({ [field]: inheritedValue }) as object, own));
    }
    const changing = (): unknown => {
      let reads = 0;
      const body: Record<string, unknown> = { ...valid };
      delete body.version;
      return Object.defineProperty(body, 'version', { get: () => (++reads === 1 ? valid.version : 'x'), enumerable: true });
    };
    let taken = 0;
    for (const variant of variants) {
      const label = JSON.stringify(variant) ?? String(variant);
      const body = typeof variant === 'string' ? JSON.parse(variant) : variant;
      const joi = STORED_EVENT_SCHEMA.validate(body);
      let answer: unknown;
      try {
        answer = toStoredEvent(variant);
      } catch (error) {
        assert.ok(joi.error, `joi takes what toStoredEvent refuses: ${label}`);
        const broken = joi.error.details.map((detail) => `${detail.path.join('.') || 'body'} (${detail.type})`).join(', ');
        assert.equal((error as Error).message, `not a domain event message: ${broken}`, label);
        continue;
      }
      assert.equal(joi.error, undefined, `toStoredEvent takes what joi refuses: ${label}`);
      assert.deepStrictEqual(answer, joi.value, label);
      if (answer !== undefined) assert.equal(Object.getPrototypeOf(answer), Object.getPrototypeOf(joi.value), label);
      taken += 1;
    }
    assert.ok(taken > 20, `only ${taken} variants taken`);
    const joiChanging = STORED_EVENT_SCHEMA.validate(changing());
    assert.equal(joiChanging.error, undefined);
    assert.deepStrictEqual(toStoredEvent(changing()), joiChanging.value, 'a getter read once by joi');
  });

  it('answers a copy of the message, as joi does, sharing its data', () => {
    const body = message(new Date().toISOString());
    const event = toStoredEvent(body);
    assert.notEqual(event, body);
    assert.equal(event.data, body.data);
    assert.equal(event.metadata, body.metadata);
  });
});
