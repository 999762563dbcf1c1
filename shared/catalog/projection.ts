import type { DocumentProjection } from '../kernel/projection';
import type { ReadDocument, StoredEvent } from '../kernel/ports';
import type { Services } from '../kernel/services';
import { refreshSummaryAfterWrite, type SummaryDocument } from '../kernel/summary';
import { searchKey, wordPrefixes } from '../kernel/text';
import { gtin14 } from './domain/gtin';
import { PRODUCT_CATEGORIES, PRODUCT_EVENT_TYPES, type ProductDetails, type ProductEvent } from './domain/product';

export const PRODUCTS_CONTAINER = {
  name: 'products',
  partitionKeyPath: '/id',
  // The search: status, then category or prescription, ordered by name (keyset paging).
  compositeIndexes: [
    ['/status', '/sortKey'],
    ['/status', '/category', '/sortKey'],
    ['/status', '/prescription', '/sortKey'],
  ],
};
/** The catalogue's summaries: a few small documents, each read by id. */
export const CATALOG_SUMMARIES_CONTAINER = { name: 'catalog-summaries', partitionKeyPath: '/id' };
export const PRODUCTS_GENERATION = 'gen:products';
export const productCacheKey = (id: string) => `product:${id}`;

/** The read model of one product, with the keys its searches need. */
export interface ProductDocument extends ReadDocument, ProductDetails {
  gtin: string;
  status: 'active' | 'discontinued';
  registeredAt: string;
  updatedAt: string;
  gtin14: string;
  /** Every prefix of every word of the name, brand and active ingredients, lower-cased, accent-free. */
  searchPrefixes: string[];
  /** Alphabetical and unique: the key of list pages. */
  sortKey: string;
}

function withSearchKeys(document: Omit<ProductDocument, 'searchPrefixes' | 'sortKey'>): ProductDocument {
  return {
    ...document,
    searchPrefixes: wordPrefixes([document.name, document.brand, ...document.activeIngredients]),
    sortKey: `${searchKey(document.name)}|${document.id}`,
  };
}

function applyProductEvent(document: ProductDocument | undefined, stored: StoredEvent): ProductDocument | undefined {
  const event = stored as unknown as ProductEvent;
  const stamp = { version: stored.version, updatedAt: stored.occurredAt };
  if (event.type === 'ProductRegistered') {
    const { productId, registeredAt, ...details } = event.data;
    return withSearchKeys({ id: productId, ...details, gtin14: gtin14(details.gtin), status: 'active', registeredAt, ...stamp });
  }
  if (!document) return undefined;
  switch (event.type) {
    case 'ProductChanged':
      return withSearchKeys({ ...document, ...event.data.changes, ...stamp });
    case 'ProductDiscontinued':
      return { ...document, status: 'discontinued', ...stamp };
    case 'ProductReinstated':
      return { ...document, status: 'active', ...stamp };
    default:
      return { ...document, ...stamp };
  }
}

export const productsProjection: DocumentProjection<ProductDocument> = {
  name: 'productsProjector',
  subscription: 'products-read',
  container: PRODUCTS_CONTAINER,
  streamPrefix: 'product-',
  eventTypes: PRODUCT_EVENT_TYPES,
  apply: applyProductEvent,
  cacheKeys: (id) => [productCacheKey(id)],
  cacheGenerations: () => [PRODUCTS_GENERATION],
  // Every category, not just the product's: a redelivered category change no longer knows
  // the category it left, and 8 index-only counts on a rare event cost little.
  afterWrite: async (_document, services) => {
    await refreshSummaryAfterWrite(services, activeProductsByCategory);
  },
};

export type CategoryCounts = Record<ProductDetails['category'], number>;

const ACTIVE_IN_CATEGORY = "SELECT VALUE COUNT(1) FROM c WHERE c.status = 'active' AND c.category = @category";

/**
 * Active products per category, one index-only COUNT per category (GROUP BY is not
 * available everywhere the read store runs): a handful of request units, never a scan.
 */
async function countActiveByCategory(services: Services): Promise<CategoryCounts> {
  const products = services.readStore.container<ProductDocument>(PRODUCTS_CONTAINER.name);
  const counts = await Promise.all(
    PRODUCT_CATEGORIES.map((category) => products.count({ query: ACTIVE_IN_CATEGORY, parameters: [{ name: '@category', value: category }] })),
  );
  return Object.fromEntries(PRODUCT_CATEGORIES.map((category, index) => [category, counts[index]])) as CategoryCounts;
}

/** What `GET /categories` answers, in one point read. */
export const activeProductsByCategory: SummaryDocument<CategoryCounts> = {
  name: 'activeProductsByCategory',
  container: CATALOG_SUMMARIES_CONTAINER,
  id: 'active-products-by-category',
  source: PRODUCTS_CONTAINER,
  compute: countActiveByCategory,
  generation: 'gen:catalog:categories',
};
