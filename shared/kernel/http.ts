import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type Joi from 'joi';
import { repeatedMemberPath, repeatsAMember } from './json-members';
import { DomainError, InvalidInput, PayloadTooLarge, UnsupportedMediaType, type FieldError } from './errors';
import { FormNotUtf8, formPairs, queryText } from './form';

/** The largest command body accepted, documented in the README and the OpenAPI documents. */
export const MAX_BODY_BYTES = 64 * 1024;
/** The partner price feed's limit: 500 offers of about 300 bytes each, with room to spare. */
export const MAX_BATCH_BODY_BYTES = 256 * 1024;
/** What a host reads at most before it refuses a body: the largest limit of any route. */
export const LARGEST_BODY_BYTES = MAX_BATCH_BODY_BYTES;

const JSON_TYPE = 'application/json; charset=utf-8';
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
  return jsonTextResponse(status, JSON.stringify(body), headers);
}

/** For a body serialised already (a rendering kept for a cached document). */
export function jsonTextResponse(status: number, json: string, headers: Record<string, string> = {}): HttpResponseInit {
  return { status, body: json, headers: { 'content-type': JSON_TYPE, ...headers } };
}

function slug(title: string): string {
  return title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

export function problemResponse(
  status: number,
  title: string,
  detail: string,
  traceId: string,
  options: { errors?: FieldError[]; headers?: Record<string, string>; extensions?: Record<string, string> } = {},
): HttpResponseInit {
  const body = {
    type: `urn:farmacias:problem:${slug(title)}`,
    title,
    status,
    detail,
    ...(options.errors?.length ? { errors: options.errors } : {}),
    ...options.extensions,
    traceId,
  };
  return { status, body: JSON.stringify(body), headers: { 'content-type': PROBLEM_TYPE, ...SECURITY_HEADERS, ...options.headers } };
}

const TRACEPARENT = /^(?!ff)[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-[\da-f]{2}$/;

/**
 * A traceparent a trace can continue: well formed, version ff and all-zero ids refused
 * (W3C Trace Context: invalid values, to be ignored; a new trace starts instead).
 */
export function isValidTraceparent(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = TRACEPARENT.exec(value);
  return match !== null && !/^0+$/.test(match[1]) && !/^0+$/.test(match[2]);
}

/** The trace id a valid traceparent carries, of any version but ff (the format is version 00's). */
export function traceIdInTraceparent(value: unknown): string | undefined {
  return isValidTraceparent(value) ? value.slice(3, 35) : undefined;
}

/**
 * The invocation's W3C trace context: the host's own (Functions gives each invocation a
 * span of the caller's trace), else the caller's header when well formed.
 */
export function traceparentOf(request: HttpRequest, context: InvocationContext): string | undefined {
  const candidates = [context.traceContext?.traceParent, request.headers.get('traceparent')];
  return candidates.find(isValidTraceparent);
}

/** The W3C trace id, so a partner can quote it; else the invocation id. */
export function traceIdOf(request: HttpRequest, context: InvocationContext): string {
  const traceparent = traceparentOf(request, context);
  return traceparent ? TRACEPARENT.exec(traceparent)![1] : context.invocationId;
}

export function errorResponse(error: unknown, request: HttpRequest, context: InvocationContext): HttpResponseInit {
  const traceId = traceIdOf(request, context);
  if (error instanceof DomainError) {
    // A dependency away is the operator's business: what failed goes to the log, not to the client.
    if (error.status === 503 && error.cause !== undefined) context.warn('dependency unavailable', error.cause instanceof Error ? error.cause.message : String(error.cause));
    const { errors, headers, extensions } = error;
    return problemResponse(error.status, error.title, error.message, traceId, { errors, headers, extensions });
  }
  // The full error goes to the log (and Application Insights); the client gets the trace id.
  context.error('unhandled error', error instanceof Error ? (error.stack ?? error.message) : String(error));
  return problemResponse(500, 'Internal error', 'the request could not be completed; quote the traceId', traceId);
}

/**
 * Sent with every response: no MIME sniffing of a JSON body into something executable, and
 * HTTPS only for two years (browsers ignore HSTS over plain http, so the local host is unaffected).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'strict-transport-security': 'max-age=63072000; includeSubDomains',
};

/**
 * The security headers on a response, and a `Cache-Control` when the handler chose none:
 * `no-cache` (revalidate with the ETag) on a successful read, `no-store` on anything else
 * (commands, errors), so no shared cache keeps a personal answer.
 */
export function secureResponse(init: HttpResponseInit, method: string): HttpResponseInit {
  const headers = headerRecord(init.headers);
  const status = init.status ?? 200;
  const read = (method === 'GET' || method === 'HEAD') && ((status >= 200 && status < 300) || status === 304);
  headers['cache-control'] ??= read ? 'no-cache' : 'no-store';
  return { ...init, headers: { ...headers, ...SECURITY_HEADERS } };
}

/**
 * A response's headers as a record of lowercase names. The handlers' usual record (lowercase
 * names, string values without surrounding whitespace) is copied as it is: a `Headers` built from
 * it would change nothing, at a cost every response paid. Anything else goes through
 * `Headers`, which lowercases names, joins names that differ in case and trims values.
 */
function headerRecord(headers: HttpResponseInit['headers']): Record<string, string> {
  if (headers === undefined) return {};
  const plain = !(headers instanceof Headers) && !Array.isArray(headers);
  if (plain && Object.entries(headers).every(([name, value]) => name === name.toLowerCase() && typeof value === 'string' && value === value.trim())) return { ...headers };
  return Object.fromEntries(new Headers(headers as ConstructorParameters<typeof Headers>[0]));
}

/** Wraps a route's handler so that every response it gives carries the security headers. */
export function withSecurityHeaders(handler: HttpHandler): HttpHandler {
  return async (request, context) => secureResponse(await handler(request, context), request.method);
}

/** Wraps a handler so that every failure becomes problem+json. */
export function withProblemDetails(handler: HttpHandler): HttpHandler {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error) {
      return errorResponse(error, request, context);
    }
  };
}

