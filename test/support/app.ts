import { HttpRequest, type HttpHandler } from '@azure/functions';
import type { FunctionModule } from '../../shared/kernel/routes';
import type { Services } from '../../shared/kernel/services';
import { appModules } from '../../shared/platform/app';
import { subscribeEventHandlers } from '../../local/host';
import { testServices } from './services';
import { ADMIN, tokenFor } from './tokens';

/** The app's modules on embedded test services, projectors subscribed to the bus. */
export async function testApp(env: Record<string, string> = {}) {
  const services = await testServices(env);
  const modules: FunctionModule[] = appModules(async () => services);
  subscribeEventHandlers(services.bus, modules, () => {});
  const adminToken = await tokenFor(services, ADMIN);
  /**
   * A declared handler, called as an administrator unless the request carries its own
   * Authorization or `as: 'anonymous'` is asked: most tests are about behaviour, the
   * authorisation matrix has its own.
   */
  const handler = (name: string, options: { as?: 'admin' | 'anonymous' } = {}): HttpHandler => {
    const route = modules.flatMap((m) => m.routes).find((r) => r.name === name);
    if (!route) throw new Error(`no route ${name}`);
    if (options.as === 'anonymous') return route.handler;
    return async (request, context) => {
      if (request.headers.has('authorization')) return route.handler(request, context);
      const body = ['GET', 'HEAD'].includes(request.method) ? '' : await request.text();
      const authorised = new HttpRequest({
        method: request.method,
        url: request.url,
        headers: { ...Object.fromEntries(request.headers), authorization: `Bearer ${adminToken}` },
        params: request.params,
        ...(body ? { body: { string: body } } : {}),
      });
      return route.handler(authorised, context);
    };
  };
  return { services, modules, handler, adminToken, settle: () => services.bus.idle?.() ?? Promise.resolve() };
}

/** The same services with the read store failing on every call: an outage. */
export function withBrokenReadStore(services: Services): Services {
  const fail = async () => {
    throw new Error('read store down');
  };
  const broken = { get: fail, getMany: fail, writeMany: fail, create: fail, replace: fail, upsert: fail, delete: fail, queryPage: fail, count: fail };
  return { ...services, readStore: { container: () => broken, ping: fail, close: async () => {} } as never };
}
