import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { deletePlatformTopology } from '../support/rabbitmq-topology';
import { timedCaller } from '../support/timed-call';
import { CosmosClient } from '@azure/cosmos';
import { startLocalCosmos, type LocalCosmos } from '../../shared/adapters/cosmos/local-server';
import { CosmosReadStore } from '../../shared/adapters/cosmos/read-store';
import type { RedisCache } from '../../shared/adapters/redis/cache';
import { DATABASE_RETRY_AFTER_SECONDS, ServiceUnavailable } from '../../shared/kernel/errors';
import type { EventStore } from '../../shared/kernel/ports';
import { boundedDatabase } from '../../shared/kernel/composition';
import { appModules, READ_CONTAINERS } from '../../shared/platform/app';
import { startLocalHost, type LocalHost } from '../../local/host';
import { ContractChecker } from '../support/contract';
import { pharmacyBody } from '../support/fixtures';
import { reachable } from '../support/reachable';
import { testServices } from '../support/services';
import { TcpProxy } from '../support/tcp-proxy';
import { ADMIN, tokenFor } from '../support/tokens';

/**
 * Issue 12, item 5: readiness said `degraded` (200) while reads or commands were in fact
 * unavailable. Here every dependency is taken away in turn, down (connections refused) and
 * frozen (connections open, nothing answers), under a running host; what readiness claims
 * for each capability is then compared with what requests get.
 */
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const PASSWORD = 'a long and private passphrase';
/** Beyond this a request counts as held: the capability is not there. */
const HELD_MS = 6_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Dependency = 'cache' | 'bus' | 'readStore' | 'eventStore';
type Mode = 'down' | 'frozen';
type Capabilities = { reads: string; commands: string; signIns: string };

function servicesMissing(): string | false {
  if (process.env.CI === 'true') return false;
  const missing = [reachable(redisUrl) ? '' : `Redis (REDIS_URL, ${redisUrl})`, reachable(rabbitUrl) ? '' : `RabbitMQ (RABBITMQ_URL)`].filter(Boolean);
  return missing.length ? `needs ${missing.join(' and ')}: run scripts/services.sh (required under CI=true)` : false;
}

/**
 * An event store that can be taken away: calls fail as the Azure SQL adapter's do once its
 * retries give up (ServiceUnavailable: test/adapters/azure-sql-event-store), or never
 * settle until it returns (frozen).
 */
function switchable(store: EventStore) {
  let state: 'up' | Mode = 'up';
  let thawed: () => void = () => {};
  let thaw = Promise.resolve();
  const wrapped = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || property === 'close') return value;
      return async (...args: unknown[]) => {
        if (state === 'down') throw new ServiceUnavailable('the database is unavailable for a moment; try again shortly', DATABASE_RETRY_AFTER_SECONDS);
        if (state === 'frozen') await thaw;
        return value.apply(target, args);
      };
    },
  });
  return {
    wrapped,
    set(next: 'up' | Mode) {
      if (next === 'frozen') thaw = new Promise((resolve) => (thawed = resolve));
      if (next !== 'frozen') thawed();
      state = next;
    },
  };
}

/** Every answer under a fault is checked against the OpenAPI documents too: a 503 must be a declared one. */
const contract = ContractChecker.load();
const violations: string[] = [];

