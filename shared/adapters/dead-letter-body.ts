import type { StoredEvent } from '../kernel/ports';

/**
 * A dead letter's body read as an event, or why it cannot be: not JSON, or JSON but not an
 * event. The reason never quotes the body (the parser's message would: an event's data may
 * hold personal values), only its size.
 */
export function readDeadLetterBody(body: unknown): { event: StoredEvent } | { unreadable: string } {
  let value = body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    try {
      value = JSON.parse(text);
    } catch {
      return { unreadable: `the body is not JSON (${Buffer.byteLength(text)} bytes)` };
    }
  }
  if (!isEvent(value)) return { unreadable: 'the body is not an event (no eventId, type, streamId and version)' };
  return { event: value };
}

function isEvent(value: unknown): value is StoredEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.eventId === 'string' &&
    typeof candidate.type === 'string' &&
    typeof candidate.streamId === 'string' &&
    typeof candidate.version === 'number'
  );
}