export async function readJsonBody(request: HttpRequest, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(contentType)) {
    throw new UnsupportedMediaType('send the body as application/json');
  }
  // JSON is UTF-8 (RFC 8259 §8.1): a body said to be in another charset is refused, not read as UTF-8 and stored mangled.
  const charset = CHARSET.exec(contentType)?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) throw new UnsupportedMediaType('send the body as application/json in UTF-8');
  const text = await readBodyText(request, maxBytes);
  if (text.trim() === '') throw new InvalidInput('the request body is empty');
  try {
    return parseStrictJson(text);
  } catch (error) {
    if (error instanceof InvalidInput) throw error;
    throw new InvalidInput('the request body is not valid JSON');
  }
}

/**
 * JSON.parse, refusing a `__proto__` member at any depth and a name an object repeats
 * (InvalidInput naming it: see json-members); a text that is not JSON throws as JSON.parse does.
 */
export function parseStrictJson(text: string): unknown {
  const value = mayNameProto(text) ? JSON.parse(text, refusingProto) : JSON.parse(text);
  if (repeatsAMember(text, value)) {
    const path = clipped(repeatedMemberPath(text) ?? 'body');
    throw new InvalidInput('the request body is not valid', [{ field: path, message: `${path} is given more than once; send it once` }]);
  }
  return value;
}

/**
 * joi drops a `__proto__` member without a word (JSON.parse makes it an own one), so the
 * body validated would not be the one sent; it is refused as any unknown member is. Only a
 * text that could spell the name (plainly or with a \u escape) pays for the reviver.
 */
const mayNameProto = (text: string) => text.includes('proto') || text.includes('\\u');

function refusingProto(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__') throw new InvalidInput('the request body is not valid', [{ field: key, message: `${key} is not allowed` }]);
  return value;
}

/** The media type's `charset` parameter, quoted or not. */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;
/** Throws on a byte sequence that is not UTF-8 (a leading byte order mark is dropped, as `text()` drops it). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as UTF-8 text, refused (413) past `maxBytes` and (400) when its bytes are not
 * UTF-8: `text()` would replace them with U+FFFD, and a Latin-1 "São João" would be
 * stored as "S\uFFFDo Jo\uFFFDo" without a word.
 */
export async function readBodyText(request: HttpRequest, maxBytes = MAX_BODY_BYTES): Promise<string> {
  refuseContentCoding(request);
  const tooLarge = () => new PayloadTooLarge(`the body is larger than ${maxBytes} bytes`);
  if (Number(request.headers.get('content-length') ?? 0) > maxBytes) throw tooLarge();
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.byteLength > maxBytes) throw tooLarge();
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new InvalidInput('the request body is not valid UTF-8');
  }
}

