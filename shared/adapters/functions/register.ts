import type { app as functionsApp } from '@azure/functions';
import { DOMAIN_EVENTS_TOPIC, SERVICE_BUS_CONNECTION, servedMethods, type FunctionModule } from '../../kernel/routes';
import type { ServiceProvider } from '../../kernel/services';
import { loadSettings } from '../../kernel/settings';
import { METRICS } from '../../kernel/telemetry';
import { withRedeliveryBackoff, type RedeliveryOptions } from './redelivery';

let fromSettings: RedeliveryOptions | undefined;

/**
 * BUS_RETRY_BASE_MS and BUS_MAX_ATTEMPTS, read when a first delivery fails. Settings that
 * do not validate fail every composition anyway; the back-off then uses the defaults.
 */
function busRedelivery(): RedeliveryOptions {
  if (!fromSettings) {
    let bus: ReturnType<typeof loadSettings>['bus'];
    try {
      bus = loadSettings(process.env).bus;
    } catch {
      bus = loadSettings({}).bus;
    }
    fromSettings = { baseMs: bus.retryBaseMs, maxAttempts: bus.maxAttempts };
  }
  return fromSettings;
}

/**
 * `bus.dead_lettered` by subscription, as the other buses count it: under the Functions
 * host Service Bus dead-letters a message itself, and the handler's last failed delivery
 * is the only place the app sees it.
 */
export function countDeadLetters(services: ServiceProvider): (subscription: string) => void {
  return (subscription) =>
    void services().then(
      (composed) => composed.telemetry.metric(METRICS.deadLettered, 1, { subscription }),
      () => {},
    );
}

export interface Registration {
  /** The back-off's settings, read when a first delivery fails (BUS_RETRY_BASE_MS, BUS_MAX_ATTEMPTS by default). */
  redelivery?: () => RedeliveryOptions;
  /** Told of each dead-lettered delivery, by subscription (countDeadLetters in Azure). */
  deadLettered?: (subscription: string) => void;
}

/**
 * Registers a module's declarations with the Azure Functions host. Service Bus handlers
 * are wrapped to back off before a failed delivery is given back (see redelivery.ts).
 */
export function registerWithFunctions(
  app: typeof functionsApp,
  module: FunctionModule,
  { redelivery = busRedelivery, deadLettered = () => {} }: Registration = {},
): void {
  for (const route of module.routes) {
    app.http(route.name, { methods: servedMethods(route), route: route.route, authLevel: route.authLevel, handler: route.handler });
  }
  for (const consumer of module.eventHandlers) {
    app.serviceBusTopic(consumer.name, {
      connection: SERVICE_BUS_CONNECTION,
      topicName: DOMAIN_EVENTS_TOPIC,
      subscriptionName: consumer.subscription,
      handler: withRedeliveryBackoff(consumer.handler, () => ({ ...redelivery(), onDeadLetter: () => deadLettered(consumer.subscription) })),
    });
  }
  for (const timer of module.timers) {
    app.timer(timer.name, { schedule: timer.schedule, handler: timer.handler });
  }
}
