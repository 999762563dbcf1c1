import type { ContainerDefinition } from '../kernel/ports';
import type { FunctionModule } from '../kernel/routes';
import type { ServiceProvider } from '../kernel/services';
import { catalogModule } from '../catalog/module';
import { activeProductsByCategory, CATALOG_SUMMARIES_CONTAINER, PRODUCTS_CONTAINER, productsProjection } from '../catalog/projection';
import { identityModule } from '../identity/module';
import { offersModule } from '../offers/module';
import {
  OFFERS_BY_PHARMACY_CONTAINER,
  OFFERS_BY_PRODUCT_CONTAINER,
  OFFERS_CONTAINER,
  offersByPharmacyProjection,
  offersByProductProjection,
  offersProjection,
} from '../offers/projection';
import { pharmaciesModule } from '../pharmacies/module';
import { PHARMACIES_CONTAINER, pharmaciesProjection } from '../pharmacies/projection';
import type { DocumentProjection } from '../kernel/projection';
import type { ReadDocument } from '../kernel/ports';
import type { SummaryDocument } from '../kernel/summary';
import { guardConfiguration } from './configuration';
import { platformModule } from './module';

/** Every read container the modules use: created locally, declared in Bicep for Azure. */
export const READ_CONTAINERS: ContainerDefinition[] = [
  PHARMACIES_CONTAINER,
  PRODUCTS_CONTAINER,
  CATALOG_SUMMARIES_CONTAINER,
  OFFERS_CONTAINER,
  OFFERS_BY_PRODUCT_CONTAINER,
  OFFERS_BY_PHARMACY_CONTAINER,
];

/** Every document projection, for full rebuilds. */
export const READ_PROJECTIONS = [pharmaciesProjection, productsProjection, offersProjection, offersByProductProjection, offersByPharmacyProjection] as unknown as DocumentProjection<ReadDocument>[];

/** Every summary document, recounted after its source by the rebuild tool. */
export const READ_SUMMARIES = [activeProductsByCategory] as SummaryDocument<unknown>[];

/**
 * Every module of the app, as both hosts serve it. A composition that fails on its
 * configuration answers 503 problem+json on every route (guardConfiguration), never 500.
 */
export function appModules(provider: ServiceProvider): FunctionModule[] {
  const services = guardConfiguration(provider);
  return [platformModule(services), pharmaciesModule(services), catalogModule(services), offersModule(services), identityModule(services)];
}

/** The modules' declarations alone (names, routes, subscriptions), for tools and checks that run no handler. */
export function declaredModules(): FunctionModule[] {
  return appModules(() => Promise.reject(new Error('declarations only: no services are composed')));
}
