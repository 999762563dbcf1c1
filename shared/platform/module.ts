import { httpRoute, type FunctionModule } from '../kernel/routes';
import type { ServiceProvider } from '../kernel/services';
import { healthHandlers } from './health';
import { relayOutbox } from './outbox-relay';

/** Health endpoints and the outbox relay: what the platform runs beside the APIs. */
export function platformModule(services: ServiceProvider): FunctionModule {
  const health = healthHandlers(services);
  return {
    name: 'platform',
    routes: [
      httpRoute('health', 'GET', 'health', health.live),
      httpRoute('healthReady', 'GET', 'health/ready', health.ready),
    ],
    eventHandlers: [],
    timers: [
      {
        name: 'outboxRelay',
        schedule: '*/10 * * * * *',
        handler: async (_timer, context) => {
          await relayOutbox(await services(), context);
        },
      },
    ],
    containers: [],
  };
}
