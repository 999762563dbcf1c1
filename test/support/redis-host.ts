import type { RedisCache } from '../../shared/adapters/redis/cache';
import type { Services } from '../../shared/kernel/services';
import { appModules } from '../../shared/platform/app';
import { startLocalHost, type LocalHost } from '../../local/host';
import { testServices } from './services';
import { timedCaller } from './timed-call';
import { ADMIN, tokenFor } from './tokens';

export interface RedisHost {
  services: Services & { dispose(): Promise<void> };
  host: LocalHost;
  /** An administrator's calls, each bounded at 8 s. */
  asAdmin: ReturnType<typeof timedCaller>;
  stop(): Promise<void>;
}

/** The platform on the embedded profile but for its cache, Redis at `redisUrl` under `keyPrefix`, served on a spare port. */
export async function hostOnRedis(redisUrl: string, keyPrefix: string): Promise<RedisHost> {
  const services = await testServices({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: keyPrefix });
  await (services.cache as RedisCache).ready();
  const host = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {} });
  const asAdmin = timedCaller(host.url, await tokenFor(services, ADMIN), 8_000);
  return {
    services,
    host,
    asAdmin,
    async stop() {
      await host.stop();
      await services.dispose();
    },
  };
}
