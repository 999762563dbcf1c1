import { InvalidInput } from '../../kernel/errors';

export const WEEK_DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type WeekDay = (typeof WEEK_DAYS)[number];

/**
 * One opening interval. `closes` may be `24:00` (open until midnight). An interval whose
 * `closes` is earlier than its `opens` runs past midnight into the next day:
 * `{ day: 'fri', opens: '22:00', closes: '02:00' }` is Friday 22:00 to Saturday 02:00.
 * A pharmacy open around the clock has `00:00`-`24:00` on every day.
 */
export interface OpeningInterval {
  day: WeekDay;
  opens: string;
  closes: string;
}

export const OPENS_PATTERN = /^([01]\d|2[0-3]):[0-5]\d$/;
export const CLOSES_PATTERN = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;

const MINUTES_PER_DAY = 24 * 60;
const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;

function minutes(time: string): number {
  const [hours, mins] = time.split(':').map(Number);
  return hours * 60 + mins;
}

/** The interval as [start, end) minutes of the week from Monday 00:00; end may pass the week's end. */
function span(interval: OpeningInterval): [number, number] {
  const start = WEEK_DAYS.indexOf(interval.day) * MINUTES_PER_DAY + minutes(interval.opens);
  const length = (minutes(interval.closes) - minutes(interval.opens) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  return [start, start + (length === 0 ? MINUTES_PER_DAY : length)];
}

const spansOf = new WeakMap<readonly OpeningInterval[], [number, number][]>();

/** Spans folded onto one week: Sunday 22:00-02:00 also covers Monday 00:00-02:00. */
function weekSpans(intervals: readonly OpeningInterval[]): [number, number][] {
  // Hot path of every read (openNow): a document's hours are computed once.
  let spans = spansOf.get(intervals);
  if (!spans) {
    spans = computeWeekSpans(intervals);
    spansOf.set(intervals, spans);
  }
  return spans;
}

function computeWeekSpans(intervals: readonly OpeningInterval[]): [number, number][] {
  return intervals.flatMap((interval) => {
    const [start, end] = span(interval);
    return end > MINUTES_PER_WEEK
      ? [[start, MINUTES_PER_WEEK], [0, end - MINUTES_PER_WEEK]] as [number, number][]
      : [[start, end] as [number, number]];
  });
}

/** Throws InvalidInput when an interval is empty or two intervals overlap. */
export function assertValidOpeningHours(intervals: readonly OpeningInterval[]): void {
  intervals.forEach((interval, index) => {
    if (interval.opens === interval.closes) {
      throw new InvalidInput('an opening interval is empty', [
        { field: `openingHours.${index}`, message: 'opens and closes must differ (use 00:00-24:00 for the whole day)' },
      ]);
    }
  });
  const spans = intervals
    .map((interval, index) => ({ index, spans: computeWeekSpans([interval]) }))
    .flatMap(({ index, spans }) => spans.map(([start, end]) => ({ index, start, end })))
    .sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].start < spans[i - 1].end) {
      throw new InvalidInput('opening intervals overlap', [
        { field: `openingHours.${spans[i].index}`, message: `overlaps openingHours.${spans[i - 1].index}` },
      ]);
    }
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The wall clock only moves once a minute: remember each zone's last answer. */
const lastWeekMinute = new Map<string, { utcMinute: number; weekMinute: number }>();

function localWeekMinute(instant: Date, timeZone: string): number {
  const utcMinute = Math.floor(instant.getTime() / 60_000);
  const last = lastWeekMinute.get(timeZone);
  if (last?.utcMinute === utcMinute) return last.weekMinute;
  const weekMinute = formatWeekMinute(instant, timeZone);
  lastWeekMinute.set(timeZone, { utcMinute, weekMinute });
  return weekMinute;
}

function formatWeekMinute(instant: Date, timeZone: string): number {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, formatter);
  }
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const part of formatter.formatToParts(instant)) {
    if (part.type === 'weekday') day = WEEK_DAYS.indexOf(part.value.toLowerCase().slice(0, 3) as WeekDay);
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return day * MINUTES_PER_DAY + hour * 60 + minute;
}

/** Whether the hours are open at `instant`, read on the wall clock of `timeZone`. */
export function isOpenAt(intervals: readonly OpeningInterval[], timeZone: string, instant: Date): boolean {
  const minute = localWeekMinute(instant, timeZone);
  return weekSpans(intervals).some(([start, end]) => minute >= start && minute < end);
}

export function isKnownTimeZone(timeZone: string): boolean {
  return knownTimeZones().has(timeZone);
}

let zones: Set<string> | undefined;
function knownTimeZones(): Set<string> {
  zones ??= new Set([...Intl.supportedValuesOf('timeZone'), 'UTC']);
  return zones;
}

export function sameOpeningHours(a: readonly OpeningInterval[], b: readonly OpeningInterval[]): boolean {
  const key = (list: readonly OpeningInterval[]) =>
    list.map((i) => `${i.day} ${i.opens} ${i.closes}`).sort().join('|');
  return key(a) === key(b);
}
