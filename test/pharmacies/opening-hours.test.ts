import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInput } from '../../shared/kernel/errors';
import { assertValidOpeningHours, isOpenAt, type OpeningInterval } from '../../shared/pharmacies/domain/opening-hours';

const SAO_PAULO = 'America/Sao_Paulo';
// 2026-11-27 is a Friday; São Paulo is UTC-3 all year since 2019.
const at = (localIso: string) => new Date(`${localIso}-03:00`);

describe('opening hours', () => {
  const shop: OpeningInterval[] = [{ day: 'fri', opens: '08:00', closes: '22:00' }];

  it('is open inside an interval and closed at its end, on the pharmacy’s wall clock', () => {
    assert.equal(isOpenAt(shop, SAO_PAULO, at('2026-11-27T08:00:00')), true);
    assert.equal(isOpenAt(shop, SAO_PAULO, at('2026-11-27T21:59:00')), true);
    assert.equal(isOpenAt(shop, SAO_PAULO, at('2026-11-27T22:00:00')), false);
    assert.equal(isOpenAt(shop, SAO_PAULO, at('2026-11-27T07:59:00')), false);
    assert.equal(isOpenAt(shop, SAO_PAULO, at('2026-11-28T10:00:00')), false, 'Saturday');
  });

  it('reads the time zone: 23:00 UTC is 20:00 in São Paulo but 00:00 in Lisbon’s next day', () => {
    const instant = new Date('2026-11-27T23:00:00Z');
    assert.equal(isOpenAt(shop, SAO_PAULO, instant), true);
    assert.equal(isOpenAt(shop, 'Europe/Lisbon', instant), false);
  });

  it('runs an interval whose closing time is earlier past midnight into the next day', () => {
    const lateNight: OpeningInterval[] = [{ day: 'fri', opens: '22:00', closes: '02:00' }];
    assert.equal(isOpenAt(lateNight, SAO_PAULO, at('2026-11-27T23:30:00')), true);
    assert.equal(isOpenAt(lateNight, SAO_PAULO, at('2026-11-28T01:59:00')), true, 'Saturday 01:59');
    assert.equal(isOpenAt(lateNight, SAO_PAULO, at('2026-11-28T02:00:00')), false);
    assert.equal(isOpenAt(lateNight, SAO_PAULO, at('2026-11-27T01:00:00')), false, 'Friday 01:00 belongs to Thursday');
  });

  it('wraps Sunday night into Monday morning', () => {
    const sundayNight: OpeningInterval[] = [{ day: 'sun', opens: '20:00', closes: '03:00' }];
    assert.equal(isOpenAt(sundayNight, SAO_PAULO, at('2026-11-30T02:00:00')), true, 'Monday 02:00');
    assert.equal(isOpenAt(sundayNight, SAO_PAULO, at('2026-11-30T03:00:00')), false);
  });

  it('treats 00:00-24:00 as the whole day and 24:00 as midnight', () => {
    const allDay: OpeningInterval[] = [{ day: 'fri', opens: '00:00', closes: '24:00' }];
    assert.equal(isOpenAt(allDay, SAO_PAULO, at('2026-11-27T00:00:00')), true);
    assert.equal(isOpenAt(allDay, SAO_PAULO, at('2026-11-27T23:59:00')), true);
    assert.equal(isOpenAt(allDay, SAO_PAULO, at('2026-11-28T00:00:00')), false);
  });

  it('accepts touching intervals and refuses overlapping ones, across midnight too', () => {
    assert.doesNotThrow(() =>
      assertValidOpeningHours([
        { day: 'mon', opens: '08:00', closes: '12:00' },
        { day: 'mon', opens: '12:00', closes: '18:00' },
      ]),
    );
    assert.throws(
      () =>
        assertValidOpeningHours([
          { day: 'mon', opens: '08:00', closes: '12:00' },
          { day: 'mon', opens: '11:00', closes: '18:00' },
        ]),
      InvalidInput,
    );
    assert.throws(
      () =>
        assertValidOpeningHours([
          { day: 'fri', opens: '22:00', closes: '02:00' },
          { day: 'sat', opens: '01:00', closes: '12:00' },
        ]),
      InvalidInput,
    );
    assert.throws(
      () =>
        assertValidOpeningHours([
          { day: 'sun', opens: '22:00', closes: '04:00' },
          { day: 'mon', opens: '03:00', closes: '12:00' },
        ]),
      InvalidInput,
    );
  });

  it('refuses an empty interval and names it', () => {
    assert.throws(
      () => assertValidOpeningHours([{ day: 'mon', opens: '08:00', closes: '08:00' }]),
      (error: InvalidInput) => error.errors[0].field === 'openingHours.0',
    );
  });
});
