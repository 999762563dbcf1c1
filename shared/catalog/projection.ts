import type { DocumentProjection } from '../kernel/projection';
import type { ReadDocument, StoredEvent } from '../kernel/ports';
import { searchKey, wordPrefixes } from '../kernel/text';
import { gtin14 } from './domain/gtin';
import { PRODUCT_EVENT_TYPES, type ProductDetails, type ProductEvent } from './domain/product';

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
};
