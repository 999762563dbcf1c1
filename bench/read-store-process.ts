// The read store in a process of its own, for `npm run bench:commands:http`: the local
// Cosmos DB server with the platform's containers, as Cosmos DB is its own service in Azure.
// The projector process and the host reach it over loopback, so each one's CPU is what an
// instance of its own pays (the SDK's client side), and this process's CPU is the server's
// work, which in Azure is Cosmos DB's (request units), not ours. Its address goes to stdout.
import { CosmosClient } from '@azure/cosmos';
import { CosmosReadStore } from '../shared/adapters/cosmos/read-store';
import { startLocalCosmos } from '../shared/adapters/cosmos/local-server';
import { loadSettings } from '../shared/kernel/settings';
import { READ_CONTAINERS } from '../shared/platform/app';

async function main() {
  const local = await startLocalCosmos();
  const client = new CosmosClient({ endpoint: local.endpoint, key: local.key, connectionPolicy: { enableEndpointDiscovery: false } });
  const store = await CosmosReadStore.open(client, loadSettings({}).cosmos.database, READ_CONTAINERS, { createContainers: true, onClose: local.stop });
  process.on('SIGTERM', () => void store.close().then(() => process.exit(0)));
  console.log(`read store on ${local.endpoint} ${local.key}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
