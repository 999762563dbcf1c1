import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { SqliteEventStore } from '../../shared/adapters/sqlite/event-store';
import { IdempotentRequestInProgress, ServiceUnavailable } from '../../shared/kernel/errors';
import { claimOrReplay, releaseClaim, type IdempotentRequest } from '../../shared/kernel/idempotency';
import { lockHeldElsewhere } from '../support/sqlite-lock';

const dir = mkdtempSync(join(tmpdir(), 'farmacias-busy-idempotency-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** busy_timeout, short: each wait on the other process's lock is this long rather than 5 s. */
const BUSY_MS = 500;

function storeAt(name: string) {
  const store = SqliteEventStore.open(join(dir, name));
  (store as unknown as { db: Database.Database }).db.pragma(`busy_timeout = ${BUSY_MS}`);
  return store;
}
const services = (eventStore: SqliteEventStore) => ({ eventStore, clock: { now: () => new Date() } }) as Parameters<typeof claimOrReplay>[0];
const attempt = (owner: string): IdempotentRequest => ({ key: 'offers:busy-key', requestHash: 'h', owner });

/** The first attempt's claim, then another process's lock, then the claim's release, which meets that lock (tried again later). */
async function releaseMeetingTheLock(file: string) {
  const store = storeAt(file);
  assert.equal(await claimOrReplay(services(store), attempt('first')), undefined);
  const lock = await lockHeldElsewhere(join(dir, file), 'IMMEDIATE');
  await releaseClaim(services(store), attempt('first'));
  return { store, lock };
}

describe('an Idempotency-Key claim while another process holds the SQLite write lock', () => {
  it('a claim refused as busy (nothing written) gives nothing up: the process stands still for one busy_timeout, not two', async () => {
    const file = 'claim-busy.sqlite';
    const store = storeAt(file);
    const lock = await lockHeldElsewhere(join(dir, file), 'IMMEDIATE');
    let waited: number;
    try {
      const started = performance.now();
      await assert.rejects(claimOrReplay(services(store), attempt('first')), ServiceUnavailable);
      waited = performance.now() - started;
    } finally {
      await lock.release();
    }
    // The release after it asked for the same lock and waited busy_timeout again, the whole process with it.
    assert.ok(waited < 1.6 * BUSY_MS, `the claim's refusal took ${Math.round(waited)} ms (busy_timeout ${BUSY_MS} ms)`);
    await store.close();
  });

  // Each keyed command's claim waited the whole busy_timeout in place: 60 commands sent while an operator's sqlite3 shell
  // held the lock stood the local host still for 5 minutes (health checks and reads with it, the later requests 408).
  it('claims and appends one after another while the lock is held stand the process still about one busy_timeout in all, not one each', async () => {
    const file = 'many-busy.sqlite';
    const store = storeAt(file);
    const lock = await lockHeldElsewhere(join(dir, file), 'IMMEDIATE');
    let waited: number;
    try {
      const started = performance.now();
      for (let i = 0; i < 8; i++) {
        await assert.rejects(claimOrReplay(services(store), { key: `offers:busy-${i}`, requestHash: 'h', owner: `attempt-${i}` }), ServiceUnavailable);
        await assert.rejects(store.append(`stream-${i}`, 0, []), ServiceUnavailable);
      }
      waited = performance.now() - started;
    } finally {
      await lock.release();
    }
    assert.ok(waited < 2 * BUSY_MS, `16 writes refused as busy took ${Math.round(waited)} ms (busy_timeout ${BUSY_MS} ms)`);
    // The lock gone, the next write takes it at once, and the ones after it wait for it again as usual.
    assert.equal(await claimOrReplay(services(store), { key: 'offers:busy-0', requestHash: 'h', owner: 'retry' }), undefined);
    assert.equal((store as unknown as { db: Database.Database }).db.pragma('busy_timeout', { simple: true }), BUSY_MS);
    await store.close();
  });

  // appendMany was a deferred transaction: it read first, and SQLite does not call the busy handler for a read
  // transaction asking for the write lock, so a second host's ordinary commit refused a batch at once (2 ms), and
  // that refusal set LockWaits' flag as though the lock had been held through busy_timeout: the writes after it
  // waited only 10 ms for such a commit, and were refused too.
  it('a batch that meets a brief lock held by another process waits it out, and so do the writes after it', async () => {
    const file = 'batch-brief-lock.sqlite';
    const store = storeAt(file);
    const event = { eventId: 'batch-e1', type: 'Tested', data: {}, metadata: { correlationId: 'c' } };
    let batch: unknown;
    const first = await lockHeldElsewhere(join(dir, file), 'IMMEDIATE', { forMs: BUSY_MS / 3 });
    try {
      batch = await store.appendMany([{ streamId: 'batch-s', expectedVersion: 0, events: [event] }]).catch((error: unknown) => error);
    } finally {
      await first.release();
    }
    let claim: unknown;
    const second = await lockHeldElsewhere(join(dir, file), 'IMMEDIATE', { forMs: BUSY_MS / 3 });
    try {
      claim = await claimOrReplay(services(store), attempt('after-batch')).catch((error: unknown) => error);
    } finally {
      await second.release();
    }
    assert.ok(batch && typeof batch === 'object' && 'stored' in batch, `the batch was refused: ${String(batch)}`);
    assert.equal(claim, undefined, `the claim after it was refused: ${String(claim)}`);
    await store.close();
  });

  // The release meets the same lock and fails: it is tried again in the background.
  it('a claim whose command then met the lock (503, Retry-After) is given up once the lock is gone, not held for the whole lease against the retry the 503 invited', async () => {
    // What decideAndAppend does after its append's 503: the release meets the same lock.
    const { store, lock } = await releaseMeetingTheLock('append-busy.sqlite');
    await lock.release();
    await new Promise((resolve) => setTimeout(resolve, 2 * BUSY_MS));
    await assert.doesNotReject(claimOrReplay(services(store), attempt('retry')), IdempotentRequestInProgress);
    await store.close();
  });

  // The background release meets the lock again: each try waited busy_timeout in place, the whole process still, as the
  // claim's release did before 321d9a4; with one chain of tries per failed request, the stalls add up.
  it('a release tried again in the background while the lock is still held does not stand the process still for busy_timeout each time', async () => {
    const { store, lock } = await releaseMeetingTheLock('release-busy.sqlite');
    let longestStall = 0;
    try {
      let last = performance.now();
      const ticks = setInterval(() => {
        longestStall = Math.max(longestStall, performance.now() - last);
        last = performance.now();
      }, 10);
      // The tries 250 ms, 750 ms and 1 750 ms later all meet the lock.
      await new Promise((resolve) => setTimeout(resolve, 4 * BUSY_MS));
      clearInterval(ticks);
    } finally {
      await lock.release();
    }
    assert.ok(longestStall < BUSY_MS / 2, `the process stood still for ${Math.round(longestStall)} ms (busy_timeout ${BUSY_MS} ms)`);
    // Still given up once the lock is gone.
    await new Promise((resolve) => setTimeout(resolve, 4 * BUSY_MS));
    await assert.doesNotReject(claimOrReplay(services(store), attempt('retry')), IdempotentRequestInProgress);
    await store.close();
  });

  // The queue backs off to 30 s: after a lock held 80 s, the retries the 503s invited were answered 409 "in progress"
  // for another 16 s after its release (up to 30 s), though this process knew those claims' attempts had failed.
  it('a retry that meets a claim this process failed to give up gives it up then and runs, without waiting for the back-off', async () => {
    const { store, lock } = await releaseMeetingTheLock('retry-before-backoff.sqlite');
    try {
      // The tries 250 ms, 750 ms and 1 750 ms later meet the lock; the next is at 3 750 ms.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    } finally {
      await lock.release();
    }
    assert.equal(await claimOrReplay(services(store), attempt('retry')), undefined);
    await store.close();
  });
});
