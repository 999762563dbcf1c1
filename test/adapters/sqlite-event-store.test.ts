import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HttpResponse } from '@azure/functions';
import Database from 'better-sqlite3';
import { migrate, SqliteEventStore } from '../../shared/adapters/sqlite/event-store';
import { jsonResponse } from '../../shared/kernel/http';
import { IN_PROGRESS_STAND_IN } from '../../shared/kernel/idempotency';
import { eventStoreContract } from '../contracts/event-store.contract';

const dir = mkdtempSync(join(tmpdir(), 'farmacias-sqlite-'));
const store = SqliteEventStore.open(join(dir, 'events.sqlite'));
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

eventStoreContract('SQLite', async () => store);

describe('SQLite event store', () => {
  const event = () => ({ eventId: randomUUID(), type: 'T', data: {}, metadata: { correlationId: 'c' } });

  it('applies each migration once and records it', () => {
    const db = new Database(':memory:');
    assert.deepEqual(migrate(db), [1, 2, 3, 4, 5]);
    assert.deepEqual(migrate(db), []);
    assert.equal(db.prepare('SELECT COUNT(*) FROM schema_migrations').pluck().get(), 5);
    db.close();
  });

  it('keeps events append-only, even against direct SQL', async () => {
    const db = new Database(':memory:');
    migrate(db);
    const local = new SqliteEventStore(db);
    await local.append('s-1', 0, [event()]);
    assert.throws(() => db.prepare("UPDATE events SET type = 'Forged'").run(), /append-only/);
    assert.throws(() => db.prepare('DELETE FROM events').run(), /append-only/);
    await local.close();
  });

  it('keeps what it committed across a reopen, outbox included', async () => {
    const file = join(dir, 'reopen.sqlite');
    const first = SqliteEventStore.open(file);
    const [appended] = await first.append('s-reopen', 0, [event()]);
    await first.close();
    const second = SqliteEventStore.open(file);
    assert.equal((await second.readStream('s-reopen'))[0].eventId, appended.eventId);
    assert.ok((await second.pendingOutbox(0, 100)).some((e) => e.eventId === appended.eventId));
    await second.close();
  });

  it('stores a claim as code before claims (migration 0005) would replay it: a 409 with Retry-After, not a status 0', async () => {
    const db = new Database(':memory:');
    migrate(db);
    const local = new SqliteEventStore(db);
    const now = new Date();
    await local.claimIdempotencyKey({ key: 'k', requestHash: 'h', owner: randomUUID(), createdAt: now, expiresAt: new Date(now.getTime() + 60_000), standIn: IN_PROGRESS_STAND_IN });
    // What that code did with any row under a key: replay its status, body and headers.
    const row = db.prepare('SELECT status, body, headers FROM idempotency_keys WHERE key = ?').get('k') as { status: number; body: string; headers: string };
    const replayed = new HttpResponse(jsonResponse(row.status, JSON.parse(row.body), JSON.parse(row.headers)));
    assert.equal(replayed.status, 409);
    assert.equal(replayed.headers.get('retry-after'), '3');
    assert.equal(((await replayed.json()) as { title: string }).title, 'Request in progress');
    assert.ok('inProgress' in (await local.claimIdempotencyKey({ key: 'k', requestHash: 'h', owner: randomUUID(), createdAt: now, expiresAt: now, standIn: IN_PROGRESS_STAND_IN })), 'still a claim to this code');
    await local.close();
  });
});
