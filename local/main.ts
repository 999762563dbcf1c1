// `npm start`: the whole platform in one process on its embedded adapters.
import { createServer } from 'node:net';
import { findLocalReadStore, publishLocalReadStore } from '../shared/adapters/cosmos/local-server';
import { issueAccessToken } from '../shared/identity/tokens';
import { compose } from '../shared/kernel/composition';
import { rebuildAll } from '../shared/kernel/rebuild';
import type { FunctionModule } from '../shared/kernel/routes';
import type { Services } from '../shared/kernel/services';
import { loadSettings, localHostPort, SettingsError, type Settings } from '../shared/kernel/settings';
import { appModules, READ_CONTAINERS, READ_PROJECTIONS, READ_SUMMARIES } from '../shared/platform/app';
import { bootstrap } from '../shared/platform/bootstrap';
import { relayOutbox } from '../shared/platform/outbox-relay';
import { join } from 'node:path';
import { seedDemoData, seedDemoUsers } from './demo-data';
import { relayWhenTheBusReturns, startLocalHost, subscribeEventHandlers, type LocalHost } from './host';
import { webApp } from './web-app';
import { projectRoot } from '../shared/kernel/project-root';

async function main() {
  let settings: Settings;
  let services: Services;
  try {
    settings = loadSettings();
    // Before anything subscribes or publishes: a second start would take the running one's deliveries.
    await refuseASecondStart(settings);
    services = await compose(settings, READ_CONTAINERS);
    // The first administrator's settings can be refused only now, by the registration rules.
    await bootstrap(services).catch(async (error: unknown) => {
      await services.close();
      throw error;
    });
  } catch (error) {
    if (error instanceof SettingsError) return serveMisconfigured(error);
    throw error;
  }
  let unpublish = () => {};
  if (services.ephemeralReadStore) {
    const replayed = await rebuildAll(services, READ_PROJECTIONS, READ_SUMMARIES);
    console.log(`read models rebuilt from ${replayed} event(s)`);
    unpublish = publishLocalReadStore(settings.dataDir, services.ephemeralReadStore);
  }
  const modules = appModules(async () => services);
  // Once, for the seeding host and the serving one alike.
  subscribeEventHandlers(services.bus, modules, (line) => console.log(line));
  // Events a crash left unpublished reach the projectors before anything else, when the bus
  // is there. When it is not, the host serves anyway (readiness `degraded`): the events stay
  // in the outbox and the relay's timer publishes them once the bus is back.
  await relayOutbox(services, undefined, 0).catch((error) =>
    // The bus away, or the event store (a full disk refuses the marks): the message says which.
    console.error(`the pending events are not relayed yet (${error instanceof Error ? error.message : error}); the outbox relay tries again on its timer`),
  );
  relayWhenTheBusReturns(services, (line) => console.error(line));
  // The port opens once the demo data is in: a supervisor's first ready answer means a usable platform.
  if (settings.seedDemoData && (await services.eventStore.readAll(0, 1)).length === 0) {
    if (await cacheAnswers(services)) await seed(settings, services, modules);
    // Seeding without it would stop at the demo accounts (their registrations are counted in the cache)
    // with the catalogue written, and the store no longer empty: no later start would seed them.
    else console.error('the demo data is not seeded: the cache (Redis) does not answer; it is seeded at the next start while the event store is still empty');
  }
  await services.bus.idle?.().catch(() => {});
  let host: LocalHost;
  try {
    host = await startLocalHost({ modules, port: settings.localHostPort, requestLog: settings.requestLog, webApp: webApp(join(projectRoot(), 'dist', 'web')) });
  } catch (error) {
    await services.close();
    unpublish();
    throw portTakenOr(error, settings.localHostPort);
  }
  const api = host.url.replace('127.0.0.1', 'localhost');
  console.log(`Farmácias platform on ${api} (the web app on ${api.replace(/\/api$/, '/')}; events in ${settings.dataDir}/); Ctrl-C stops it`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('stopping...');
    await host.stop();
    await services.bus.idle?.();
    await services.close();
    unpublish();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** Another host on this DATA_DIR, or anything on the port, stops this start before it touches the bus. */
async function refuseASecondStart(settings: Settings) {
  if (findLocalReadStore(settings.dataDir)) {
    throw new Error(`the platform already runs on DATA_DIR ${settings.dataDir}: stop it, or set DATA_DIR to another folder`);
  }
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error) => reject(portTakenOr(error, settings.localHostPort)));
    probe.listen(settings.localHostPort, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** Whether the cache answers within CACHE_WAIT_AT_START_MS: Redis connects in the background, and may be starting too. */
async function cacheAnswers(services: Services): Promise<boolean> {
  const deadline = Date.now() + CACHE_WAIT_AT_START_MS;
  for (;;) {
    try {
      await services.cache.ping();
      return true;
    } catch {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
const CACHE_WAIT_AT_START_MS = 5_000;

/** The demo data, through the real commands, on a host of its own that no one else can reach yet. */
async function seed(settings: Settings, services: Services, modules: FunctionModule[]) {
  const seeding = await startLocalHost({ modules: modules.map((module) => ({ ...module, timers: [] })), port: 0, requestLog: false });
  try {
    // The seed acts as an administrator whose token this host signs for itself.
    const seedToken = await issueAccessToken(services, { subject: 'system:demo-seed', roles: ['admin'], scopes: [], pharmacyIds: [] });
    const seeded = await seedDemoData(seeding, seedToken);
    await seedDemoUsers(seeding, seedToken, seeded.pharmacies, join(settings.dataDir, 'demo-partner.json'));
    console.log(`seeded ${seeded.pharmacies.length} pharmacies, ${seeded.products.length} products and ${seeded.offers} offers through the commands`);
  } finally {
    await seeding.stop();
  }
}

/**
 * A configuration error answers as on Azure: liveness 200, readiness unhealthy and every
 * other route 503 problem+json naming the settings. A running process's environment does
 * not change, so here the fix takes a restart.
 */
async function serveMisconfigured(error: SettingsError) {
  // The port is read on its own: a wrong one leaves nothing to serve the error on.
  const port = localHostPort();
  const modules = appModules(() => Promise.reject(error)).map((module) => ({ ...module, timers: [] }));
  const host = await startLocalHost({ modules, port, requestLog: true }).catch((listenError: unknown) => {
    throw portTakenOr(listenError, port);
  });
  console.error(`the platform's configuration is incomplete: ${error.message}. Routes on ${host.url} answer 503 until it is fixed and the host restarted`);
  const stop = async () => {
    await host.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** A taken port, named with the setting that moves it; any other error as it is. */
function portTakenOr(error: unknown, port: number): unknown {
  if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') return error;
  return new Error(`port ${port} is taken: stop what listens there, or set LOCAL_HOST_PORT to another port`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
