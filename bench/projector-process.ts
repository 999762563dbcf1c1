// The projectors in a process of their own, as Azure runs them on their own instances, for
// `npm run bench:commands:http`. Its read store is the one at COSMOS_ENDPOINT (the process of
// bench/read-store-process.ts), or without it an in-process server it starts. It follows the
// event store in DATA_DIR the way a change feed would: each batch of new events goes through
// an in-process bus to the declared event handlers, and the next batch is read once they are
// done. Its address goes to stdout; then it takes lines on stdin:
//   pause / resume   stop and restart following (resume answers `drained <events> <ms>`
//                    once it has caught up, the backlog's size and the time it took)
//   sync             answers `synced <position>` once every event so far is projected
//   verify <json>    a { pharmacyId: version } map: answers `verified <ok> <of> <events>`,
//                    how many pharmacies the read model shows at that version or later
import { createInterface } from 'node:readline';
import { compose } from '../shared/kernel/composition';
import type { StoredEvent } from '../shared/kernel/ports';
import { loadSettings } from '../shared/kernel/settings';
import { appModules, READ_CONTAINERS } from '../shared/platform/app';
import { PHARMACIES_CONTAINER } from '../shared/pharmacies/projection';
import { subscribeEventHandlers } from '../local/host';

const BATCH = 500;
const POLL_MS = 5;

async function main() {
  // With COSMOS_ENDPOINT, the read store of bench/read-store-process.ts; without, this
  // process starts one in process and creates its containers.
  const services = await compose(loadSettings({ ...process.env, REQUEST_LOG: 'false', SEED_DEMO_DATA: 'false' }), READ_CONTAINERS);
  const modules = appModules(async () => services);
  subscribeEventHandlers(services.bus, modules, (line) => console.error(line));

  let after = 0;
  let projected = 0;
  let paused = false;
  let resumedAt: { time: number; projected: number } | undefined;
  const onCaughtUp: (() => void)[] = [];
  let wake = () => {};

  const project = async (batch: StoredEvent[]) => {
    await services.bus.publish(batch);
    await services.bus.idle?.();
    after = batch[batch.length - 1].position;
    projected += batch.length;
  };
  const follow = async () => {
    for (;;) {
      if (paused) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      const batch = await services.eventStore.readAll(after, BATCH);
      if (batch.length > 0) {
        await project(batch);
        continue;
      }
      if (resumedAt) {
        console.log(`drained ${projected - resumedAt.projected} ${(performance.now() - resumedAt.time).toFixed(0)}`);
        resumedAt = undefined;
      }
      for (const resolve of onCaughtUp.splice(0)) resolve();
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };

  const pharmacies = services.readStore.container<{ id: string; version: number }>(PHARMACIES_CONTAINER.name);
  const verify = async (expected: Record<string, number>) => {
    let ok = 0;
    for (const [id, version] of Object.entries(expected)) if (((await pharmacies.get(id))?.document.version ?? 0) >= version) ok += 1;
    return `verified ${ok} ${Object.keys(expected).length} ${projected}`;
  };

  createInterface({ input: process.stdin }).on('line', (line) => {
    const [word, ...rest] = line.split(' ');
    if (word === 'pause') paused = true;
    else if (word === 'resume') {
      paused = false;
      resumedAt = { time: performance.now(), projected };
      wake();
    } else if (word === 'sync') onCaughtUp.push(() => console.log(`synced ${after}`));
    else if (word === 'verify') onCaughtUp.push(() => void verify(JSON.parse(rest.join(' '))).then((answer) => console.log(answer)));
  });
  process.on('SIGTERM', () => void services.close().then(() => process.exit(0)));

  const { endpoint, key } = services.ephemeralReadStore ?? { endpoint: process.env.COSMOS_ENDPOINT, key: process.env.COSMOS_KEY };
  console.log(`projectors on ${endpoint} ${key}`);
  await follow();
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
