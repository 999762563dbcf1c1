import { loadAggregate, type SnapshotPolicy } from '../kernel/command';
import type { EventStore } from '../kernel/ports';
import { productDecider } from './domain/product';

export const productStreamId = (id: string) => `product-${id}`;
/** Bump the schema when the Product state or evolve changes. */
export const PRODUCT_SNAPSHOTS: SnapshotPolicy = { schema: 'product-v1', every: 50 };

/** What other contexts may ask of a product, answered from the event store (consistent). */
export async function productStatus(eventStore: EventStore, id: string): Promise<'none' | 'active' | 'discontinued'> {
  return (await loadAggregate(eventStore, productDecider, PRODUCT_SNAPSHOTS, productStreamId(id))).state.status;
}
