import { after, before } from 'node:test';
import { startLocalHost, type LocalHost } from '../../local/host';
import { appModules } from '../../shared/platform/app';
import { testServices } from './services';
import { ADMIN, tokenFor } from './tokens';

export interface SuiteHost {
  services: Awaited<ReturnType<typeof testServices>>;
  host: LocalHost;
  /** A bearer token of the test administrator. */
  adminToken: string;
}

/**
 * The whole app over HTTP on a free port, for the suite whose body calls this: started in a
 * `before` hook (so a suite's own `before` hooks, registered after this call, find it
 * running), stopped with its services after the suite. Read its fields inside tests and hooks.
 */
export function localHostForSuite(env: Record<string, string> = {}): SuiteHost {
  const suite = {} as SuiteHost;
  before(async () => {
    suite.services = await testServices(env);
    suite.host = await startLocalHost({ modules: appModules(async () => suite.services), services: suite.services, port: 0, requestLog: false, log: () => {} });
    suite.adminToken = await tokenFor(suite.services, ADMIN);
  });
  after(async () => {
    await suite.host?.stop();
    await suite.services?.dispose();
  });
  return suite;
}
