import type { app as functionsApp } from '@azure/functions';
import { DOMAIN_EVENTS_TOPIC, SERVICE_BUS_CONNECTION, type FunctionModule } from '../../kernel/routes';

/** Registers a module's declarations with the Azure Functions host. */
export function registerWithFunctions(app: typeof functionsApp, module: FunctionModule): void {
  for (const route of module.routes) {
    app.http(route.name, { methods: route.methods, route: route.route, authLevel: route.authLevel, handler: route.handler });
  }
  for (const consumer of module.eventHandlers) {
    app.serviceBusTopic(consumer.name, {
      connection: SERVICE_BUS_CONNECTION,
      topicName: DOMAIN_EVENTS_TOPIC,
      subscriptionName: consumer.subscription,
      handler: consumer.handler,
    });
  }
  for (const timer of module.timers) {
    app.timer(timer.name, { schedule: timer.schedule, handler: timer.handler });
  }
}
