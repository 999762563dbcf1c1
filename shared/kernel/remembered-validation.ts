import type Joi from 'joi';
import { validate, type InputSource } from './http';

/** How many valid inputs a remembering validator keeps by default. */
export const REMEMBERED_INPUTS = 1_000;

/** What a request hands a validator: a path parameter, or the query's names and values. */
export type TextInput = string | Readonly<Record<string, string>>;

/**
 * `validate` for a hot route's path or query, remembering the answers for the last
 * `capacity` valid inputs by their text. Joi's coercion of a query's numbers runs several regular
 * expressions each, a large share of a cached search's time, and the same query text
 * repeats (a client refreshing, a map panned back, positions rounded). Every input is
 * still validated by joi the first time it is seen; an invalid one is not kept, so it is
 * validated again and refused each time. Only for schemas whose answer depends on the
 * input alone (no default computed at validation time, such as now). The values handed
 * out are frozen: callers share them.
 */
/** Longer inputs are validated every time: 1 000 of these cost at most ~0.5 MB. */
const LONGEST_REMEMBERED = 256;

export function rememberingValidator<T>(
  schema: Joi.Schema<T>,
  source: InputSource,
  capacity = REMEMBERED_INPUTS,
): (input: TextInput) => Readonly<T> {
  const remembered = new Map<string, Readonly<T>>();
  return (input) => {
    // Unambiguous for a string or an object of strings: names and values are quoted and escaped.
    const text = JSON.stringify(input);
    const known = remembered.get(text);
    if (known !== undefined) return known;
    const valid = Object.freeze(validate(schema, input, source));
    // A long text (a number padded with zeros) is valid but would make the memory large: not kept.
    if (text.length > LONGEST_REMEMBERED) return valid;
    // The map keeps insertion order: the first key is the one validated longest ago.
    if (remembered.size >= capacity) remembered.delete(remembered.keys().next().value!);
    remembered.set(text, valid);
    return valid;
  };
}
