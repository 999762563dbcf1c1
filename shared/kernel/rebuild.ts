// Read models against the event store: the rebuild at a local start, and the operator's
// verify and in-place repair of a live read store (`npm run rebuild-projections`).
import { sameValue } from './decider';
import { PreconditionFailed } from './errors';
import { partitionKeyOf, type ReadContainer, type ReadDocument, type StoredEvent } from './ports';
import type { DocumentProjection } from './projection';
import type { Services } from './services';
import { refreshSummary, verifySummary, type SummaryDocument } from './summary';
import { METRICS } from './telemetry';

const READ_BATCH = 1000;
const SCAN_PAGE = 500;
const REPAIR_ATTEMPTS = 5;

export type DifferenceKind = 'missing' | 'extra' | 'different';

export interface Difference {
  id: string;
  /** missing: events make it, the store lacks it; extra: the store holds what no event makes; different: both, unequal. */
  kind: DifferenceKind;
  expectedVersion?: number;
  actualVersion?: number;
  /** The document's partition, where its container is not partitioned by `/id`. */
  partitionKey?: string;
}

export interface ProjectionReport {
  projection: string;
  container: string;
  /** Documents the event store makes, and documents the container holds. */
  expected: number;
  actual: number;
  differences: Difference[];
  /** A summary's: the container whose recount it was compared with (else the event store's replay). */
  countedFrom?: string;
}

export interface RepairReport extends ProjectionReport {
  repaired: number;
}

type Documents = Map<string, ReadDocument>;

function handles(projection: DocumentProjection<ReadDocument>, event: StoredEvent): boolean {
  return event.streamId.startsWith(projection.streamPrefix) && projection.eventTypes.includes(event.type);
}

/** Replays the whole event store once: the documents each projection should hold. */
async function replay(services: Services, projections: DocumentProjection<ReadDocument>[]): Promise<{ documents: Documents[]; events: number }> {
  const documents = projections.map((): Documents => new Map());
  let after = 0;
  let events = 0;
  for (;;) {
    const batch = await services.eventStore.readAll(after, READ_BATCH);
    if (batch.length === 0) return { documents, events };
    for (const event of batch) {
      projections.forEach((projection, index) => {
        if (!handles(projection, event)) return;
        const id = event.streamId.slice(projection.streamPrefix.length);
        // An event a projection does not apply leaves the document as it was (as `project` does).
        const next = projection.apply(documents[index].get(id), event);
        if (next) documents[index].set(id, next);
      });
    }
    after = batch[batch.length - 1].position;
    events += batch.length;
  }
}

/** One document as its stream makes it now (events appended since the full replay included). */
async function expectedNow(services: Services, projection: DocumentProjection<ReadDocument>, id: string): Promise<ReadDocument | undefined> {
  const events = await services.eventStore.readStream(`${projection.streamPrefix}${id}`);
  return events.filter((event) => handles(projection, event)).reduce<ReadDocument | undefined>((document, event) => projection.apply(document, event) ?? document, undefined);
}

async function scan(container: ReadContainer<ReadDocument>): Promise<Documents> {
  const documents: Documents = new Map();
  let continuation: string | undefined;
  do {
    const page = await container.queryPage({ query: 'SELECT * FROM c' }, SCAN_PAGE, continuation);
    for (const document of page.items) documents.set(document.id, document);
    continuation = page.continuation;
  } while (continuation);
  return documents;
}

function compare(projection: DocumentProjection<ReadDocument>, id: string, expected: ReadDocument | undefined, actual: ReadDocument | undefined): Difference | undefined {
  if (sameValue(expected, actual)) return undefined;
  const kind: DifferenceKind = !actual ? 'missing' : !expected ? 'extra' : 'different';
  const partitioned = projection.container.partitionKeyPath !== '/id';
  return {
    id,
    kind,
    ...(expected ? { expectedVersion: expected.version } : {}),
    ...(actual ? { actualVersion: actual.version } : {}),
    ...(partitioned ? { partitionKey: partitionKeyOf(projection.container, (expected ?? actual)!) } : {}),
  };
}

/**
 * Projectors keep writing while a live store is verified: a document that differs from the
 * replay is read again, with its stream, before it counts (a write in flight is no difference).
 */
async function confirm(services: Services, projection: DocumentProjection<ReadDocument>, candidate: Difference): Promise<Difference | undefined> {
  const [expected, actual] = await Promise.all([
    expectedNow(services, projection, candidate.id),
    services.readStore.container<ReadDocument>(projection.container.name).get(candidate.id, candidate.partitionKey),
  ]);
  return compare(projection, candidate.id, expected, actual?.document);
}

async function verifyOne(services: Services, projection: DocumentProjection<ReadDocument>, expected: Documents): Promise<ProjectionReport> {
  const actual = await scan(services.readStore.container(projection.container.name));
  const candidates: Difference[] = [];
  for (const id of new Set([...expected.keys(), ...actual.keys()])) {
    const difference = compare(projection, id, expected.get(id), actual.get(id));
    if (difference) candidates.push(difference);
  }
  const differences: Difference[] = [];
  for (const candidate of candidates) {
    const confirmed = await confirm(services, projection, candidate);
    if (confirmed) differences.push(confirmed);
  }
  return { projection: projection.name, container: projection.container.name, expected: expected.size, actual: actual.size, differences };
}

