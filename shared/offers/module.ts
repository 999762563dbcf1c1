import { projectorDeclaration } from '../kernel/projection';
import { httpRoute, type FunctionModule } from '../kernel/routes';
import type { ServiceProvider } from '../kernel/services';
import { offerCommands } from './commands';
import {
  OFFERS_BY_PHARMACY_CONTAINER,
  OFFERS_BY_PRODUCT_CONTAINER,
  OFFERS_CONTAINER,
  offersByPharmacyProjection,
  offersByProductProjection,
  offersProjection,
} from './projection';
import { offerQueries } from './queries';
import { expireOffersTimer, withdrawOfferPublishedForDiscontinuedProduct, withdrawOffersOfDiscontinuedProduct } from './reactions';

/** The Offers API: prices of products at pharmacies, its reactions and its expiry timer. */
export function offersModule(services: ServiceProvider): FunctionModule {
  const commands = offerCommands(services);
  const queries = offerQueries(services);
  return {
    name: 'offers',
    routes: [
      httpRoute('publishOffer', 'POST', 'offers', commands.publish),
      httpRoute('publishOfferBatch', 'POST', 'offers/batch', commands.publishBatch),
      httpRoute('getOffer', 'GET', 'offers/{id}', queries.byId),
      httpRoute('changeOfferPrice', 'POST', 'offers/{id}/price', commands.changePrice),
      httpRoute('withdrawOffer', 'POST', 'offers/{id}/withdrawal', commands.withdraw),
      httpRoute('offerHistory', 'GET', 'offers/{id}/history', queries.history),
      httpRoute('productOffersNear', 'GET', 'products/{id}/offers', queries.cheapestNear),
      httpRoute('pharmacyOffers', 'GET', 'pharmacies/{id}/offers', queries.atPharmacy),
    ],
    eventHandlers: [
      projectorDeclaration(services, offersProjection),
      projectorDeclaration(services, offersByProductProjection),
      projectorDeclaration(services, offersByPharmacyProjection),
      withdrawOffersOfDiscontinuedProduct(services),
      withdrawOfferPublishedForDiscontinuedProduct(services),
    ],
    timers: [expireOffersTimer(services)],
    containers: [OFFERS_CONTAINER, OFFERS_BY_PRODUCT_CONTAINER, OFFERS_BY_PHARMACY_CONTAINER],
  };
}
