import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { childTraceparent } from '../../local/host';
import { traceRandomHex } from '../../local/trace-random';
import { traceIdOf, traceparentOf } from '../../shared/kernel/http';

describe('trace ids from the pooled randomness', () => {
  it('are hex of the asked length and never repeat, across many refills of the pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const id = traceRandomHex(16);
      assert.match(id, /^[\da-f]{32}$/);
      seen.add(id);
    }
    assert.equal(seen.size, 5_000);
    assert.match(traceRandomHex(8), /^[\da-f]{16}$/);
  });

  it('make W3C traceparents: a new trace, or a new span in the caller’s trace', () => {
    const fresh = childTraceparent(undefined);
    assert.match(fresh, /^00-[\da-f]{32}-[\da-f]{16}-01$/);
    const child = childTraceparent(fresh);
    assert.equal(child.slice(3, 35), fresh.slice(3, 35), 'same trace');
    assert.notEqual(child.slice(36, 52), fresh.slice(36, 52), 'another span');
  });

  it("continue a caller's trace of a later version (01) in version 00's format, as traceparentOf does", () => {
    const later = '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    assert.equal(childTraceparent(later).slice(3, 35), '4bf92f3577b34da6a3ce929d0e0e4736');
  });
});

/**
 * Found by attacking the local host: a `traceparent` whose trace id or parent id is all
 * zeros (W3C Trace Context §3.2.2.3, §3.2.2.4: invalid, to be ignored) was continued, so
 * every such caller's problem answers, events and bus messages shared the trace
 * 00000000000000000000000000000000. Version ff is invalid too.
 */
describe('an invalid traceparent', () => {
  const invalid = [
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  ];

  it('starts a new trace on the local host', () => {
    for (const parent of invalid) {
      const child = childTraceparent(parent);
      assert.match(child, /^00-[\da-f]{32}-[\da-f]{16}-01$/);
      assert.notEqual(child.slice(3, 35), parent.slice(3, 35), `${parent} was continued`);
    }
  });

  it('is not the trace a problem answer names, nor what an event carries', () => {
    const context = new InvocationContext({ invocationId: 'the-invocation' });
    for (const traceparent of invalid) {
      const request = new HttpRequest({ method: 'GET', url: 'http://localhost/api/health', headers: { traceparent } });
      assert.equal(traceparentOf(request, context), undefined, traceparent);
      assert.equal(traceIdOf(request, context), 'the-invocation', traceparent);
    }
    const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    assert.equal(traceparentOf(new HttpRequest({ method: 'GET', url: 'http://localhost/api/health', headers: { traceparent: valid } }), context), valid);
  });
});
