import type { ReadResult } from '../kernel/query';
import { collect, readManyThrough } from '../kernel/query';
import type { Services } from '../kernel/services';
import { PRODUCTS_CONTAINER, productCacheKey, type ProductDocument } from './projection';

/**
 * What other contexts may use of the Catalog: these functions and types, and nothing else
 * of this folder (its containers, cache keys and document shapes may change with it).
 */
export { productStatus } from './status';

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
 * The summaries of these products, through the cache, the ones it lacks read in one query:
 * a listing of offers names many products, and one read each was an N+1. An id the
 * catalog does not know is absent from the map.
 */
export async function productSummaries(services: Services, ids: readonly string[]): Promise<{ summaries: Map<string, ProductSummary>; cache: ReadResult<unknown>['cache'] }> {
  const { values, cache } = await readManyThrough<ProductDocument>(services, ids, productCacheKey, async (missing) => {
    const container = services.readStore.container<ProductDocument>(PRODUCTS_CONTAINER.name);
    // One id: a point read (1 RU) beats a query. Several: one query on a container small
    // enough for one physical partition, instead of one read each.
    if (missing.length === 1) return [(await container.get(missing[0]))?.document].filter((product) => product !== undefined);
    return collect(container, { query: 'SELECT * FROM c WHERE ARRAY_CONTAINS(@ids, c.id)', parameters: [{ name: '@ids', value: missing }] }, missing.length);
  });
  return { summaries: new Map([...values].map(([id, product]) => [id, summaryOf(product)])), cache };
}

/** One product's summary (undefined when the catalog does not know it). */
export async function productSummary(services: Services, id: string): Promise<ReadResult<ProductSummary>> {
  const { summaries, cache } = await productSummaries(services, [id]);
  return { value: summaries.get(id), cache };
}
