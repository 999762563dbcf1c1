import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childTraceparent } from '../../local/host';
import { traceRandomHex } from '../../local/trace-random';

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
});
