import Joi from 'joi';
import { normalisePhone, PHONE_INPUT } from './brazil';

/**
 * What free text may not hold: NUL and the other C0 control characters but tab, line feed
 * and carriage return (DEL too), which truncate or corrupt what C libraries, terminals and
 * logs make of a name; the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
 * U+2066–U+2069), with which a name displays in another order than it is stored (a right-to-
 * left override makes "Drogaria \u202Eanidem" show as another name; the names here are
 * Portuguese and never need them); and unpaired UTF-16 surrogates, which are not characters
 * at all (no UTF-8 encoding, so each store or JSON encoder would mangle them its own way).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const FORBIDDEN_IN_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u202A-\u202E\u2066-\u2069]|\p{Cs}/u;

/** Whether a string holds only characters free text may hold (see FORBIDDEN_IN_TEXT). */
export function isCleanText(value: string): boolean {
  return !FORBIDDEN_IN_TEXT.test(value);
}

/**
 * Refuses a value with `message` (a joi template, `{{#label}}` and `local`'s names), built only
 * when the value fails. A field's own `.messages()` would say the same, but joi merges a nested
 * schema's messages into the preferences, compiling their templates, on every validation that
 * reaches the field, valid or not: a few µs a field on every request.
 */
export function refuse(helpers: Joi.CustomHelpers, message: string, local?: Joi.Context): Joi.ErrorReport {
  return helpers.message({ custom: message }, local);
}

/** A string matching `pattern` (a regular expression without the g or y flag), refused with `message`. */
export const matching = (pattern: RegExp, message: string) =>
  Joi.string().custom((value: string, helpers) => (pattern.test(value) ? value : refuse(helpers, message)));

/**
 * Trimmed, non-empty text of at most `max` characters (bodies are not trimmed for you:
 * padding is refused), without NUL, control characters, bidirectional controls or unpaired surrogates.
 */
export const text = (max: number) =>
  Joi.string()
    .trim()
    .min(1)
    .max(max)
    .custom((value: string, helpers) =>
      isCleanText(value) ? value : refuse(helpers, '{{#label}} must not contain NUL, control characters, bidirectional controls or unpaired surrogates'),
    );

/** A Brazilian phone number with area code, as typed; store `normalisePhone(value)`. */
export const phoneSchema = Joi.string()
  .max(24)
  .custom((value: string, helpers) =>
    PHONE_INPUT.test(value) && normalisePhone(value) ? value : refuse(helpers, 'phone must be a Brazilian number with area code'),
  );

/**
 * RFC 3339 `date-time` (what the OpenAPI documents' `format: date-time` names): a full date,
 * a time and an explicit offset. JavaScript's own parser is laxer in two ways that change
 * the instant a caller meant: it reads a time without an offset on the host's clock (UTC in
 * Azure, the developer's zone locally) and rolls a day that does not exist over into the
 * next month (`2031-02-29` is 1 March).
 */
const RFC3339_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/i;

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Whether `value` is an RFC 3339 date-time naming a real day and time, whose instant falls in
 * years 0000 to 9999 in UTC: stored in UTC, it then has the four-digit form whose text order
 * is time order (a query compares the stored instants as text; "+010000-…" would sort first).
 */
export function isRfc3339DateTime(value: string): boolean {
  const parts = RFC3339_DATE_TIME.exec(value);
  if (!parts) return false;
  const [year, month, day, hour, minute, second] = parts.slice(1, 7).map(Number);
  const [offsetHours, offsetMinutes] = [Number(parts[7] ?? 0), Number(parts[8] ?? 0)];
  const real = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) && hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
  return real && /^\d{4}-/.test(new Date(value).toISOString());
}

/** An instant as RFC 3339 has it, with its offset (`2026-12-31T23:59:59Z`, `2026-12-31T20:59:59-03:00`). */
export const instantSchema = Joi.string()
  .max(40)
  .custom((value: string, helpers) =>
    isRfc3339DateTime(value)
      ? value
      : refuse(helpers, '{{#label}} must be an RFC 3339 date-time of a real day up to year 9999 (in UTC), with its offset, such as 2026-12-31T23:59:59Z or 2026-12-31T20:59:59-03:00'),
  );
