// The read store in a process of its own, for `npm run bench:commands:http`: the local
// Cosmos DB server with the platform's containers, as Cosmos DB is its own service in Azure.
// The projector process and the host reach it over loopback, so each one's CPU is what an
// instance of its own pays (the SDK's client side), and this process's CPU is the server's
// work, which in Azure is Cosmos DB's (request units), not ours. Its address goes to stdout.
import { openLocalReadStore } from '../shared/kernel/composition';
import { loadSettings } from '../shared/kernel/settings';
import { READ_CONTAINERS } from '../shared/platform/app';

async function main() {
  const { readStore, ephemeral } = await openLocalReadStore(loadSettings({}).cosmos.database, READ_CONTAINERS);
  process.on('SIGTERM', () => void readStore.close().then(() => process.exit(0)));
  console.log(`read store on ${ephemeral.endpoint} ${ephemeral.key}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
