import type { EventStore } from './ports';

/**
 * How long published events wait to be marked in the outbox. Marking them one command at a
 * time cost every command a database round trip (and SQLite a second commit) after its
 * answer was ready; gathered, many commands share one. Far below the outbox relay's minimum
 * age (seconds), so the relay does not publish again what is only waiting for its mark.
 */
export const MARK_PUBLISHED_AFTER_MS = 100;
/** A burst past this many marks flushes at once, keeping the statement and the loss on a crash small. */
export const MARK_PUBLISHED_BATCH = 500;

interface PendingMarks {
  ids: string[];
  timer?: NodeJS.Timeout;
  /** The flush under way, awaited by an explicit flush so that none overlaps a close. */
  flushing: Promise<void>;
  onError: (error: unknown) => void;
}

const pendingByStore = new WeakMap<EventStore, PendingMarks>();

/**
 * Marks the events published soon, off the caller's path. Nothing is lost when a mark never
 * lands (a crash first, the database away): the event stays in the outbox and the relay
 * publishes it again, which every consumer drops as a duplicate.
 */
export function markPublishedSoon(eventStore: EventStore, eventIds: string[], onError: (error: unknown) => void): void {
  if (eventIds.length === 0) return;
  let pending = pendingByStore.get(eventStore);
  if (!pending) {
    pending = { ids: [], flushing: Promise.resolve(), onError };
    pendingByStore.set(eventStore, pending);
  }
  pending.ids.push(...eventIds);
  pending.onError = onError;
  if (pending.ids.length >= MARK_PUBLISHED_BATCH) {
    void flushPublishedMarks(eventStore);
    return;
  }
  if (!pending.timer) {
    // Unreferenced: a process ending meanwhile leaves the marks to the relay rather than waiting.
    pending.timer = setTimeout(() => void flushPublishedMarks(eventStore), MARK_PUBLISHED_AFTER_MS).unref();
  }
}

/** Writes the marks gathered so far (the relay, a close and tests call it); resolves when they are written or given up. */
export async function flushPublishedMarks(eventStore: EventStore): Promise<void> {
  const pending = pendingByStore.get(eventStore);
  if (!pending) return;
  if (pending.timer) clearTimeout(pending.timer);
  pending.timer = undefined;
  const ids = pending.ids.splice(0);
  const onError = pending.onError;
  const previous = pending.flushing;
  const flushing = previous.then(async () => {
    if (ids.length === 0) return;
    try {
      await eventStore.markPublished(ids);
    } catch (error) {
      onError(error);
    }
  });
  pending.flushing = flushing;
  await flushing;
}
