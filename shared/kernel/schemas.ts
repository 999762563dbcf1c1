import Joi from 'joi';
import { normalisePhone, PHONE_INPUT } from './brazil';

/**
 * What free text may not hold: NUL and the other C0 control characters but tab, line feed
 * and carriage return (DEL too), which truncate or corrupt what C libraries, terminals and
 * logs make of a name; and unpaired UTF-16 surrogates, which are not characters at all (no
 * UTF-8 encoding, so each store or JSON encoder would mangle them its own way).
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const FORBIDDEN_IN_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]|\p{Cs}/u;

/** Whether a string holds only characters free text may hold (see FORBIDDEN_IN_TEXT). */
export function isCleanText(value: string): boolean {
  return !FORBIDDEN_IN_TEXT.test(value);
}

/**
 * Trimmed, non-empty text of at most `max` characters (bodies are not trimmed for you:
 * padding is refused), without NUL, control characters or unpaired surrogates.
 */
export const text = (max: number) =>
  Joi.string()
    .trim()
    .min(1)
    .max(max)
    .custom((value: string, helpers) => (isCleanText(value) ? value : helpers.error('text.characters')))
    .messages({ 'text.characters': '{{#label}} must not contain NUL, control characters or unpaired surrogates' });

/** A Brazilian phone number with area code, as typed; store `normalisePhone(value)`. */
export const phoneSchema = Joi.string()
  .max(24)
  .custom((value: string, helpers) => (PHONE_INPUT.test(value) && normalisePhone(value) ? value : helpers.error('phone.invalid')))
  .messages({ 'phone.invalid': 'phone must be a Brazilian number with area code' });
