import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { webModule } from '../support/web-module';

// Typed here, not imported: tsc would otherwise compile web/src into dist/web, the built app's folder.
type Interval = { day: 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun'; opens: string; closes: string };
const { todayLine, weekLines } = webModule<{
  todayLine(intervals: Interval[], timeZone: string, now: Date): string;
  weekLines(intervals: Interval[]): { day: string; text: string }[];
}>('hours.ts');

const FRIDAY_NIGHTS: Interval[] = [{ day: 'fri', opens: '22:00', closes: '02:00' }];
const SAO_PAULO = 'America/Sao_Paulo';

describe("a pharmacy's hours as the app says them (web/src/hours.ts)", () => {
  it('given Friday 22:00–02:00, when it is 01:00 on Saturday in São Paulo, then today says it is open until 02:00', () => {
    assert.equal(todayLine(FRIDAY_NIGHTS, SAO_PAULO, new Date('2026-12-05T04:00:00Z')), 'hoje: até 02:00');
    const withSaturday: Interval[] = [...FRIDAY_NIGHTS, { day: 'sat', opens: '08:00', closes: '12:00' }];
    assert.equal(todayLine(withSaturday, SAO_PAULO, new Date('2026-12-05T04:00:00Z')), 'hoje: até 02:00, 08:00–12:00');
  });

  it('given the same hours, when it is 03:00 on Saturday, then the night is over and today is closed', () => {
    assert.equal(todayLine(FRIDAY_NIGHTS, SAO_PAULO, new Date('2026-12-05T06:00:00Z')), 'hoje: Fechada');
  });

  it("given one instant, when it is Saturday in São Paulo and still Friday in Manaus, then each pharmacy's own day is today", () => {
    const lateFriday: Interval[] = [{ day: 'fri', opens: '08:00', closes: '24:00' }];
    const instant = new Date('2026-12-05T03:30:00Z');
    assert.equal(todayLine(lateFriday, 'America/Manaus', instant), 'hoje: 08:00–24:00');
    assert.equal(todayLine(lateFriday, SAO_PAULO, instant), 'hoje: Fechada');
  });

  it('says a whole day as 24 horas, a night past midnight as such, and a day without hours as closed', () => {
    const lines = weekLines([{ day: 'mon', opens: '00:00', closes: '24:00' }, ...FRIDAY_NIGHTS]);
    assert.equal(lines.find((line) => line.day === 'mon')?.text, '24 horas');
    assert.equal(lines.find((line) => line.day === 'fri')?.text, '22:00–02:00 (até o dia seguinte)');
    assert.equal(lines.find((line) => line.day === 'sun')?.text, 'Fechada');
    assert.deepEqual(lines.map((line) => line.day), ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
  });
});
