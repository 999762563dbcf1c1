import type { IdempotentResponse } from '../kernel/ports';

/** An idempotency record as both SQL event stores keep it; its times as each driver hands them over. */
export interface IdempotencyRowOf<Time extends Date | string> {
  key: string;
  request_hash: string;
  status: number;
  body: string;
  headers: string;
  subject: string | null;
  created_at: Time;
  expires_at: Time;
  /** The attempt an "in progress" claim belongs to; NULL for an answer. */
  claimed_by: string | null;
}

export function idempotentResponseOf(row: IdempotencyRowOf<Date | string>): IdempotentResponse {
  return {
    key: row.key,
    requestHash: row.request_hash,
    status: row.status,
    body: JSON.parse(row.body),
    headers: JSON.parse(row.headers),
    ...(row.subject === null ? {} : { subject: row.subject }),
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
  };
}
