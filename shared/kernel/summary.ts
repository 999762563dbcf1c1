import { sameValue } from './decider';
import { PreconditionFailed } from './errors';
import type { ContainerDefinition, ReadDocument } from './ports';
import type { TimerDeclaration } from './routes';
import type { ServiceProvider, Services } from './services';
import { METRICS } from './telemetry';

/**
 * One document that summarises a read model (how many active products each category has),
 * so that a query reads one document instead of the whole container. It is kept by
 * computing it again, whole, after each write to what it summarises, never by adding to
 * it: an increment that a redelivered event repeats counts twice, a recount cannot.
 */
export interface SummaryDocument<V> {
  name: string;
  /** Its own small container, partitioned by `/id`. */
  container: ContainerDefinition;
  id: string;
  /** The container it summarises: repairing that one calls for this one's recount. */
  source: ContainerDefinition;
  /** The summary from the source container, by queries alone (never read from the document itself). */
  compute(services: Services): Promise<V>;
  /** Bumped after each write of the document: answers cached from an older one retire. */
  generation: string;
}

/** The stored summary; `version` counts its writes. */
export interface SummaryRecord<V> extends ReadDocument {
  summary: V;
}

const MAX_WRITE_ATTEMPTS = 20;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Recomputes the summary and writes it, after a write to its source. The order is what
 * keeps it right under redelivery and concurrency: the document and its etag are read
 * FIRST, then the source is counted, then the write is conditional on that etag (or on the
 * document being absent); a lost race (412, 409) starts over after a random pause. A write
 * lands only if none landed since its read, so it counted after every earlier write had
 * landed, and so after every source write whose refresh had landed by then: the last write
 * to land reflects every source write that finished before it.
 *
 * It writes even when nothing changed: a writer that read the same etag before a source
 * write, and counted before it too, must find the etag changed and count again; skipping
 * the write would let that older count land last.
 *
 * The argument takes each read to see every write that finished before it. Cosmos DB at
 * Session consistency promises that within one client (one instance) only: another
 * instance's write may reach the replica a read hits milliseconds late. Then the counts
 * are off until the next product event or the next periodic recount (`summaryRecountTimer`,
 * every few minutes), whichever comes first.
 */
export async function refreshSummary<V>(services: Services, summary: SummaryDocument<V>): Promise<SummaryRecord<V>> {
  const container = services.readStore.container<SummaryRecord<V>>(summary.container.name);
  // No shortcut on seeing others' writes land: a first read from a lagging replica would make
  // them look younger than this call's source write, and its count would be lost.
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const current = await container.get(summary.id);
    const next: SummaryRecord<V> = { id: summary.id, version: (current?.document.version ?? 0) + 1, summary: await summary.compute(services) };
    try {
      if (current) await container.replace(next, current.etag);
      else await container.create(next);
      await retireCachedAnswers(services, summary);
      return next;
    } catch (error) {
      if (!(error instanceof PreconditionFailed)) throw error;
      // Spread the contenders out: every round one of them lands, the rest count again.
      await sleep(Math.random() * Math.min(200, 5 * 2 ** attempt));
    }
  }
  throw new Error(`summary ${summary.name}: document ${summary.id} kept changing; retry later`);
}

/**
 * Recounts a summary on a schedule, whatever happened: what no event will correct (a count
 * read from a lagging replica, a source write by an older deployment during an upgrade)
 * lasts until the next run at most. A few index-only counts and one small write a run.
 */
export function summaryRecountTimer<V>(services: ServiceProvider, summary: SummaryDocument<V>, schedule: string): TimerDeclaration {
  return {
    name: `recount${summary.name[0].toUpperCase()}${summary.name.slice(1)}`,
    schedule,
    handler: async (_timer, context) => {
      const record = await refreshSummary(await services(), summary);
      context.log(`summary ${summary.name} recounted (version ${record.version})`);
    },
  };
}

interface Refreshes {
  running?: Promise<void>;
  /** The one refresh that will start after the running one: every caller that came meanwhile waits for it. */
  next?: Promise<void>;
}

// Per read store and summary: one refresh at a time in this process, and at most one waiting.
const refreshesOf = new WeakMap<object, Map<string, Refreshes>>();

/**
 * `refreshSummary` for a projector, after each write to the source: it resolves once a
 * refresh that STARTED after the call has landed, which is all a write needs (that refresh
 * read the document, then counted, after the write). Writes that come while a refresh runs
 * share the single refresh that follows it, so a burst of product events (a catalogue
 * import) costs a few recounts per instance, not one each, and contends far less on the
 * one document. A delivery still completes only after its refresh: a crash before that is
 * redelivered.
 */
export function refreshSummaryAfterWrite<V>(services: Services, summary: SummaryDocument<V>): Promise<void> {
  let bySummary = refreshesOf.get(services.readStore);
  if (!bySummary) refreshesOf.set(services.readStore, (bySummary = new Map()));
  let state = bySummary.get(summary.id);
  if (!state) bySummary.set(summary.id, (state = {}));
  const refreshes = state;
  if (!refreshes.running) {
    refreshes.running = refreshSummary(services, summary).then(() => undefined);
    const done = () => (refreshes.running = undefined);
    refreshes.running.then(done, done);
    return refreshes.running;
  }
  // The running refresh may have read before this write: wait for the next one.
  refreshes.next ??= refreshes.running
    .catch(() => undefined)
    .then(() => {
      refreshes.next = undefined;
      return refreshSummaryAfterWrite(services, summary);
    });
  return refreshes.next;
}

async function retireCachedAnswers<V>(services: Services, summary: SummaryDocument<V>): Promise<void> {
  // The document is written; a cache that is away only delays freshness by the fresh TTL.
  try {
    await services.cache.increment(summary.generation);
  } catch {
    services.telemetry.metric(METRICS.cacheError, 1, { operation: 'invalidate' });
  }
}

/**
 * The summary as stored, or, while no document exists yet (a deployment upgraded before
 * the rebuild tool filled it), as computed now from the source: never wrong, only dearer.
 */
export async function readSummary<V>(services: Services, summary: SummaryDocument<V>): Promise<V> {
  const stored = await services.readStore.container<SummaryRecord<V>>(summary.container.name).get(summary.id);
  return stored ? stored.document.summary : summary.compute(services);
}

/** How the stored summary stands against a recount: absent, different, or (undefined) equal. */
export interface SummaryDifference {
  kind: 'missing' | 'different';
  actualVersion?: number;
}

async function compareOnce<V>(services: Services, summary: SummaryDocument<V>): Promise<SummaryDifference | undefined> {
  const stored = await services.readStore.container<SummaryRecord<V>>(summary.container.name).get(summary.id);
  const expected = await summary.compute(services);
  if (!stored) return { kind: 'missing' };
  return sameValue(stored.document.summary, expected) ? undefined : { kind: 'different', actualVersion: stored.document.version };
}

/**
 * Compares the stored summary with a recount; writes nothing. Projectors keep writing while
 * a live store is verified: a difference is checked again, after a pause, before it counts
 * (a recount in flight is no difference).
 */
export async function verifySummary<V>(services: Services, summary: SummaryDocument<V>, pauseMs = 500): Promise<SummaryDifference | undefined> {
  if (!(await compareOnce(services, summary))) return undefined;
  await sleep(pauseMs);
  return compareOnce(services, summary);
}