/** Compares every projection's container with a replay of the event store; writes nothing. */
export async function verifyReadModels(services: Services, projections: DocumentProjection<ReadDocument>[]): Promise<ProjectionReport[]> {
  if (projections.length === 0) return [];
  const { documents } = await replay(services, projections);
  const reports: ProjectionReport[] = [];
  for (const [index, projection] of projections.entries()) reports.push(await verifyOne(services, projection, documents[index]));
  return reports;
}

/**
 * Brings one document in line with its stream, conditionally on the etag it read: a
 * projector that writes meanwhile wins, and the document is compared again. Resolves to
 * the versions it replaced and wrote (their cached lists go), or nothing when it matched.
 */
async function repairDocument(services: Services, projection: DocumentProjection<ReadDocument>, { id, partitionKey }: Difference): Promise<ReadDocument[]> {
  const container = services.readStore.container<ReadDocument>(projection.container.name);
  for (let attempt = 1; attempt <= REPAIR_ATTEMPTS; attempt++) {
    const [expected, actual] = await Promise.all([expectedNow(services, projection, id), container.get(id, partitionKey)]);
    if (sameValue(expected, actual?.document)) return [];
    try {
      if (!actual) await container.create(expected!);
      else if (!expected) await container.delete(id, actual.etag, partitionKey);
      else await container.replace(expected, actual.etag);
      await settled(services, projection.cacheKeys(id).length ? [services.cache.invalidate(projection.cacheKeys(id))] : []);
      return [expected, actual?.document].filter((document): document is ReadDocument => document !== undefined);
    } catch (error) {
      if (!(error instanceof PreconditionFailed)) throw error;
    }
  }
  throw new Error(`projection ${projection.name}: document ${id} kept changing during the repair; run it again`);
}

/** Cache calls after a write: a cache that is away only delays freshness (the fresh TTL bounds it). */
async function settled(services: Services, calls: Promise<unknown>[]): Promise<void> {
  const outcomes = await Promise.allSettled(calls);
  if (outcomes.some((outcome) => outcome.status === 'rejected')) services.telemetry.metric(METRICS.cacheError, 1, { operation: 'rebuild' });
}

/** Bumps each generation the documents touch, once. */
async function retireCachedLists(services: Services, projection: DocumentProjection<ReadDocument>, documents: Iterable<ReadDocument>): Promise<void> {
  const generations = new Set<string>();
  for (const document of documents) for (const key of await projection.cacheGenerations(document, services)) generations.add(key);
  return settled(services, [...generations].map((key) => services.cache.increment(key)));
}

/**
 * Verifies, then rewrites in place only the documents that differ (missing ones created,
 * extra ones deleted), each against its stream as it is at that moment. Queries keep
 * answering throughout; after a projection change every document differs, so this is the
 * full rebuild.
 */
export async function repairReadModels(services: Services, projections: DocumentProjection<ReadDocument>[]): Promise<RepairReport[]> {
  const reports: RepairReport[] = [];
  for (const report of await verifyReadModels(services, projections)) {
    const projection = projections.find((candidate) => candidate.name === report.projection)!;
    let repaired = 0;
    const touched: ReadDocument[] = [];
    for (const difference of report.differences) {
      const documents = await repairDocument(services, projection, difference);
      if (documents.length > 0) repaired++;
      touched.push(...documents);
    }
    await retireCachedLists(services, projection, touched);
    reports.push({ ...report, repaired });
  }
  return reports;
}

/**
 * Compares each summary document with a recount of its source container (the event store
 * makes the source; verify that first); writes nothing.
 */
export async function verifySummaries(services: Services, summaries: SummaryDocument<unknown>[]): Promise<ProjectionReport[]> {
  const reports: ProjectionReport[] = [];
  for (const summary of summaries) {
    const difference = await verifySummary(services, summary);
    reports.push({
      projection: summary.name,
      container: summary.container.name,
      expected: 1,
      actual: difference?.kind === 'missing' ? 0 : 1,
      differences: difference ? [{ id: summary.id, ...difference }] : [],
      countedFrom: summary.source.name,
    });
  }
  return reports;
}

/**
 * Rewrites each summary document that differs from a recount (after its source is
 * repaired: run it after `repairReadModels`); the first fill of a new one after an upgrade.
 */
export async function repairSummaries(services: Services, summaries: SummaryDocument<unknown>[]): Promise<RepairReport[]> {
  const reports: RepairReport[] = [];
  for (const [index, report] of (await verifySummaries(services, summaries)).entries()) {
    if (report.differences.length > 0) await refreshSummary(services, summaries[index]);
    reports.push({ ...report, repaired: report.differences.length });
  }
  return reports;
}

/**
 * Fills empty containers from the event store (a local start on the ephemeral store), then
 * counts the summaries of what they hold. Documents are upserted: a container that holds
 * others wants `repairReadModels`.
 */
export async function rebuildAll(services: Services, projections: DocumentProjection<ReadDocument>[], summaries: SummaryDocument<unknown>[] = []): Promise<number> {
  const { documents, events } = await replay(services, projections);
  for (const [index, projection] of projections.entries()) {
    const container = services.readStore.container(projection.container.name);
    for (const document of documents[index].values()) await container.upsert(document);
    await retireCachedLists(services, projection, documents[index].values());
  }
  for (const summary of summaries) await refreshSummary(services, summary);
  return events;
}
