import { projectorDeclaration } from '../kernel/projection';
import type { FunctionModule } from '../kernel/routes';
import type { ServiceProvider } from '../kernel/services';
import { productCommands } from './commands';
import { PRODUCTS_CONTAINER, productsProjection } from './projection';
import { productQueries } from './queries';

/** The Catalog API: products and categories, declared once for both hosts. */
export function catalogModule(services: ServiceProvider): FunctionModule {
  const commands = productCommands(services);
  const queries = productQueries(services);
  const anonymous = 'anonymous' as const;
  return {
    name: 'catalog',
    routes: [
      { name: 'registerProduct', methods: ['POST'], route: 'products', authLevel: anonymous, handler: commands.register },
      { name: 'searchProducts', methods: ['GET'], route: 'products', authLevel: anonymous, handler: queries.search },
      { name: 'getProductByGtin', methods: ['GET'], route: 'products/gtin/{gtin}', authLevel: anonymous, handler: queries.byGtin },
      { name: 'getProduct', methods: ['GET'], route: 'products/{id}', authLevel: anonymous, handler: queries.byId },
      { name: 'changeProduct', methods: ['PATCH'], route: 'products/{id}', authLevel: anonymous, handler: commands.change },
      { name: 'discontinueProduct', methods: ['POST'], route: 'products/{id}/discontinuation', authLevel: anonymous, handler: commands.discontinue },
      { name: 'reinstateProduct', methods: ['POST'], route: 'products/{id}/reinstatement', authLevel: anonymous, handler: commands.reinstate },
      { name: 'productHistory', methods: ['GET'], route: 'products/{id}/history', authLevel: anonymous, handler: queries.history },
      { name: 'listCategories', methods: ['GET'], route: 'categories', authLevel: anonymous, handler: queries.categories },
    ],
    eventHandlers: [projectorDeclaration(services, productsProjection)],
    timers: [],
    containers: [PRODUCTS_CONTAINER],
  };
}
