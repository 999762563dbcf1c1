import { httpRoute, type FunctionModule } from '../kernel/routes';
import type { ServiceProvider } from '../kernel/services';
import { healthHandlers } from './health';
import { relayOutbox } from './outbox-relay';
import { purgeIdempotencyRecords } from '../kernel/idempotency';

/** Health endpoints, the outbox relay and the idempotency records' purge: what the platform runs beside the APIs. */
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
      {
        // Idempotency records live 24 h (IDEMPOTENCY_RECORD_TTL_MS); reads already ignore expired ones.
        name: 'purgeIdempotencyRecords',
        schedule: '0 17 * * * *',
        handler: async (_timer, context) => {
          const purged = await purgeIdempotencyRecords(await services());
          if (purged > 0) context.log(`purged ${purged} expired idempotency record(s)`);
        },
      },
    ],
    containers: [],
  };
}
