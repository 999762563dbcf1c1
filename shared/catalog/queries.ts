import Joi from 'joi';
import { InvalidInput, NotFound } from '../kernel/errors';
import { jsonResponse, queryObject, validate, withProblemDetails } from '../kernel/http';
import type { QuerySpec } from '../kernel/ports';
import { readThrough } from '../kernel/query';
import { byIdHandler, documentResponse, historyHandler, keysetPage, limitSchema, type DocumentView } from '../kernel/read-handlers';
import type { ServiceProvider } from '../kernel/services';
import { readSummary } from '../kernel/summary';
import { searchWords } from '../kernel/text';
import { gtinSchema } from './commands';
import { gtin14 } from './domain/gtin';
import { PRESCRIPTION_RULES, PRODUCT_CATEGORIES } from './domain/product';
import { activeProductsByCategory, PRODUCTS_CONTAINER, PRODUCTS_GENERATION, productCacheKey, type ProductDocument } from './projection';

/** The API's view of a product: the document without its search keys. */
export function presentProduct(document: ProductDocument) {
  const { searchPrefixes: _prefixes, sortKey: _sortKey, gtin14: _gtin14, ...product } = document;
  return product;
}

const productView: DocumentView<ProductDocument> = {
  noun: 'product',
  container: PRODUCTS_CONTAINER.name,
  cacheKey: productCacheKey,
  present: presentProduct,
};

/** A price list's GTINs resolved in one request rather than one each. */
const MAX_GTINS = 100;
const gtinListSchema = Joi.array()
  .items(gtinSchema)
  .min(1)
  .max(MAX_GTINS)
  .unique()
  .messages({ 'array.max': `at most ${MAX_GTINS} GTINs`, 'array.unique': 'a GTIN is repeated' });

const searchSchema = Joi.object({
  q: Joi.string().trim().min(1).max(100),
  // Comma-separated: "7891234567895,7899876543210".
  gtin: Joi.string()
    .max(MAX_GTINS * 15)
    .custom((value: string, helpers) => {
      const { value: gtins, error } = gtinListSchema.validate(value.split(','));
      return error ? helpers.message({ custom: `gtin: ${error.message}` }) : gtins;
    }),
  category: Joi.string().valid(...PRODUCT_CATEGORIES),
  prescription: Joi.string().valid(...PRESCRIPTION_RULES),
  includeDiscontinued: Joi.boolean().default(false),
  limit: limitSchema(20, 100),
  cursor: Joi.string().max(512),
});

/** Words of at least 2 characters, at most 5 of them; longer than 20, the stored prefixes stop there. */
function searchTerms(q: string): string[] {
  const terms = [...new Set(searchWords(q).filter((word) => word.length >= 2).map((word) => word.slice(0, 20)))].slice(0, 5);
  if (terms.length === 0) {
    throw new InvalidInput('the search needs a word', [{ field: 'q', message: 'q needs a word of at least 2 letters or digits' }]);
  }
  return terms;
}

interface SearchFilters {
  terms: string[];
  /** In their 14-digit form. */
  gtins?: string[];
  category?: string;
  prescription?: string;
  includeDiscontinued: boolean;
}

function searchQuery(filters: SearchFilters, after: string): QuerySpec {
  const conditions = ['c.sortKey > @after'];
  const parameters: QuerySpec['parameters'] = [{ name: '@after', value: after }];
  if (!filters.includeDiscontinued) conditions.push("c.status = 'active'");
  if (filters.category) {
    conditions.push('c.category = @category');
    parameters.push({ name: '@category', value: filters.category });
  }
  if (filters.gtins) {
    conditions.push('ARRAY_CONTAINS(@gtins, c.gtin14)');
    parameters.push({ name: '@gtins', value: filters.gtins });
  }
  if (filters.prescription) {
    conditions.push('c.prescription = @prescription');
    parameters.push({ name: '@prescription', value: filters.prescription });
  }
  filters.terms.forEach((term, index) => {
    conditions.push(`ARRAY_CONTAINS(c.searchPrefixes, @term${index})`);
    parameters.push({ name: `@term${index}`, value: term });
  });
  return { query: `SELECT * FROM c WHERE ${conditions.join(' AND ')} ORDER BY c.sortKey`, parameters };
}

export function productQueries(services: ServiceProvider) {
  return {
    byId: byIdHandler(services, productView),

    byGtin: withProblemDetails(async (request) => {
      const s = await services();
      const key = gtin14(validate(gtinSchema, request.params.gtin, 'path'));
      validate(Joi.object({}), queryObject(request), 'query');
      // A GTIN's product never changes (the reservation is permanent), so its id caches well.
      const { value: id } = await readThrough(s, `product:gtin:${key}`, async () => {
        const page = await s.readStore
          .container<ProductDocument>(PRODUCTS_CONTAINER.name)
          .queryPage({ query: 'SELECT * FROM c WHERE c.gtin14 = @gtin', parameters: [{ name: '@gtin', value: key }] }, 1);
        return page.items[0]?.id;
      });
      if (!id) throw new NotFound(`no product with GTIN ${request.params.gtin}`);
      return documentResponse(s, productView, id, request);
    }),

    search: withProblemDetails(async (request) => {
      const s = await services();
      const { q, gtin, limit, cursor, ...rest } = validate(searchSchema, queryObject(request), 'query');
      const gtins = (gtin as string[] | undefined)?.map(gtin14).sort();
      const filters: SearchFilters = { terms: q === undefined ? [] : searchTerms(q), ...(gtins ? { gtins } : {}), ...rest };
      const page = await keysetPage<ProductDocument>(s, {
        container: PRODUCTS_CONTAINER.name,
        cacheKey: `products:search:${JSON.stringify(filters)}`,
        generation: PRODUCTS_GENERATION,
        query: (after) => searchQuery(filters, after),
        keyOf: (document) => document.sortKey,
        limit,
        cursor,
      });
      return jsonResponse(200, { items: page.items.map(presentProduct), nextCursor: page.nextCursor }, { 'x-cache': page.cache });
    }),

    categories: withProblemDetails(async (request) => {
      const s = await services();
      validate(Joi.object({}), queryObject(request), 'query');
      // One point read of the counts the products projector keeps; its write bumps the generation.
      const { value: counts, cache } = await readThrough(s, 'catalog:categories', () => readSummary(s, activeProductsByCategory), activeProductsByCategory.generation);
      return jsonResponse(
        200,
        { items: PRODUCT_CATEGORIES.map((category) => ({ category, activeProducts: counts?.[category] ?? 0 })) },
        { 'x-cache': cache },
      );
    }),

    history: historyHandler(services, 'product', (id) => `product-${id}`),
  };
}
