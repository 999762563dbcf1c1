import { projectorDeclaration } from '../kernel/projection';
import { httpRoute, type FunctionModule } from '../kernel/routes';
import type { ServiceProvider } from '../kernel/services';
import { productCommands } from './commands';
import { summaryRecountTimer } from '../kernel/summary';
import { activeProductsByCategory, CATALOG_SUMMARIES_CONTAINER, PRODUCTS_CONTAINER, productsProjection } from './projection';
import { productQueries } from './queries';

/** The Catalog API: products and categories, declared once for both hosts. */
export function catalogModule(services: ServiceProvider): FunctionModule {
  const commands = productCommands(services);
  const queries = productQueries(services);
  return {
    name: 'catalog',
    routes: [
      httpRoute('registerProduct', 'POST', 'products', commands.register),
      httpRoute('searchProducts', 'GET', 'products', queries.search),
      httpRoute('getProductByGtin', 'GET', 'products/gtin/{gtin}', queries.byGtin),
      httpRoute('getProduct', 'GET', 'products/{id}', queries.byId),
      httpRoute('changeProduct', 'PATCH', 'products/{id}', commands.change),
      httpRoute('discontinueProduct', 'POST', 'products/{id}/discontinuation', commands.discontinue),
      httpRoute('reinstateProduct', 'POST', 'products/{id}/reinstatement', commands.reinstate),
      httpRoute('productHistory', 'GET', 'products/{id}/history', queries.history),
      httpRoute('listCategories', 'GET', 'categories', queries.categories),
    ],
    eventHandlers: [projectorDeclaration(services, productsProjection)],
    // Every 10 minutes: bounds how long counts no event corrects can stay off (see summaryRecountTimer).
    timers: [summaryRecountTimer(services, activeProductsByCategory, '0 */10 * * * *')],
    containers: [PRODUCTS_CONTAINER, CATALOG_SUMMARIES_CONTAINER],
  };
}
