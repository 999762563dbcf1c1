import { createHmac, hkdfSync, randomUUID, timingSafeEqual } from 'node:crypto';
import type { HttpRequest } from '@azure/functions';
import Joi from 'joi';
import { claimReleasesOf } from './claim-releases';
import { IdempotencyKeyReused, IdempotentRequestInProgress, InvalidInput, ServiceUnavailable } from './errors';
import type { IdempotencyClaimOutcome, IdempotentResponse, Secrets } from './ports';
import type { Services } from './services';
import { timedOutCall } from './timeout';

/**
 * Idempotency records: the first answer to a POST with an `Idempotency-Key`, replayed to
 * retries with the same key and the same request. What a record holds and for how long:
 * - the request only as a fingerprint: HMAC-SHA-256 under a key derived (HKDF) from the
 *   blind-index key, over the method, the path and the canonical JSON of the body, so a
 *   database copy alone cannot test guesses of a password against it;
 * - the answer (`{ id, version }`, a batch's per-item outcomes), never a token or a secret:
 *   the token, revocation and client-registration routes take no Idempotency-Key;
 * - the person it belongs to (the caller, or the account an anonymous registration made),
 *   so erasing that person deletes it in the erasure's transaction;
 * - an expiry, IDEMPOTENCY_RECORD_TTL_MS after it was made: an expired record is never
 *   replayed (its key counts as new) and the purge timer deletes it.
 * Before a request runs, its key is claimed: an "in progress" record (the fingerprint, the
 * owner, the attempt's id) that the answer replaces, so a retry sent while the first attempt
 * still runs is answered 409 with Retry-After instead of running alongside it. A failed
 * attempt (an error, a 4xx or a 5xx: none is recorded) gives the key up; a crashed one's
 * claim lapses after IDEMPOTENCY_CLAIM_LEASE_MS.
 */
export const IDEMPOTENCY_RECORD_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * How long a claim holds its key: the host's functionTimeout (host.json, 5 min), the longest
 * an attempt can run, and a minute more, so a claim does not lapse under an attempt the host
 * has not stopped yet (its last database call, its answer being stored). A crashed attempt's
 * retries are answered 409 until then; a shorter lease would let a slow one run twice.
 */
export const HOST_FUNCTION_TIMEOUT_MS = 5 * 60 * 1000;
export const IDEMPOTENCY_CLAIM_LEASE_MS = HOST_FUNCTION_TIMEOUT_MS + 60 * 1000;

/** The Retry-After of a 409 for a request still in progress: a command takes well under a second, a 500-item feed a few. */
export const IN_PROGRESS_RETRY_AFTER_SECONDS = 3;

const IN_PROGRESS_DETAIL = `a request with this Idempotency-Key is still being processed; retry in ${IN_PROGRESS_RETRY_AFTER_SECONDS} seconds with the same key for its answer`;

/**
 * What a claim's row holds as its answer, for code that predates claims (migration 0005)
 * and replays any row under a key: during a rolling deploy or after a rollback it replays
 * this, the 409 Retry-After the current code answers, never a status 0. The current code
 * tells a claim by its `claimed_by`, and never replays it.
 */
export const IN_PROGRESS_STAND_IN = {
  status: 409,
  body: { type: 'urn:farmacias:problem:request-in-progress', title: 'Request in progress', status: 409, detail: IN_PROGRESS_DETAIL },
  headers: { 'retry-after': String(IN_PROGRESS_RETRY_AFTER_SECONDS) },
} as const;

const keySchema = Joi.string().pattern(/^[\x21-\x7e]{1,128}$/);
/** HKDF's info label: this key is for fingerprints only, unrelated to the e-mail index it comes from. */
const FINGERPRINT_KEY_INFO = 'farmacias/idempotency-request-fingerprint/v1';
const derivedKeys = new WeakMap<Buffer, Buffer>();

/** The fingerprint key, derived once per index key. */
export function fingerprintKey(secrets: Pick<Secrets, 'indexKey'>): Buffer {
  let key = derivedKeys.get(secrets.indexKey);
  if (!key) {
    key = Buffer.from(hkdfSync('sha256', secrets.indexKey, Buffer.alloc(0), FINGERPRINT_KEY_INFO, 32));
    derivedKeys.set(secrets.indexKey, key);
  }
  return key;
}

/** Deeper than any body the APIs accept; a deeper one would overflow the stack below. */
export const DEEPEST_FINGERPRINTED_BODY = 32;

