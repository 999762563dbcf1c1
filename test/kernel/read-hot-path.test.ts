import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uuidSchema } from '../../shared/kernel/command';
import { secureResponse } from '../../shared/kernel/http';
import { pathId } from '../../shared/kernel/read-handlers';

describe('the by-id path id', () => {
  it('is what uuidSchema makes of it, whether or not it takes the shortcut', () => {
    const samples = [
      '0b6f3a52-5c1e-4f55-9d36-2f6f3c9f1e01',
      '0B6F3A52-5C1E-4F55-9D36-2F6F3C9F1E01',
      '{0b6f3a52-5c1e-4f55-9d36-2f6f3c9f1e01}',
      '0b6f3a525c1e4f559d362f6f3c9f1e01',
      '018f6b3a-5c1e-7f55-8d36-2f6f3c9f1e01',
      '0b6f3a52-5c1e-1f55-9d36-2f6f3c9f1e01',
      '0b6f3a52-5c1e-4f55-7d36-2f6f3c9f1e01',
      '0b6f3a52-5c1e-4f55-9d36-2f6f3c9f1e0',
      'pharmacies',
      '',
    ];
    for (const sample of samples) {
      const { value, error } = uuidSchema.validate(sample);
      if (error) assert.throws(() => pathId(sample), { status: 400 }, sample);
      else assert.equal(pathId(sample), value, sample);
    }
    assert.equal(pathId(undefined), uuidSchema.validate(undefined).value);
  });
});

describe('secureResponse', () => {
  it('gives the same headers from a plain record as from Headers, however the handler wrote them', () => {
    const cases: Record<string, string>[] = [
      { etag: '"3-open"', 'x-cache': 'hit', 'content-type': 'application/json; charset=utf-8' },
      { 'Content-Type': 'text/plain', 'content-type': 'application/json' },
      { 'retry-after': ' 5 ' },
      {},
    ];
    for (const headers of cases) {
      const expected = { ...Object.fromEntries(new Headers(headers)), 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' };
      const secured = secureResponse({ status: 200, headers }, 'GET').headers as Record<string, string>;
      assert.deepEqual({ ...secured, 'strict-transport-security': undefined }, { ...expected, 'strict-transport-security': undefined });
    }
  });
});
