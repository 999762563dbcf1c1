import Joi from 'joi';
import { normalisePhone, PHONE_INPUT } from './brazil';

/** Trimmed, non-empty text of at most `max` characters (bodies are not trimmed for you: padding is refused). */
export const text = (max: number) => Joi.string().trim().min(1).max(max);

/** A Brazilian phone number with area code, as typed; store `normalisePhone(value)`. */
export const phoneSchema = Joi.string()
  .max(24)
  .custom((value: string, helpers) => (PHONE_INPUT.test(value) && normalisePhone(value) ? value : helpers.error('phone.invalid')))
  .messages({ 'phone.invalid': 'phone must be a Brazilian number with area code' });