/**
 * Neither host decompresses a request body, so a gzip body would be read as its compressed
 * bytes: a 400 "not UTF-8" at best, which sends the client looking in the wrong place. A coding
 * other than identity is a 415 naming the one taken (RFC 9110 §15.5.16, Accept-Encoding).
 */
function refuseContentCoding(request: HttpRequest): void {
  const coding = request.headers.get('content-encoding');
  // A list (RFC 9110 §8.4), its empty elements ignored (§5.6.1): two Content-Encoding lines arrive joined with ", ".
  if (coding === null || coding.split(',').every((element) => /^\s*(identity\s*)?$/i.test(element))) return;
  const refusal = new UnsupportedMediaType('send the body uncompressed: no Content-Encoding is accepted');
  refusal.headers = { 'accept-encoding': 'identity' };
  throw refusal;
}

/** Commands without a body accept none, or an empty JSON object. */
export async function expectNoBody(request: HttpRequest): Promise<void> {
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) {
    throw new PayloadTooLarge(`the body is larger than ${MAX_BODY_BYTES} bytes`);
  }
  const text = (await request.text()).trim();
  if (text !== '' && text !== '{}') throw new InvalidInput('this command takes no body');
}

export type InputSource = 'body' | 'query' | 'path';

const PREFERENCES: Record<InputSource, Joi.ValidationOptions> = {
  body: { abortEarly: false, convert: false, errors: { wrap: { label: false } } },
  query: { abortEarly: false, convert: true, errors: { wrap: { label: false } } },
  path: { abortEarly: false, convert: true, errors: { wrap: { label: false } } },
};
const withPreferences: Record<InputSource, WeakMap<Joi.Schema, Joi.Schema>> = { body: new WeakMap(), query: new WeakMap(), path: new WeakMap() };

/**
 * The schema with the source's preferences built in, made once per schema. Options passed to
 * each `validate` call make joi merge them with its defaults, and again with the root's own
 * messages, on every request (~2 of the 10 µs a profile change's body took); a schema's own
 * preferences are merged once and kept. (Nested fields' messages: see `refuse`.)
 */
function withPreferencesOf<T>(source: InputSource, schema: Joi.Schema<T>): Joi.Schema<T> {
  let prepared = withPreferences[source].get(schema);
  if (!prepared) {
    prepared = schema.prefs(PREFERENCES[source]);
    withPreferences[source].set(schema, prepared);
  }
  return prepared as Joi.Schema<T>;
}

/**
 * The most field errors a refusal lists. A body of thousands of unknown members (within its
 * size limit) would otherwise be answered with thousands, and a partner feed's answer, which
 * lists each item's, is stored under its Idempotency-Key for a day.
 */
export const MOST_LISTED_FIELD_ERRORS = 20;

/** The longest field name or message a listed error repeats: an unknown member's name is the caller's, of any length. */
export const MOST_FIELD_ERROR_CHARS = 200;

const clipped = (text: string) => (text.length > MOST_FIELD_ERROR_CHARS ? `${text.slice(0, MOST_FIELD_ERROR_CHARS - 1)}…` : text);

/**
 * Validates with joi. Bodies are checked strictly (no type coercion: "5" is not a
 * number); query strings and paths are text by nature, so there joi converts.
 */
export function validate<T>(schema: Joi.Schema<T>, value: unknown, source: InputSource): T {
  const { value: valid, error } = withPreferencesOf(source, schema).validate(value);
  if (error) {
    const errors = error.details.slice(0, MOST_LISTED_FIELD_ERRORS).map((detail) => ({
      field: clipped(detail.path.join('.') || source),
      message: clipped(detail.message),
    }));
    const count = error.details.length;
    throw new InvalidInput(count > errors.length ? `the ${source} is not valid: ${count} problems, the first ${errors.length} listed` : `the ${source} is not valid`, errors);
  }
  return valid;
}

/**
 * The query string, one value per name. A name sent twice is refused rather than one copy
 * taken silently: `limit=5&limit=500` would otherwise answer a question the caller did not
 * ask, and a gateway and this host might not pick the same copy.
 */
export function queryObject(request: HttpRequest): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of queryPairs(request)) {
    // No route takes it, and neither this record (an assignment would reach its prototype) nor joi
    // (which drops the name without a word) would refuse it as unknown or repeated.
    if (key === '__proto__') throw new InvalidInput('the query is not valid', [{ field: key, message: `${key} is not allowed` }]);
    if (Object.hasOwn(query, key)) {
      throw new InvalidInput('the query is not valid', [{ field: key, message: `${key} is given more than once; send it once` }]);
    }
    query[key] = value;
  }
  return query;
}

