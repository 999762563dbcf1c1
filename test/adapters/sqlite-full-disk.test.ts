import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { SqliteEventStore } from '../../shared/adapters/sqlite/event-store';
import { ServiceUnavailable } from '../../shared/kernel/errors';
import { claimOrReplay, idempotencyRecord, type IdempotentRequest } from '../../shared/kernel/idempotency';

const dir = mkdtempSync(join(tmpdir(), 'farmacias-full-disk-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A full disk, as SQLite meets it (SQLITE_FULL, "database or disk is full"): here the
 * database may not grow past the pages it has (max_page_count), which SQLite answers as it
 * answers a disk with no room left. The local host's fault run filled a 12 MB tmpfs under
 * DATA_DIR: every feed, price change and sign-in answered 500 "Internal error" (an unhandled
 * SqliteError), where a lock held elsewhere answers 503 with Retry-After.
 */
function fullStore(name: string) {
  const store = SqliteEventStore.open(join(dir, name));
  const db = (store as unknown as { db: Database.Database }).db;
  const full = () => db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  return { store, full };
}
const services = (eventStore: SqliteEventStore) => ({ eventStore, clock: { now: () => new Date() } }) as Parameters<typeof claimOrReplay>[0];
/** Larger than any free room in the pages the database has: the append needs new ones. */
const bigEvent = () => ({ eventId: randomUUID(), type: 'T', data: { filler: 'x'.repeat(64 * 1024) }, metadata: { correlationId: 'c' } });

describe('the SQLite event store on a full disk', () => {
  it('an append is refused 503 (ServiceUnavailable, nothing written), not an unhandled SqliteError (500)', async () => {
    const { store, full } = fullStore('append.sqlite');
    full();
    const refused = await store.append('s-full', 0, [bigEvent()]).catch((error: unknown) => error);
    assert.ok(refused instanceof ServiceUnavailable, `refused with ${String(refused)}`);
    assert.equal(refused.status, 503);
    assert.equal(refused.nothingWritten, true);
    assert.deepEqual(await store.readStream('s-full'), []);
    await store.close();
  });

  it("a keyed feed's appendMany is refused 503 and leaves its claim and no events", async () => {
    const { store, full } = fullStore('append-many.sqlite');
    const request: IdempotentRequest = { key: 'publishOfferBatch:partner:feed-1', requestHash: 'h', owner: 'attempt-1' };
    assert.equal(await claimOrReplay(services(store), request), undefined);
    full();
    const answer = idempotencyRecord(services(store), request, { status: 200, body: { results: [] }, headers: {} });
    const refused = await store
      .appendMany([{ streamId: 's-a', expectedVersion: 0, events: [bigEvent()] }, { streamId: 's-b', expectedVersion: 0, events: [bigEvent()] }], {
        claim: { key: request.key, owner: request.owner },
        answer,
      })
      .catch((error: unknown) => error);
    assert.ok(refused instanceof ServiceUnavailable, `refused with ${String(refused)}`);
    assert.deepEqual(await store.readStream('s-a'), []);
    assert.deepEqual(await store.readStream('s-b'), []);
    assert.equal(await store.findIdempotentResponse(request.key, new Date()), undefined);
    await store.close();
  });

  it('a claim is refused 503 with nothing written (nothing to give up)', async () => {
    const { store, full } = fullStore('claim.sqlite');
    // Fill the room the pages have left, so that even a claim's small row needs a new page.
    for (let n = 0; n < 4; n++) await store.append(`s-${n}`, 0, [bigEvent()]);
    full();
    let refused: unknown;
    for (let n = 0; n < 200 && !refused; n++) {
      refused = await claimOrReplay(services(store), { key: `k-${n}-${'k'.repeat(100)}`, requestHash: 'h'.repeat(400), owner: `o-${n}` }).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    assert.ok(refused instanceof ServiceUnavailable, `refused with ${String(refused)}`);
    assert.equal(refused.nothingWritten, true);
    await store.close();
  });
});