async function hostWithEveryLinkCuttable(cosmos: LocalCosmos, database: string) {
  const redis = new URL(redisUrl);
  const rabbit = new URL(rabbitUrl);
  const proxies = {
    cache: await TcpProxy.start(redis.hostname, Number(redis.port || 6379)),
    bus: await TcpProxy.start(rabbit.hostname, Number(rabbit.port || 5672)),
    readStore: await TcpProxy.start('127.0.0.1', Number(new URL(cosmos.endpoint).port)),
  };
  const id = randomUUID().slice(0, 8);
  const env = {
    REDIS_URL: `redis://127.0.0.1:${proxies.cache.port}`,
    REDIS_KEY_PREFIX: `test-ready-${id}:`,
    RABBITMQ_URL: `amqp://${rabbit.username}:${rabbit.password}@127.0.0.1:${proxies.bus.port}`,
    RABBITMQ_EXCHANGE: `test-ready-${id}`,
    RABBITMQ_QUEUE_PREFIX: `test-ready-${id}.`,
    COSMOS_ENDPOINT: `http://127.0.0.1:${proxies.readStore.port}`,
    COSMOS_KEY: cosmos.key,
    COSMOS_DATABASE: database,
    READ_STORE_TIMEOUT_MS: '500',
    READ_STORE_BREAKER_THRESHOLD: '2',
    READ_STORE_BREAKER_HALF_OPEN_MS: '500',
    DATABASE_CALL_TIMEOUT_MS: '1500',
  };
  const composed = await testServices(env);
  await (composed.cache as RedisCache).ready();
  // Taken away beneath the composition's call deadline, where a real server fails or hangs.
  const eventStore = switchable(composed.eventStore);
  const services = { ...composed, eventStore: boundedDatabase(composed.settings, eventStore.wrapped, composed.dataKeys).eventStore };
  const host: LocalHost = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {} });
  const token = await tokenFor(services, ADMIN);
  const call = timedCaller(host.url, token, HELD_MS, async ({ method, path, status, contentType, text }) => {
    const found = (await contract).check({ method, path: `/${path.split('?')[0]}`, status, contentType, body: text });
    violations.push(...found.map((violation) => `${violation.operation}: ${violation.exchange}: ${violation.problem}`));
  });
  const take = (dependency: Dependency, mode: Mode) => {
    if (dependency === 'eventStore') return eventStore.set(mode);
    if (mode === 'down') proxies[dependency].cut();
    else proxies[dependency].freeze();
  };
  const give = (dependency: Dependency) => {
    if (dependency === 'eventStore') return eventStore.set('up');
    proxies[dependency].restore();
    proxies[dependency].thaw();
  };
  const stop = async () => {
    for (const dependency of Object.keys(proxies) as Dependency[]) give(dependency);
    give('eventStore');
    await host.stop();
    await composed.dispose();
    for (const proxy of Object.values(proxies)) await proxy.stop();
    const subscriptions = appModules(async () => services).flatMap((module) => module.eventHandlers.map((handler) => handler.subscription));
    await deletePlatformTopology(rabbitUrl, env, subscriptions);
  };
  return { services, call, take, give, stop };
}

type Host = Awaited<ReturnType<typeof hostWithEveryLinkCuttable>>;

/**
 * What requests get, in readiness's words. Reads: unavailable when a read of a cached
 * document fails; degraded when they answer with less (a document never read fails, a
 * copy is stale, the cache serves no hit, or a command's change does not show within 2 s).
 */
async function observe(app: Host, warmId: string, coldId: string, email: string): Promise<Capabilities & { detail: string }> {
  const warm = await app.call('GET', `pharmacies/${warmId}`);
  const again = await app.call('GET', `pharmacies/${warmId}`);
  const cold = await app.call('GET', `pharmacies/${coldId}`);
  const name = `Drogaria ${randomUUID().slice(0, 6)}`;
  const command = await app.call('PATCH', `pharmacies/${warmId}`, { tradeName: name });
  const login = await app.call('POST', 'auth/token', new URLSearchParams({ grant_type: 'password', username: email, password: PASSWORD }).toString(), { authorization: '' });
  const shown = command.status === 200 ? await app.call('GET', `pharmacies/${warmId}`, undefined, { 'x-min-version': String(command.body.version) }) : undefined;

  const answered = (status: number, expected: number) => {
    if (status === expected) return 'available';
    if (status === 503) return 'unavailable';
    throw new Error(`neither ${expected} nor 503 but ${status}`);
  };
  const lessened =
    cold.status !== 200 ||
    warm.headers.get('x-cache') === 'stale' ||
    again.headers.get('x-cache') !== 'hit' ||
    (shown !== undefined && shown.body?.tradeName !== name);
  const reads = warm.status !== 200 ? 'unavailable' : lessened ? 'degraded' : 'available';
  const detail = `reads ${warm.status}/${warm.headers.get('x-cache')} ${again.status}/${again.headers.get('x-cache')} cold ${cold.status} (${Math.max(warm.ms, again.ms, cold.ms).toFixed(0)} ms); command ${command.status} (${command.ms.toFixed(0)} ms); login ${login.status} (${login.ms.toFixed(0)} ms); shown ${shown?.body?.tradeName === name}`;
  for (const answer of [warm, again, cold, command, login]) {
    if (answer.status >= 500) assert.equal(answer.status, 503, `a failure is a 503, never a ${answer.status}: ${detail}`);
    if (answer.status === 503) assert.ok(Number(answer.headers.get('retry-after')) > 0, `a 503 says when to come back: ${detail}`);
  }
  return { reads, commands: answered(command.status, 200), signIns: answered(login.status, 200), detail };
}

