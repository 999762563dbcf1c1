import Joi from 'joi';

/** Trimmed, non-empty text of at most `max` characters (bodies are not trimmed for you: padding is refused). */
export const text = (max: number) => Joi.string().trim().min(1).max(max);
