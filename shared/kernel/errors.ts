/**
 * Errors the domain and the pipeline raise. The HTTP layer maps each kind to one status;
 * nothing else about an error (its stack, an SDK message) ever reaches a client.
 */
export interface FieldError {
  field: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  readonly errors: FieldError[];
  /** Response headers the error calls for (Retry-After, WWW-Authenticate). */
  headers: Record<string, string> = {};
  /** Extra members of the problem document (an OAuth `error` code). */
  extensions: Record<string, string> = {};

  constructor(detail: string, errors: FieldError[] = []) {
    super(detail);
    this.name = new.target.name;
    this.errors = errors;
  }
}

/** The input names something that does not exist (an offer for an unknown pharmacy). */
export class UnknownReference extends DomainError {
  readonly status = 422;
  readonly title = 'Unknown reference';
}

/** The input breaks a rule of its own (a shape, a check digit, overlapping hours). */
export class InvalidInput extends DomainError {
  readonly status = 400;
  readonly title = 'Invalid input';
}

export class NotFound extends DomainError {
  readonly status = 404;
  readonly title = 'Not found';
}

/** The command does not fit the aggregate's current state (closing a closed pharmacy). */
export class Conflict extends DomainError {
  readonly status = 409;
  readonly title = 'Conflict';
}

/** Another write reached the stream first. */
export class ConcurrencyConflict extends DomainError {
  readonly status = 409;
  readonly title = 'Concurrent modification';
}

/** A value that must be unique across streams (a CNPJ) is already taken. */
export class ReservationTaken extends DomainError {
  readonly status = 409;
  readonly title = 'Already exists';
  constructor(
    readonly scope: string,
    detail: string,
  ) {
    super(detail);
  }
}

export class PreconditionFailed extends DomainError {
  readonly status = 412;
  readonly title = 'Precondition failed';
}

export class PayloadTooLarge extends DomainError {
  readonly status = 413;
  readonly title = 'Payload too large';
}

export class UnsupportedMediaType extends DomainError {
  readonly status = 415;
  readonly title = 'Unsupported media type';
}

/** The same Idempotency-Key came back with another request. */
export class IdempotencyKeyReused extends DomainError {
  readonly status = 422;
  readonly title = 'Idempotency key reused';
}

/** A refusal that names when to come back (Retry-After, in seconds). */
export abstract class RetryLater extends DomainError {
  constructor(detail: string, retryAfterSeconds: number) {
    super(detail);
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

/**
 * The same Idempotency-Key and request came back while its first attempt still runs (the
 * client gave up waiting): it must not run alongside, and has no answer to replay yet.
 */
export class IdempotentRequestInProgress extends RetryLater {
  readonly status = 409;
  readonly title = 'Request in progress';
}

/** When a client should try again after the database failed to answer: a failover or a throttle passes in seconds. */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

export class ServiceUnavailable extends RetryLater {
  readonly status = 503;
  readonly title = 'Service unavailable';
  /** Refused before anything was written (SQLite's lock held by another process): nothing to give up or undo. */
  readonly nothingWritten: boolean;
  constructor(detail: string, retryAfterSeconds: number, options?: { cause?: unknown; nothingWritten?: boolean }) {
    super(detail, retryAfterSeconds);
    if (options?.cause !== undefined) this.cause = options.cause;
    this.nothingWritten = options?.nothingWritten ?? false;
  }
}

/**
 * No valid credentials: a missing, malformed, expired or forged token. `error: null` is a
 * request that sent no bearer token at all: the challenge then names no error (RFC 6750 §3.1).
 */
export class Unauthorized extends DomainError {
  readonly status = 401;
  readonly title = 'Unauthorized';
  constructor(detail: string, error: 'invalid_request' | 'invalid_token' | null = 'invalid_token') {
    super(detail);
    this.headers = { 'www-authenticate': error ? `Bearer realm="farmacias", error="${error}"` : 'Bearer realm="farmacias"' };
  }
}

/** Valid credentials that do not allow this. */
export class Forbidden extends DomainError {
  readonly status = 403;
  readonly title = 'Forbidden';
}

export class TooManyRequests extends RetryLater {
  readonly status = 429;
  readonly title = 'Too many requests';
}

/** An OAuth 2.0 token-endpoint error (RFC 6749 §5.2): the problem carries the `error` code too. */
export class OAuthError extends DomainError {
  readonly title: string;
  constructor(
    readonly status: 400 | 401,
    error: 'invalid_request' | 'invalid_grant' | 'invalid_client' | 'unsupported_grant_type' | 'invalid_scope',
    detail: string,
  ) {
    super(detail);
    this.title = error === 'invalid_client' ? 'Invalid client' : error === 'invalid_grant' ? 'Invalid grant' : 'Invalid token request';
    this.extensions = { error, error_description: detail };
    if (status === 401) this.headers = { 'www-authenticate': 'Basic realm="farmacias"' };
  }
}
