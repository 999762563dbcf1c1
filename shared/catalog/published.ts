import type { ReadResult } from '../kernel/query';
import { readManyThrough } from '../kernel/query';
import type { Services } from '../kernel/services';
import { PRODUCTS_CONTAINER, productCacheKey, type ProductDocument } from './projection';

/**
 * What other contexts may use of the Catalog: these functions and types, and nothing else
 * of this folder (its containers, cache keys and document shapes may change with it).
 */
export { productStatus, productStreamId } from './status';

/** A product as other contexts show it beside their own data. */
export interface ProductSummary {
  id: string;
  name: string;
  presentation: string;
  gtin: string;
}

const summaryOf = (product: ProductDocument): ProductSummary => ({
  id: product.id,
  name: product.name,
  presentation: product.presentation,
  gtin: product.gtin,
});

/**
 * The summaries of these products, through the cache, the ones it lacks read together: a
 * listing of offers names many products, and one read each was an N+1. They are point
 * reads in one bulk request (each confined to its product's partition, 1 RU), not a query:
 * a query over the products fans out to every physical partition the container grows to.
 * An id the catalog does not know is absent from the map.
 */
export async function productSummaries(services: Services, ids: readonly string[]): Promise<{ summaries: Map<string, ProductSummary>; cache: ReadResult<unknown>['cache'] }> {
  const { values, cache } = await readManyThrough<ProductDocument>(services, ids, productCacheKey, async (missing) => {
    const container = services.readStore.container<ProductDocument>(PRODUCTS_CONTAINER.name);
    if (missing.length === 1) return [(await container.get(missing[0]))?.document].filter((product) => product !== undefined);
    const found = await container.getMany(missing.map((id) => ({ id })));
    return found.flatMap((product) => (product ? [product.document] : []));
  });
  return { summaries: new Map([...values].map(([id, product]) => [id, summaryOf(product)])), cache };
}

/** One product's summary (undefined when the catalog does not know it). */
export async function productSummary(services: Services, id: string): Promise<ReadResult<ProductSummary>> {
  const { summaries, cache } = await productSummaries(services, [id]);
  return { value: summaries.get(id), cache };
}
