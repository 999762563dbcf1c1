import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface LocalCosmos {
  endpoint: string;
  key: string;
  stop(): Promise<void>;
}

/**
 * The Cosmos DB protocol server the local profile reads from: in-process, memory only,
 * plain HTTP on loopback (so no TLS check is ever turned off), on a free port.
 */
export async function startLocalCosmos(): Promise<LocalCosmos> {
  const { createHttpServer } = await import('@vercel/cosmosdb-server');
  const server = createHttpServer({ keepAlive: true } as Parameters<typeof createHttpServer>[0]);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    // The local server accepts any key; a random one keeps real keys out of the code.
    key: randomBytes(64).toString('base64'),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