/**
 * The query's pairs, read from the URL by the strict form parser (escapes that are not UTF-8
 * refused, naming the parameter). A pair without a name (`=1`) is refused as such: joi named
 * it 'query', "value is not allowed", and the no-query routes '', " is not allowed".
 */
function queryPairs(request: HttpRequest): [string, string][] {
  let pairs: [string, string][];
  try {
    pairs = formPairs(queryText(request.url));
  } catch (error) {
    if (!(error instanceof FormNotUtf8)) throw error;
    throw new InvalidInput('the query is not valid', [{ field: error.rawName, message: `${error.rawName} is not percent-encoded UTF-8` }]);
  }
  if (pairs.some(([name]) => name === '')) {
    throw new InvalidInput('the query is not valid', [{ field: '', message: 'a parameter with an empty name (=value) is not allowed' }]);
  }
  return pairs;
}

/** For the routes that take no query parameters: any is refused, as unknown parameters are elsewhere. */
export function expectNoQuery(request: HttpRequest): void {
  const names = [...new Set(queryPairs(request).map(([name]) => name))];
  if (names.length === 0) return;
  throw new InvalidInput(
    'the query is not valid',
    names.map((name) => ({ field: name, message: `${name} is not allowed` })),
  );
}

/** Opaque paging cursors: base64url JSON, validated on the way back in. */
export function encodeCursor(position: object): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeCursor<T>(cursor: string | undefined, schema: Joi.Schema<T>): T | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const { value, error } = schema.validate(parsed);
  if (parsed === undefined || error) {
    throw new InvalidInput('the cursor is not valid', [{ field: 'cursor', message: 'use the nextCursor of a previous page' }]);
  }
  return value;
}

/**
 * The parts of a representation computed at read time that a read's ETag names after its
 * version (`"3-open"`): a document view's variant is one of these, so a command's If-Match
 * can recognise every ETag a read sends, and nothing else.
 */
export const READ_VARIANTS = ['open', 'closed', 'current', 'ended'] as const;
export type ReadVariant = (typeof READ_VARIANTS)[number];

export interface EntityTag {
  weak: boolean;
  opaque: string;
}

/**
 * One list element of RFC 9110 §5.6.1 holding an entity tag (§8.8.3), or an empty element.
 * The spaces after a tag belong to the tag's group: two runs of [ \t]* side by side split a
 * long run of spaces n² ways before failing (a 64 KB header held the event loop for seconds).
 */
const ENTITY_TAG_ELEMENT = /^[ \t]*(?:(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*)?(?:,|$)/;

/**
 * An If-Match header per RFC 9110 §13.1.1: `*`, or a comma-separated list of entity tags
 * (empty elements ignored, as the list rule asks). Undefined when it is not well formed:
 * an unquoted tag, text after a tag, `*` inside a list.
 */
export function parseIfMatch(header: string): '*' | EntityTag[] | undefined {
  if (header.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  for (let rest = header; rest.length > 0; ) {
    const element = ENTITY_TAG_ELEMENT.exec(rest);
    if (!element) return undefined;
    if (element[2] !== undefined) tags.push({ weak: element[1] !== undefined, opaque: element[2] });
    rest = rest.slice(element[0].length);
  }
  return tags;
}

/**
 * An If-Match or If-None-Match header's condition. A header that is not one is a 400, not a
 * 412: the caller has a bug to fix, not a newer version to fetch.
 */
export function preconditionOf(header: string, name: 'If-Match' | 'If-None-Match'): '*' | EntityTag[] {
  const condition = parseIfMatch(header);
  if (condition === undefined) {
    throw new InvalidInput(`the ${name} header is not valid`, [{ field: name, message: 'send "*" or the entity tags a response sent, quoted, such as "3" or "3-open"' }]);
  }
  return condition;
}

/**
 * Whether an If-Match tag names a stream version, by strong comparison (RFC 9110 §8.8.3.2):
 * a weak tag never matches, and the opaque part must be exactly what this API sends, `3` or
 * `3-open`: `03` or `3-bogus` name nothing it ever sent.
 */
export function tagNamesVersion(tag: EntityTag, version: number): boolean {
  if (tag.weak) return false;
  const sent = String(version);
  return tag.opaque === sent || READ_VARIANTS.some((variant) => tag.opaque === `${sent}-${variant}`);
}

export function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  const bare = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || bare(tag) === bare(etag));
}
