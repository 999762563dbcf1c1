import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toStoredEvent } from '../../shared/kernel/projection';

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
      assert.throws(() => toStoredEvent(message(occurredAt)), /not a domain event message: "occurredAt"/, String(occurredAt));
    }
  });
});