/** How deeply a JSON value nests, counted without recursion (a hostile body may nest thousands deep). */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [item, depth] = pending.pop()!;
    if (!item || typeof item !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > DEEPEST_FINGERPRINTED_BODY) return deepest;
    for (const child of Object.values(item as Record<string, unknown>)) pending.push([child, depth + 1]);
  }
  return deepest;
}

/** JSON with every object's members sorted (recursively): one text per value, whatever the members' order. */
export function canonicalJson(value: unknown): string {
  if (nestingDepth(value) > DEEPEST_FINGERPRINTED_BODY) {
    throw new InvalidInput(`the body nests more than ${DEEPEST_FINGERPRINTED_BODY} levels deep`);
  }
  return JSON.stringify(value ?? null, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

/** HMAC-SHA-256 of the method, the path and the canonical body, base64url. */
export function requestFingerprint(secrets: Pick<Secrets, 'indexKey'>, method: string, path: string, body: unknown): string {
  return createHmac('sha256', fingerprintKey(secrets)).update(`${method} ${path}\n${canonicalJson(body)}`).digest('base64url');
}

export function sameFingerprint(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface IdempotentRequest {
  /** `<scope>:<Idempotency-Key>`; the scope names the command and the caller. */
  key: string;
  requestHash: string;
  /** The caller, when one is known; an anonymous registration's record gets the account it made. */
  subject?: string;
  /** This attempt (a random id): the owner of its claim on the key. */
  owner: string;
}

/** The Idempotency-Key of a POST, scoped, with the request's fingerprint; undefined without one. */
export function idempotencyOf(
  services: Pick<Services, 'secrets'>,
  request: HttpRequest,
  scope: string,
  body: unknown,
  subject?: string,
): IdempotentRequest | undefined {
  if (request.method !== 'POST') return undefined;
  const key = request.headers.get('idempotency-key');
  if (key === null) return undefined;
  if (keySchema.validate(key).error) {
    throw new InvalidInput('the Idempotency-Key header is not valid', [
      { field: 'Idempotency-Key', message: 'use 1 to 128 visible ASCII characters' },
    ]);
  }
  // Routes match their path ignoring case and ids are read in lower case: one resource, one fingerprint, however spelled.
  const requestHash = requestFingerprint(services.secrets, request.method, new URL(request.url).pathname.toLowerCase(), body);
  return { key: `${scope}:${key}`, requestHash, ...(subject ? { subject } : {}), owner: randomUUID() };
}

/** The record to store: the answer, its owner and its lifetime from the platform's clock. */
export function idempotencyRecord(
  services: Pick<Services, 'clock'>,
  request: IdempotentRequest,
  answer: { status: number; body: unknown; headers: Record<string, string>; subject?: string },
): IdempotentResponse {
  const createdAt = services.clock.now();
  const subject = request.subject ?? answer.subject;
  return {
    key: request.key,
    requestHash: request.requestHash,
    status: answer.status,
    body: answer.body,
    headers: answer.headers,
    ...(subject ? { subject } : {}),
    createdAt,
    expiresAt: new Date(createdAt.getTime() + IDEMPOTENCY_RECORD_TTL_MS),
    owner: request.owner,
  };
}

/**
 * Before running a request with a key: the first attempt's answer, to replay, or undefined
 * once the key is claimed for this attempt (which must then end in an answer recorded, or
 * releaseClaim). Throws IdempotencyKeyReused for another request under the key, and
 * IdempotentRequestInProgress while the first attempt of this one still runs.
 */
export async function claimOrReplay(services: Pick<Services, 'eventStore' | 'clock'>, request: IdempotentRequest): Promise<IdempotentResponse | undefined> {
  return claimOrReplayOnce(services, request, false);
}

async function claimOrReplayOnce(
  services: Pick<Services, 'eventStore' | 'clock'>,
  request: IdempotentRequest,
  givenUpFailedClaim: boolean,
): Promise<IdempotentResponse | undefined> {
  const createdAt = services.clock.now();
  let outcome: IdempotencyClaimOutcome;
  try {
    outcome = await services.eventStore.claimIdempotencyKey({
      key: request.key,
      requestHash: request.requestHash,
      owner: request.owner,
      ...(request.subject ? { subject: request.subject } : {}),
      createdAt,
      expiresAt: new Date(createdAt.getTime() + IDEMPOTENCY_CLAIM_LEASE_MS),
      standIn: IN_PROGRESS_STAND_IN,
    });
  } catch (error) {
    // Refused before anything was written (another process held SQLite's lock): no claim to
    // give up, and asking for that lock again would stand the process still as long once more.
    if (error instanceof ServiceUnavailable && error.nothingWritten) throw error;
    // A claim cut short (a frozen database, 503) may still commit, even after its deadline
    // (Azure SQL's retries send it again): given up in the background once the call is over,
    // so the retry the 503 invites is not held off for the whole lease.
    const running = timedOutCall(error);
    if (running) void running.then(() => releaseClaim(services, request));
    else await releaseClaim(services, request);
    throw error;
  }
  if ('claimed' in outcome) return undefined;
  if ('answered' in outcome) return answerFor(outcome.answered, request);
  if (!sameFingerprint(outcome.inProgress.requestHash, request.requestHash)) throw keyReused();
  // The claim may be one of this process's failed attempts whose release met the store away:
  // given up now, the retry runs instead of waiting for the release queue's back-off.
  if (!givenUpFailedClaim && (await claimReleasesOf(services.eventStore).releaseNow(request.key))) return claimOrReplayOnce(services, request, true);
  throw inProgress();
}

/** The answer another attempt recorded under the key, once this attempt's own append found the key held. */
export async function answerOfKeyHolder(services: Pick<Services, 'eventStore' | 'clock'>, request: IdempotentRequest): Promise<IdempotentResponse> {
  const answered = await services.eventStore.findIdempotentResponse(request.key, services.clock.now());
  // No answer: another attempt's claim holds the key (this one's lease lapsed, and a retry claimed it).
  if (!answered) throw inProgress();
  return answerFor(answered, request);
}

/**
 * The answer another attempt recorded under the key, when this attempt's append found its
 * stream changed: an attempt that outlived its lease, whose retry ran meanwhile, answers
 * what the retry answered rather than a conflict. Undefined when no answer is recorded
 * (the conflict is then a real one).
 */
export async function answerRecordedMeanwhile(services: Pick<Services, 'eventStore' | 'clock'>, request: IdempotentRequest): Promise<IdempotentResponse | undefined> {
  const answered = await services.eventStore.findIdempotentResponse(request.key, services.clock.now());
  return answered && answerFor(answered, request);
}

/**
 * Ends this attempt's claim with its answer (one that no append carried: an unchanged
 * command's; a batch's goes with its appends, see AppendManyOptions). Best effort: when the answer cannot be stored the claim is given up,
 * and when neither can be done the lease ends it; the answer stands either way.
 */
export async function recordAnswer(
  services: Pick<Services, 'eventStore' | 'clock'>,
  request: IdempotentRequest,
  answer: { status: number; body: unknown; headers: Record<string, string> },
): Promise<void> {
  try {
    await services.eventStore.saveIdempotentResponse(idempotencyRecord(services, request, answer));
  } catch {
    await releaseClaim(services, request);
  }
}

/**
 * Gives up this attempt's claim (it failed: nothing to replay), so a retry runs. A release
 * that fails (the store still away, SQLite's lock still held by another process) joins the
 * store's queue of releases tried again in the background (ClaimReleases) for as long as a
 * lease lasts from that failure (by then the claim has lapsed anyway): otherwise the retry
 * that the failure's 503 invited would be held off as "in progress" for the whole lease.
 */
export async function releaseClaim(services: Pick<Services, 'eventStore'>, request: IdempotentRequest): Promise<void> {
  await services.eventStore
    .releaseIdempotencyClaim(request.key, request.owner)
    .catch(() => claimReleasesOf(services.eventStore).later(request.key, request.owner, IDEMPOTENCY_CLAIM_LEASE_MS));
}

function answerFor(answered: IdempotentResponse, request: IdempotentRequest): IdempotentResponse {
  if (!sameFingerprint(answered.requestHash, request.requestHash)) throw keyReused();
  return answered;
}

const keyReused = () => new IdempotencyKeyReused('this Idempotency-Key was used with another request');
const inProgress = () => new IdempotentRequestInProgress(IN_PROGRESS_DETAIL, IN_PROGRESS_RETRY_AFTER_SECONDS);

/** Deletes the expired records (the purge timer's work); returns how many. */
export async function purgeIdempotencyRecords(services: Pick<Services, 'eventStore' | 'clock'>): Promise<number> {
  return services.eventStore.purgeIdempotentResponses(services.clock.now());
}
