import { projectorDeclaration } from '../kernel/projection';
import { httpRoute, type FunctionModule } from '../kernel/routes';
import type { ServiceProvider } from '../kernel/services';
import { pharmacyCommands } from './commands';
import { PHARMACIES_CONTAINER, pharmaciesProjection } from './projection';
import { pharmacyQueries } from './queries';

/** The Pharmacies API: every route and the projector, declared once for both hosts. */
export function pharmaciesModule(services: ServiceProvider): FunctionModule {
  const commands = pharmacyCommands(services);
  const queries = pharmacyQueries(services);
  return {
    name: 'pharmacies',
    routes: [
      httpRoute('registerPharmacy', 'POST', 'pharmacies', commands.register),
      httpRoute('listPharmacies', 'GET', 'pharmacies', queries.list),
      httpRoute('nearbyPharmacies', 'GET', 'pharmacies/nearby', queries.nearby),
      httpRoute('getPharmacy', 'GET', 'pharmacies/{id}', queries.byId),
      httpRoute('changePharmacyProfile', 'PATCH', 'pharmacies/{id}', commands.changeProfile),
      httpRoute('changeOpeningHours', 'PUT', 'pharmacies/{id}/opening-hours', commands.changeOpeningHours),
      httpRoute('relocatePharmacy', 'POST', 'pharmacies/{id}/relocation', commands.relocate),
      httpRoute('closePharmacy', 'POST', 'pharmacies/{id}/closure', commands.close),
      httpRoute('reopenPharmacy', 'POST', 'pharmacies/{id}/reopening', commands.reopen),
      httpRoute('pharmacyHistory', 'GET', 'pharmacies/{id}/history', queries.history),
    ],
    eventHandlers: [projectorDeclaration(services, pharmaciesProjection)],
    timers: [],
    containers: [PHARMACIES_CONTAINER],
  };
}
