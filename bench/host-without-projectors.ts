// The local host with no projector in its process, for `npm run bench:commands:http`: the
// same modules, routes and timers as `npm start`, its read store at COSMOS_ENDPOINT (the
// projector process's), and no event handler subscribed to its bus, so a command's events
// go to the outbox and the event store, where the projector process follows them. The
// demo data is seeded through the commands as `npm start` does; an administrator's token
// for the benchmark goes to stdout with the address.
import { issueAccessToken } from '../shared/identity/tokens';
import { compose } from '../shared/kernel/composition';
import { loadSettings } from '../shared/kernel/settings';
import { appModules, READ_CONTAINERS } from '../shared/platform/app';
import { seedDemoData } from '../local/demo-data';
import { startLocalHost } from '../local/host';

async function main() {
  const settings = loadSettings({ ...process.env, REQUEST_LOG: 'false' });
  const services = await compose(settings, READ_CONTAINERS);
  const modules = appModules(async () => services);
  const token = await issueAccessToken(services, { subject: 'system:bench', roles: ['admin'], scopes: [], pharmacyIds: [] });
  if ((await services.eventStore.readAll(0, 1)).length === 0) {
    const seeding = await startLocalHost({ modules: modules.map((module) => ({ ...module, timers: [] })), port: 0, requestLog: false });
    await seedDemoData(seeding, token);
    await seeding.stop();
  }
  // No `services` here: startLocalHost would subscribe the projectors to this process's bus.
  const host = await startLocalHost({ modules, port: settings.localHostPort, requestLog: false });
  process.on('SIGTERM', () => void host.stop().then(() => services.close()).then(() => process.exit(0)));
  console.log(`token ${token}`);
  console.log(`host on ${host.url}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
