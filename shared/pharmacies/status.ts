import { loadAggregate, type SnapshotPolicy } from '../kernel/command';
import type { EventStore } from '../kernel/ports';
import { pharmacyDecider } from './domain/pharmacy';

export const pharmacyStreamId = (id: string) => `pharmacy-${id}`;
/** Bump the schema when the Pharmacy state or evolve changes. */
export const PHARMACY_SNAPSHOTS: SnapshotPolicy = { schema: 'pharmacy-v1', every: 50 };

/** What other contexts may ask of a pharmacy, answered from the event store (consistent). */
export async function pharmacyStatus(eventStore: EventStore, id: string): Promise<'none' | 'active' | 'closed'> {
  return (await loadAggregate(eventStore, pharmacyDecider, PHARMACY_SNAPSHOTS, pharmacyStreamId(id))).state.status;
}
