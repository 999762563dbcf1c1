import type { EventStore } from './ports';

/** A claim whose release failed, to give up later, and when its lease ends it anyway. */
interface PendingRelease {
  key: string;
  owner: string;
  leaseEnds: number;
}

export interface ClaimReleaseTimings {
  firstRetryMs: number;
  longestRetryMs: number;
  /** How many claims wait at most; past it the one whose lease ends first is left to its lease. */
  mostPending: number;
  /** Releases sent at once while the queue drains, once the store answers again. */
  drainConcurrency: number;
}

export const CLAIM_RELEASE_TIMINGS: ClaimReleaseTimings = {
  firstRetryMs: 250,
  longestRetryMs: 30_000,
  mostPending: 10_000,
  drainConcurrency: 4,
};

/**
 * The releases of one event store that failed, tried again in the background by one timer.
 * One release is sent first; while it fails, the store is still away and the timer backs off
 * (250 ms, doubling to 30 s); once it succeeds, the rest follow a few at a time. So a long
 * outage holds a bounded queue and costs one call per back-off step, not one per failed
 * request, and the recovering store is not met by every failed request's retries at once.
 * A claim is dropped once its lease has ended (a release would find nothing of it to give up).
 */
export class ClaimReleases {
  private readonly pending = new Map<string, PendingRelease>();
  private readonly inFlight = new Set<string>();
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(
    private readonly release: (key: string, owner: string) => Promise<void>,
    private readonly timings: ClaimReleaseTimings = CLAIM_RELEASE_TIMINGS,
    private readonly now: () => number = Date.now,
  ) {
    this.delayMs = timings.firstRetryMs;
  }

  get size(): number {
    return this.pending.size;
  }

  later(key: string, owner: string, leaseMs: number): void {
    const id = JSON.stringify([key, owner]);
    this.pending.delete(id);
    this.pending.set(id, { key, owner, leaseEnds: this.now() + leaseMs });
    // Every lease is the same length, so the first in the map is the one that ends first.
    if (this.pending.size > this.timings.mostPending) this.pending.delete(this.pending.keys().next().value as string);
    this.schedule();
  }

  /**
   * A retry met a claim on `key` that this process failed to give up: its release is sent now
   * rather than when the back-off comes round (up to 30 s after the store is back). True when
   * it was given up; then the store answers again, so the rest of the queue follows after the first back-off step (250 ms), not the grown one.
   */
  async releaseNow(key: string): Promise<boolean> {
    for (const entry of this.pending) {
      if (entry[1].key !== key || this.inFlight.has(entry[0]) || entry[1].leaseEnds <= this.now()) continue;
      if (!(await this.tryRelease(entry))) return false;
      this.delayMs = this.timings.firstRetryMs;
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      this.schedule();
      return true;
    }
    return false;
  }

  private schedule(): void {
    if (this.timer || this.draining || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, this.delayMs);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      const answered = await this.releaseFirst();
      if (answered) await this.releaseRest();
      this.delayMs = answered ? this.timings.firstRetryMs : Math.min(2 * this.delayMs, this.timings.longestRetryMs);
    } finally {
      this.draining = false;
      this.schedule();
    }
  }

  /** Sends the first live release: true when it succeeded (or nothing was left to send). */
  private async releaseFirst(): Promise<boolean> {
    const next = this.nextLive();
    return next === undefined || (await this.tryRelease(next));
  }

  /** Sends the others, a few at a time, until one fails (the store went away again). */
  private async releaseRest(): Promise<void> {
    let failed = false;
    const worker = async () => {
      for (let next = this.nextLive(); next !== undefined && !failed; next = this.nextLive()) {
        if (!(await this.tryRelease(next))) failed = true;
      }
    };
    await Promise.all(Array.from({ length: this.timings.drainConcurrency }, worker));
  }

  /** The oldest claim not being released already whose lease has not ended; those whose lease has are dropped. */
  private nextLive(): [string, PendingRelease] | undefined {
    for (const entry of this.pending) {
      if (this.inFlight.has(entry[0])) continue;
      if (entry[1].leaseEnds > this.now()) return entry;
      this.pending.delete(entry[0]);
    }
    return undefined;
  }

  /** Sends one release; a failed claim keeps its place in the queue. */
  private async tryRelease([id, claim]: [string, PendingRelease]): Promise<boolean> {
    this.inFlight.add(id);
    try {
      await this.release(claim.key, claim.owner);
      this.pending.delete(id);
      return true;
    } catch {
      return false;
    } finally {
      this.inFlight.delete(id);
    }
  }
}

const queues = new WeakMap<EventStore, ClaimReleases>();

/** The release queue of this event store, made on its first failed release. */
export function claimReleasesOf(eventStore: EventStore): ClaimReleases {
  let queue = queues.get(eventStore);
  if (!queue) {
    queue = new ClaimReleases((key, owner) => eventStore.releaseIdempotencyClaim(key, owner));
    queues.set(eventStore, queue);
  }
  return queue;
}