const FAULTS: [Dependency, Mode][] = [
  ['cache', 'down'],
  ['cache', 'frozen'],
  ['bus', 'down'],
  ['bus', 'frozen'],
  ['readStore', 'down'],
  ['readStore', 'frozen'],
  ['eventStore', 'down'],
  ['eventStore', 'frozen'],
];

suiteNeeding('readiness under each fault says what requests get (issue 12, item 5)', servicesMissing(), () => {
  let cosmos: LocalCosmos;
  before(async () => {
    cosmos = await startLocalCosmos();
  });
  after(async () => {
    await cosmos.stop();
  });

  for (const [dependency, mode] of FAULTS) {
    it(`${dependency} ${mode}`, async (t) => {
      const direct = new CosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key, connectionPolicy: { enableEndpointDiscovery: false } });
      const app = await (async () => {
        // The containers exist before the app opens the store (in Azure the Bicep makes them).
        const database = `ready-probe-${randomUUID().slice(0, 8)}`;
        await (await CosmosReadStore.open(direct, database, READ_CONTAINERS, { createContainers: true })).close();
        return hostWithEveryLinkCuttable(cosmos, database);
      })().catch(async (error) => {
        direct.dispose();
        throw error;
      });
      try {
        const [warm, cold] = [await app.call('POST', 'pharmacies', pharmacyBody()), await app.call('POST', 'pharmacies', pharmacyBody())];
        assert.deepEqual([warm.status, cold.status], [201, 201]);
        const email = `${randomUUID()}@exemplo.com.br`;
        assert.equal((await app.call('POST', 'auth/register', { email, password: PASSWORD, name: 'Dona Prontidão' }, { authorization: '' })).status, 201);
        await app.services.bus.idle?.();
        const healthy = await app.call('GET', 'health/ready');
        assert.deepEqual([healthy.status, healthy.body.status], [200, 'healthy'], JSON.stringify(healthy.body));
        assert.equal((await app.call('GET', `pharmacies/${warm.body.id}`)).status, 200, 'cached before the fault');

        app.take(dependency, mode);
        const ready = await app.call('GET', 'health/ready');
        assert.ok(ready.ms < 2_500, `readiness took ${ready.ms.toFixed(0)} ms`);
        assert.equal(ready.body.checks[dependency].status, 'unhealthy', JSON.stringify(ready.body.checks));
        const observed = await observe(app, warm.body.id, cold.body.id, email);
        t.diagnostic(`${dependency} ${mode}: readiness ${ready.status} ${ready.body.status} ${JSON.stringify(ready.body.capabilities)}; ${observed.detail}`);
        const { detail, ...capabilities } = observed;
        assert.deepEqual(ready.body.capabilities, capabilities, detail);
        assert.equal(ready.status, capabilities.reads === 'unavailable' || capabilities.commands === 'unavailable' ? 503 : 200);
        assert.deepEqual(violations.splice(0), [], 'answers under the fault that the OpenAPI documents do not declare');

        app.give(dependency);
        const started = Date.now();
        let back = await app.call('GET', 'health/ready');
        while (back.body?.status !== 'healthy' && Date.now() - started < 15_000) {
          await sleep(250);
          back = await app.call('GET', 'health/ready');
        }
        assert.equal(back.body?.status, 'healthy', `not healthy again 15 s after ${dependency} returned: ${JSON.stringify(back.body)}`);
        t.diagnostic(`${dependency} back: healthy after ${Date.now() - started} ms`);
      } finally {
        await app.stop();
        direct.dispose();
      }
    });
  }
});
