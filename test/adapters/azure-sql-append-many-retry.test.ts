import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { APPEND_MANY_BATCH, AzureSqlEventStore, SAVE_IDEMPOTENCY_BATCH } from '../../shared/adapters/azure-sql/event-store';
import { IdempotencyKeyReused } from '../../shared/kernel/errors';
import { IN_PROGRESS_STAND_IN } from '../../shared/kernel/idempotency';
import { CountingSqlPool } from '../support/counting-sql-pool';

const event = () => ({ eventId: randomUUID(), type: 'Happened', data: {}, metadata: { correlationId: 'test' } });

/**
 * APPEND_MANY_BATCH's transient retry (@retry = 1) after a first attempt that committed and
 * lost its answer, as the counting pool emulates it: the retry must find that commit
 * whichever of the streams comes first in lock order, an append without events included
 * (all or nothing, it expects its stream's version like the others).
 */
describe('Azure SQL appendMany retried after a commit whose answer was lost', () => {
  it('answers the events committed when the first stream in lock order appends none', async () => {
    const sql = new CountingSqlPool();
    const store = new AzureSqlEventStore(sql.pool);
    const [first, second] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
    await store.append(first, 0, [event()]);
    sql.afterNextAppendMany = () => {
      throw Object.assign(new Error('Connection lost - read ECONNRESET'), { code: 'ECONNRESET' });
    };
    const appended = event();
    const result = await store.appendMany([
      { streamId: second, expectedVersion: 0, events: [appended] },
      { streamId: first, expectedVersion: 1, events: [] },
    ]);
    assert.ok('stored' in result, `the committed batch answered as ${JSON.stringify(result)}`);
    assert.deepEqual(result.stored.map((stored) => stored.map((e) => e.eventId)), [[appended.eventId], []]);
    assert.deepEqual(sql.take().filter((trip) => trip === 'append many'), ['append many', 'append many']);
  });

  it('does not take for its own commit another attempt’s answer made in the same millisecond to the same request', async () => {
    const sql = new CountingSqlPool();
    const store = new AzureSqlEventStore(sql.pool);
    const [key, owner, createdAt] = [`feed:${randomUUID()}`, randomUUID(), new Date()];
    const expiresAt = new Date(createdAt.getTime() + 60_000);
    await store.claimIdempotencyKey({ key, requestHash: 'h', owner, createdAt, expiresAt, standIn: IN_PROGRESS_STAND_IN });
    const answer = { key, requestHash: 'h', status: 200, body: { results: ['mine'] }, headers: {}, createdAt, expiresAt, owner };
    // The first call never reaches the server; meanwhile another attempt's answer, at the same instant, takes the key.
    sql.beforeNextAppendMany = () => {
      sql.run(SAVE_IDEMPOTENCY_BATCH, { key, requestHash: 'h', status: 200, body: JSON.stringify({ results: ['theirs'] }), headers: '{}', subject: '', createdAt: createdAt.toISOString(), expiresAt: expiresAt.toISOString(), claimedBy: owner });
      throw Object.assign(new Error('Connection lost - read ECONNRESET'), { code: 'ECONNRESET' });
    };
    await assert.rejects(store.appendMany([], { claim: { key, owner }, answer }), IdempotencyKeyReused);
    assert.deepEqual((await store.findIdempotentResponse(key, createdAt))?.body, { results: ['theirs'] });
  });

  it('looks, in the batch the server runs, for any stream’s first event, as the pool does', () => {
    const look = /IF @retry = 1 AND \(EXISTS \(([\s\S]*?)\)\s+OR \(@hasAnswer = 1/.exec(APPEND_MANY_BATCH)?.[1];
    assert.ok(look, 'the retry looks for the first attempt’s events');
    assert.doesNotMatch(look, /ordinal/, 'not only the first stream’s, which may append nothing');
  });
});
