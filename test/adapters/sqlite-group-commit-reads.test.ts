import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteEventStore } from '../../shared/adapters/sqlite/event-store';

const dir = mkdtempSync(join(tmpdir(), 'farmacias-group-commit-reads-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const event = () => ({ eventId: randomUUID(), type: 'T', data: {}, metadata: { correlationId: 'c' } });

/** Counts turns of the event loop (setImmediate callbacks) until stopped. */
function turnCounter() {
  let turn = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    turn += 1;
    setImmediate(tick);
  };
  setImmediate(tick);
  return { now: () => turn, stop: () => (running = false) };
}

describe('SQLite group commit: reads of a stream whose append is queued', () => {
  it('loads that never append (a command’s facts: the pharmacy an offer names) do not wait a turn each behind one queued append', async () => {
    const store = SqliteEventStore.open(join(dir, 'readers.sqlite'));
    await store.append('pharmacy', 0, [event()]);
    const turns = turnCounter();
    // A change of the pharmacy, then 50 offers' commands reading it in the same turn.
    const change = store.append('pharmacy', 1, [event()]);
    const waited = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const asked = turns.now();
        await store.loadStream('pharmacy', 'schema', 0);
        return turns.now() - asked;
      }),
    );
    turns.stop();
    await change;
    assert.ok(Math.max(...waited) <= 2, `a read of the pharmacy waited ${Math.max(...waited)} turns`);
    await store.close();
  });

  it('a stream read by 2 commands a turn behind a queued append: no read waits, none piles up', async () => {
    const store = SqliteEventStore.open(join(dir, 'hot-reads.sqlite'));
    await store.append('product', 0, [event()]);
    const turns = turnCounter();
    const change = store.append('product', 1, [event()]);
    const waited: number[] = [];
    const reads: Promise<void>[] = [];
    await new Promise<void>((done) => {
      const next = () => {
        if (turns.now() > 200) return done();
        for (let k = 0; k < 2; k += 1) {
          const asked = turns.now();
          reads.push(store.loadStream('product', 'schema', 0).then(() => void waited.push(turns.now() - asked)));
        }
        setImmediate(next);
      };
      next();
    });
    const queuedAtTheEnd = reads.length - waited.length;
    await Promise.all(reads);
    turns.stop();
    await change;
    assert.ok(queuedAtTheEnd <= 4, `${queuedAtTheEnd} reads still waiting after 200 turns`);
    assert.ok(Math.max(...waited) <= 3, `a read waited ${Math.max(...waited)} turns`);
    await store.close();
  });
});
