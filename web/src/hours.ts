import type { OpeningInterval } from './api';

const WEEK: OpeningInterval['day'][] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** The pharmacy's weekday now, in its own time zone (not the phone's). */
export function weekdayIn(timeZone: string, now: Date): OpeningInterval['day'] {
  const name = new Intl.DateTimeFormat('en-US', { weekday: 'short', timeZone }).format(now).toLowerCase();
  return WEEK.find((day) => name.startsWith(day)) ?? 'mon';
}

/** One line per day, Monday first: "08:00–22:00", "22:00–02:00 (até o dia seguinte)", or closed. */
export function weekLines(intervals: OpeningInterval[]): { day: OpeningInterval['day']; text: string }[] {
  return WEEK.map((day) => {
    const today = intervals.filter((interval) => interval.day === day).sort((a, b) => a.opens.localeCompare(b.opens));
    if (today.length === 0) return { day, text: 'Fechada' };
    return { day, text: today.map(intervalText).join(', ') };
  });
}

/** The time of day in the pharmacy's own time zone, "HH:MM". */
function timeIn(timeZone: string, now: Date): string {
  return new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(now);
}

/**
 * Today's line, in the pharmacy's own time zone: "hoje: 08:00–22:00". Before an interval of
 * yesterday's that runs past midnight has closed, it says so first ("até 02:00"): at 01:00
 * on Saturday, Friday's 22:00–02:00 is why the pharmacy is open.
 */
export function todayLine(intervals: OpeningInterval[], timeZone: string, now: Date): string {
  const today = weekdayIn(timeZone, now);
  const yesterday = WEEK[(WEEK.indexOf(today) + 6) % 7];
  const clock = timeIn(timeZone, now);
  const spill = intervals.filter((interval) => interval.day === yesterday && interval.closes !== '24:00' && interval.closes <= interval.opens && clock < interval.closes);
  const todays = weekLines(intervals).find((line) => line.day === today)?.text ?? 'Fechada';
  if (spill.length === 0) return `hoje: ${todays}`;
  const until = `até ${spill.map((interval) => interval.closes).sort().at(-1)}`;
  return `hoje: ${until}${todays === 'Fechada' ? '' : `, ${todays}`}`;
}

function intervalText({ opens, closes }: OpeningInterval): string {
  if (opens === '00:00' && closes === '24:00') return '24 horas';
  const pastMidnight = closes !== '24:00' && closes <= opens;
  return `${opens}–${closes}${pastMidnight ? ' (até o dia seguinte)' : ''}`;
}
