/** Days and times as a pharmacy keeps them: in its own time zone (Manaus is an hour behind Brasília). */

function offsetMinutes(timeZone: string, at: Date): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(at).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
}

/** The instant of `time` (HH:MM:SS) on `date` (YYYY-MM-DD) in `timeZone`, as ISO 8601. */
export function instantIn(timeZone: string, date: string, time: string): string {
  const naive = Date.parse(`${date}T${time}Z`);
  // The offset at the guess, then at the instant it gives: right across a change of offset too.
  const guess = naive - offsetMinutes(timeZone, new Date(naive)) * 60_000;
  return new Date(naive - offsetMinutes(timeZone, new Date(guess)) * 60_000).toISOString();
}

/** Today's date (YYYY-MM-DD) in `timeZone`. */
export function todayIn(timeZone: string, now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone }).format(now);
}

export const BRASILIA = 'America/Sao_Paulo';
