import { projectorDeclaration } from '../kernel/projection';
import type { FunctionModule } from '../kernel/routes';
import type { ServiceProvider } from '../kernel/services';
import { pharmacyCommands } from './commands';
import { PHARMACIES_CONTAINER, pharmaciesProjection } from './projection';
import { pharmacyQueries } from './queries';

/** The Pharmacies API: every route and the projector, declared once for both hosts. */
export function pharmaciesModule(services: ServiceProvider): FunctionModule {
  const commands = pharmacyCommands(services);
  const queries = pharmacyQueries(services);
  const anonymous = 'anonymous' as const;
  return {
    name: 'pharmacies',
    routes: [
      { name: 'registerPharmacy', methods: ['POST'], route: 'pharmacies', authLevel: anonymous, handler: commands.register },
      { name: 'listPharmacies', methods: ['GET'], route: 'pharmacies', authLevel: anonymous, handler: queries.list },
      { name: 'nearbyPharmacies', methods: ['GET'], route: 'pharmacies/nearby', authLevel: anonymous, handler: queries.nearby },
      { name: 'getPharmacy', methods: ['GET'], route: 'pharmacies/{id}', authLevel: anonymous, handler: queries.byId },
      { name: 'changePharmacyProfile', methods: ['PATCH'], route: 'pharmacies/{id}', authLevel: anonymous, handler: commands.changeProfile },
      { name: 'changeOpeningHours', methods: ['PUT'], route: 'pharmacies/{id}/opening-hours', authLevel: anonymous, handler: commands.changeOpeningHours },
      { name: 'relocatePharmacy', methods: ['POST'], route: 'pharmacies/{id}/relocation', authLevel: anonymous, handler: commands.relocate },
      { name: 'closePharmacy', methods: ['POST'], route: 'pharmacies/{id}/closure', authLevel: anonymous, handler: commands.close },
      { name: 'reopenPharmacy', methods: ['POST'], route: 'pharmacies/{id}/reopening', authLevel: anonymous, handler: commands.reopen },
      { name: 'pharmacyHistory', methods: ['GET'], route: 'pharmacies/{id}/history', authLevel: anonymous, handler: queries.history },
    ],
    eventHandlers: [projectorDeclaration(services, pharmaciesProjection)],
    timers: [],
    containers: [PHARMACIES_CONTAINER],
  };
}
