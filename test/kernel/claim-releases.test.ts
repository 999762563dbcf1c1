import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ClaimReleases, type ClaimReleaseTimings } from '../../shared/kernel/claim-releases';
import { releaseClaim } from '../../shared/kernel/idempotency';
import type { EventStore } from '../../shared/kernel/ports';

const timings: ClaimReleaseTimings = { firstRetryMs: 10, longestRetryMs: 40, mostPending: 1_000, drainConcurrency: 4 };
const LEASE_MS = 60_000;

/** A store's release call that fails while `away`, counting the calls and recording what it released. */
function releases() {
  const store = { away: true, calls: 0, inFlight: 0, mostInFlight: 0, released: [] as string[] };
  const release = async (key: string, owner: string) => {
    store.calls += 1;
    store.inFlight += 1;
    store.mostInFlight = Math.max(store.mostInFlight, store.inFlight);
    await sleep(1);
    store.inFlight -= 1;
    if (store.away) throw new Error('the database is away');
    store.released.push(`${key}/${owner}`);
  };
  return { store, release };
}

async function until(condition: () => boolean, what: string) {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 5_000) assert.fail(`waited 5 s for ${what}`);
    await sleep(5);
  }
}

describe('the releases of claims tried again in the background', () => {
  it('during an outage, tries one release per back-off step however many requests failed, then releases them all', async () => {
    const { store, release } = releases();
    const queue = new ClaimReleases(release, timings);
    for (let n = 0; n < 500; n += 1) queue.later(`key-${n}`, 'attempt', LEASE_MS);
    await sleep(200);
    // 10, 20, 40, 40, 40 ms apart: a handful of probes, where one chain per request sent 500 each time.
    assert.ok(store.calls >= 1 && store.calls <= 8, `${store.calls} calls while the store was away`);

    store.away = false;
    await until(() => queue.size === 0, 'the queue to drain');
    assert.equal(store.released.length, 500);
    assert.equal(new Set(store.released).size, 500, 'each claim released once');
    assert.ok(store.mostInFlight <= timings.drainConcurrency, `${store.mostInFlight} releases at once`);
  });

  it('keeps at most mostPending claims: past it the one whose lease ends first is left to its lease', async () => {
    const { store, release } = releases();
    const queue = new ClaimReleases(release, { ...timings, mostPending: 10 });
    for (let n = 0; n < 25; n += 1) queue.later(`key-${n}`, 'attempt', LEASE_MS);
    assert.equal(queue.size, 10);
    store.away = false;
    await until(() => queue.size === 0, 'the queue to drain');
    assert.deepEqual(store.released.sort(), Array.from({ length: 10 }, (_, n) => `key-${n + 15}/attempt`).sort());
  });

  it('sends nothing for a claim whose lease has ended: it lapsed, and a retry may hold the key now', async () => {
    const { store, release } = releases();
    let now = 0;
    const queue = new ClaimReleases(release, timings, () => now);
    queue.later('lapsing', 'attempt', 1_000);
    queue.later('live', 'attempt', 5_000);
    now = 2_000;
    store.away = false;
    await until(() => queue.size === 0, 'the queue to drain');
    assert.deepEqual(store.released, ['live/attempt']);
  });

  it('stops draining when the store goes away again, and keeps what was not released', async () => {
    const { store, release } = releases();
    // The store goes away again after its fifth release.
    const goingAway = async (key: string, owner: string) => {
      await release(key, owner);
      if (store.released.length === 5) store.away = true;
    };
    const queue = new ClaimReleases(goingAway, { ...timings, drainConcurrency: 1 });
    for (let n = 0; n < 20; n += 1) queue.later(`key-${n}`, 'attempt', LEASE_MS);
    store.away = false;
    await until(() => store.released.length === 5, 'five releases');
    await sleep(30);
    assert.equal(store.released.length, 5);
    assert.equal(queue.size, 15, 'the others wait');
    store.away = false;
    await until(() => queue.size === 0, 'the queue to drain');
    assert.equal(new Set(store.released).size, 20);
  });

  it('once the queue has drained, a new failure is tried after firstRetryMs again, not after the back-off the outage grew', async () => {
    const { store, release } = releases();
    const queue = new ClaimReleases(release, { ...timings, longestRetryMs: 10_000 });
    queue.later('during-the-outage', 'attempt', LEASE_MS);
    await sleep(100);
    store.away = false;
    // The back-off has grown past 40 ms; the queue drains at its next try.
    await until(() => queue.size === 0, 'the queue to drain');

    queue.later('after', 'attempt', LEASE_MS);
    await sleep(60);
    assert.equal(queue.size, 0, 'tried again within firstRetryMs, not the grown back-off');
    assert.deepEqual(store.released, ['during-the-outage/attempt', 'after/attempt']);
  });

  it('releaseClaim: 200 requests failed during an outage cost the store a few tries while it is away, not 200 chains of them', async () => {
    const { store, release } = releases();
    const eventStore = { releaseIdempotencyClaim: release } as unknown as EventStore;
    await Promise.all(Array.from({ length: 200 }, (_, n) => releaseClaim({ eventStore }, { key: `key-${n}`, requestHash: 'h', owner: 'attempt' })));
    // Each request tried its own release once; then tries 250 ms and 750 ms after the failures.
    await sleep(1_000);
    assert.ok(store.calls >= 200 && store.calls <= 203, `${store.calls - 200} tries in the background`);
    store.away = false;
    await until(() => store.released.length === 200, 'the claims to be released');
  });
});
