import type { HttpHandler } from '@azure/functions';
import type { FunctionModule } from '../../shared/kernel/routes';
import type { Services } from '../../shared/kernel/services';
import { appModules } from '../../shared/platform/app';
import { subscribeEventHandlers } from '../../local/host';
import { testServices } from './services';

/** The app's modules on embedded test services, projectors subscribed to the bus. */
export async function testApp(env: Record<string, string> = {}) {
  const services = await testServices(env);
  const modules: FunctionModule[] = appModules(async () => services);
  subscribeEventHandlers(services.bus, modules, () => {});
  const handler = (name: string): HttpHandler => {
    const route = modules.flatMap((m) => m.routes).find((r) => r.name === name);
    if (!route) throw new Error(`no route ${name}`);
    return route.handler;
  };
  return { services, modules, handler, settle: () => services.bus.idle?.() ?? Promise.resolve() };
}

/** The same services with the read store failing on every call: an outage. */
export function withBrokenReadStore(services: Services): Services {
  const fail = async () => {
    throw new Error('read store down');
  };
  const broken = { get: fail, create: fail, replace: fail, upsert: fail, queryPage: fail };
  return { ...services, readStore: { container: () => broken, ping: fail, close: async () => {} } as never };
}
