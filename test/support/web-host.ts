import { join } from 'node:path';
import { startLocalHost, type LocalHost } from '../../local/host';
import { webApp } from '../../local/web-app';
import { projectRoot } from '../../shared/kernel/project-root';
import { appModules } from '../../shared/platform/app';
import { testServices } from './services';
import { ADMIN, tokenFor } from './tokens';

/** The local host with the built web app at / and the APIs at /api, on embedded services of its own. */
export async function startWebHost() {
  const services = await testServices();
  const host: LocalHost = await startLocalHost({
    modules: appModules(async () => services),
    services,
    port: 0,
    requestLog: false,
    webApp: webApp(join(projectRoot(), 'dist', 'web')),
  });
  const admin = { authorization: `Bearer ${await tokenFor(services, ADMIN)}` };
  return {
    services,
    host,
    /** The site's origin, for the browser. */
    site: host.url.replace(/\/api$/, ''),
    /** Runs a request as an administrator through the host's router (seeding). */
    asAdmin: (method: string, path: string, body?: unknown) => host.dispatch(method, path, body, admin),
    async stop() {
      await host.stop();
      await services.dispose();
    },
  };
}
