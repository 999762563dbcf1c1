import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MAX_BATCH_BODY_BYTES } from '../../shared/kernel/http';
import { MAX_BATCH_ITEMS, MOST_LISTED_FEED_ERROR_BYTES } from '../../shared/offers/commands';
import { testApp } from '../support/app';
import { invoke } from '../support/http';

/**
 * A feed's answer lists each refused item's field errors and is stored under its
 * Idempotency-Key for a day. 3f1f029 capped the errors one refusal lists at 20 (a single
 * item with 21 000 unknown members made a 1 MB answer); but the cap is per item, and a feed
 * has up to 500: 500 items of 14 unknown members each (6 required ones missing), within
 * the body limit, still made an answer of about 0.9 MB, stored for a day. A feed's answer
 * now lists MOST_LISTED_FEED_ERROR_BYTES of field errors in all, each name and message at
 * most MOST_FIELD_ERROR_CHARS long.
 */
describe('the partner feed’s answer to items with many unknown members', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  it('is no larger than the largest feed body (it is stored under the key for a day)', async () => {
    const item = Object.fromEntries(Array.from({ length: 14 }, (_, n) => [String.fromCharCode(97 + n).repeat(30), 0]));
    const body = { items: Array.from({ length: MAX_BATCH_ITEMS }, () => item) };
    assert.ok(JSON.stringify(body).length <= MAX_BATCH_BODY_BYTES, 'a body the feed takes');
    const key = `feed-${randomUUID()}`;
    const response = await invoke(app.handler('publishOfferBatch'), { method: 'POST', body, headers: { 'idempotency-key': key } });
    assert.equal(response.status, 200);
    assert.equal(response.body.results.length, MAX_BATCH_ITEMS);
    assert.ok(response.body.results.every((result: { status: number }) => result.status === 400));
    const [first, last] = [response.body.results[0], response.body.results.at(-1)];
    assert.equal(first.error.errors.length, 20, 'the first items list their errors');
    const listed = response.body.results.flatMap((result: { error: { errors?: unknown[] } }) => (result.error.errors ? [Buffer.byteLength(JSON.stringify(result.error.errors))] : []));
    assert.ok(listed.reduce((sum: number, bytes: number) => sum + bytes, 0) <= MOST_LISTED_FEED_ERROR_BYTES);
    assert.equal(last.error.errors, undefined, 'the last ones do not, past the feed’s budget');
    assert.match(last.error.detail, /its field errors are not listed/);
    const answered = Buffer.byteLength(JSON.stringify(response.body));
    assert.ok(answered <= MAX_BATCH_BODY_BYTES, `a ${JSON.stringify(body).length}-byte feed answered with ${answered} bytes, stored under its key for a day`);
  });

  it('is no larger than the largest feed body when the unknown members have long names', async () => {
    const item = { ['n'.repeat(400)]: 0 };
    const body = { items: Array.from({ length: MAX_BATCH_ITEMS }, () => item) };
    assert.ok(JSON.stringify(body).length <= MAX_BATCH_BODY_BYTES, 'a body the feed takes');
    const response = await invoke(app.handler('publishOfferBatch'), { method: 'POST', body, headers: { 'idempotency-key': `feed-${randomUUID()}` } });
    assert.equal(response.status, 200);
    const answered = Buffer.byteLength(JSON.stringify(response.body));
    assert.ok(answered <= MAX_BATCH_BODY_BYTES, `a ${JSON.stringify(body).length}-byte feed answered with ${answered} bytes`);
  });
  // The caps count items, errors and UTF-16 units, not bytes: a member name of control characters is 6 bytes a character
  // in JSON (\u0001), and each error repeats it twice (its field and its message). 15 items of 14 such members each, a
  // 253 KB body, list 300 errors (the budget) of about 2.4 KB each: an answer of about 0.5 MB, stored for a day.
  it('is no larger than the largest feed body when the unknown members are named in escaped characters', async () => {
    const item = Object.fromEntries(Array.from({ length: 14 }, (_, n) => [String.fromCharCode(1 + n) + '\u0001'.repeat(199), 0]));
    const body = { items: Array.from({ length: 15 }, () => item) };
    const sent = Buffer.byteLength(JSON.stringify(body));
    assert.ok(sent <= MAX_BATCH_BODY_BYTES, `a body the feed takes (${sent} bytes)`);
    const response = await invoke(app.handler('publishOfferBatch'), { method: 'POST', body, headers: { 'idempotency-key': `feed-${randomUUID()}` } });
    assert.equal(response.status, 200);
    const answered = Buffer.byteLength(JSON.stringify(response.body));
    assert.ok(answered <= MAX_BATCH_BODY_BYTES, `a ${sent}-byte feed answered with ${answered} bytes, stored under its key for a day`);
  });
});
