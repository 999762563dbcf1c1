import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalHost, type LocalHost } from '../local/host';
import type { WebApp } from '../local/web-app';
import { issueAccessToken } from '../shared/identity/tokens';
import { compose } from '../shared/kernel/composition';
import type { Services } from '../shared/kernel/services';
import { loadSettings } from '../shared/kernel/settings';
import { appModules, READ_CONTAINERS } from '../shared/platform/app';

export interface LocalPlatform {
  host: LocalHost;
  services: Services;
  /** Headers that make a request an administrator's. */
  asAdmin: Record<string, string>;
}

/**
 * Runs `work` against the whole platform in this process, on the embedded profile in a
 * folder of its own (removed after), served by the local host on a spare port and called
 * through its in-process dispatch. `wrap` may put something around the composed services
 * (a recorder) before the modules see them.
 */
export async function withLocalPlatform(
  name: string,
  env: Record<string, string>,
  work: (platform: LocalPlatform) => Promise<void>,
  wrap: (services: Services) => Services = (services) => services,
  webApp?: WebApp,
): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), `farmacias-${name}-`));
  const composed = await compose(loadSettings({ DATA_DIR: dataDir, REQUEST_LOG: 'false', SEED_DEMO_DATA: 'false', ...env }), READ_CONTAINERS);
  const services = wrap(composed);
  const host = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {}, webApp });
  try {
    const token = await issueAccessToken(services, { subject: 'system:bench', roles: ['admin'], scopes: [], pharmacyIds: [] });
    await work({ host, services, asAdmin: { authorization: `Bearer ${token}` } });
  } finally {
    await host.stop();
    await composed.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A bench's entry point: its error said in one line, exit 1. */
export function runBench(main: () => Promise<void>): void {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
