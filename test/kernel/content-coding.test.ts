import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { HttpRequest } from '@azure/functions';
import { UnsupportedMediaType } from '../../shared/kernel/errors';
import { readJsonBody } from '../../shared/kernel/http';

const request = (coding: string | undefined, body: Uint8Array) =>
  new HttpRequest({
    method: 'POST',
    url: 'http://localhost:7071/api/x',
    headers: { 'content-type': 'application/json', ...(coding === undefined ? {} : { 'content-encoding': coding }) },
    body: { bytes: body },
  });

const refusedAs415 = (error: unknown) => error instanceof UnsupportedMediaType && error.headers?.['accept-encoding'] === 'identity';

describe('a request body with a Content-Encoding', () => {
  // RFC 9110 §8.4: Content-Encoding is a list; §5.6.1: a recipient ignores its empty elements. Two Content-Encoding
  // lines are joined with ", " by every host. Each of these says the body is not coded: the body is read.
  it('is read when every coding the list names is identity, whatever the case, the blanks and the empty elements', async () => {
    for (const coding of ['', 'identity', 'IDENTITY', ' identity ', 'identity, identity', 'identity,', ', identity', ' , ']) {
      assert.deepEqual(await readJsonBody(request(coding, Buffer.from('{"a":1}'))), { a: 1 }, JSON.stringify(coding));
    }
  });

  it('is a 415 naming identity when a coding in the list is not identity', async () => {
    for (const coding of ['gzip', 'identity, gzip', 'gzip, identity', 'x-gzip', 'identityx']) {
      await assert.rejects(readJsonBody(request(coding, gzipSync('{"a":1}'))), refusedAs415, coding);
    }
  });
});
