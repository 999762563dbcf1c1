import { projectorDeclaration } from '../kernel/projection';
import type { FunctionModule } from '../kernel/routes';
import type { ServiceProvider } from '../kernel/services';
import { offerCommands } from './commands';
import { OFFERS_CONTAINER, offersProjection } from './projection';
import { offerQueries } from './queries';
import { expireOffersTimer, withdrawOfferPublishedForDiscontinuedProduct, withdrawOffersOfDiscontinuedProduct } from './reactions';

/** The Offers API: prices of products at pharmacies, its reactions and its expiry timer. */
export function offersModule(services: ServiceProvider): FunctionModule {
  const commands = offerCommands(services);
  const queries = offerQueries(services);
  const anonymous = 'anonymous' as const;
  return {
    name: 'offers',
    routes: [
      { name: 'publishOffer', methods: ['POST'], route: 'offers', authLevel: anonymous, handler: commands.publish },
      { name: 'publishOfferBatch', methods: ['POST'], route: 'offers/batch', authLevel: anonymous, handler: commands.publishBatch },
      { name: 'getOffer', methods: ['GET'], route: 'offers/{id}', authLevel: anonymous, handler: queries.byId },
      { name: 'changeOfferPrice', methods: ['POST'], route: 'offers/{id}/price', authLevel: anonymous, handler: commands.changePrice },
      { name: 'withdrawOffer', methods: ['POST'], route: 'offers/{id}/withdrawal', authLevel: anonymous, handler: commands.withdraw },
      { name: 'offerHistory', methods: ['GET'], route: 'offers/{id}/history', authLevel: anonymous, handler: queries.history },
      { name: 'productOffersNear', methods: ['GET'], route: 'products/{id}/offers', authLevel: anonymous, handler: queries.cheapestNear },
      { name: 'pharmacyOffers', methods: ['GET'], route: 'pharmacies/{id}/offers', authLevel: anonymous, handler: queries.atPharmacy },
    ],
    eventHandlers: [
      projectorDeclaration(services, offersProjection),
      withdrawOffersOfDiscontinuedProduct(services),
      withdrawOfferPublishedForDiscontinuedProduct(services),
    ],
    timers: [expireOffersTimer(services)],
    containers: [OFFERS_CONTAINER],
  };
}
