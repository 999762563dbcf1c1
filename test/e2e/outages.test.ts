import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { CosmosClient } from '@azure/cosmos';
import { startLocalCosmos, type LocalCosmos } from '../../shared/adapters/cosmos/local-server';
import { CosmosReadStore } from '../../shared/adapters/cosmos/read-store';
import { METRICS, MetricsAggregator } from '../../shared/kernel/telemetry';
import { appModules, READ_CONTAINERS } from '../../shared/platform/app';
import { startLocalHost, type LocalHost } from '../../local/host';
import { pharmacyBody } from '../support/fixtures';
import { skipUnlessReachable } from '../support/reachable';
import { testServices } from '../support/services';
import { TcpProxy } from '../support/tcp-proxy';
import { ADMIN, tokenFor } from '../support/tokens';

/** The app on a local host over HTTP, its link to one dependency through a proxy the test can cut. */
async function hostWith(env: Record<string, string>) {
  const services = await testServices({ READ_STORE_TIMEOUT_MS: '300', READ_STORE_BREAKER_THRESHOLD: '3', READ_STORE_BREAKER_HALF_OPEN_MS: '300', ...env });
  const host: LocalHost = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {} });
  const token = await tokenFor(services, ADMIN);
  const call = async (method: string, path: string, body?: unknown) => {
    const started = performance.now();
    const response = await fetch(`${host.url}/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, ms: performance.now() - started };
  };
  return { services, call, stop: async () => (await host.stop(), await services.dispose()) };
}

describe('the read store stops under a running host', () => {
  let cosmos: LocalCosmos;
  let proxy: TcpProxy;
  let app: Awaited<ReturnType<typeof hostWith>>;
  before(async () => {
    cosmos = await startLocalCosmos();
    const direct = new CosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key, connectionPolicy: { enableEndpointDiscovery: false } });
    await (await CosmosReadStore.open(direct, 'farmacias', READ_CONTAINERS, { createContainers: true })).close();
    proxy = await TcpProxy.start('127.0.0.1', Number(new URL(cosmos.endpoint).port));
    // Fresh copies for no time at all: every read goes to the store, so its outage shows.
    app = await hostWith({ COSMOS_ENDPOINT: `http://127.0.0.1:${proxy.port}`, COSMOS_KEY: cosmos.key, CACHE_FRESH_SECONDS: '0' });
  });
  after(async () => {
    await app.stop();
    await proxy.stop();
    await cosmos.stop();
  });

  it('answers from stale copies (x-cache: stale), 503 with Retry-After fast where it has none, reports degraded, and recovers', async () => {
    const registered = await app.call('POST', 'pharmacies', pharmacyBody());
    assert.equal(registered.status, 201);
    const id = registered.body.id;
    await app.services.bus.idle?.();
    const before = await app.call('GET', `pharmacies/${id}`);
    assert.deepEqual([before.status, before.headers.get('x-cache')], [200, 'miss']);

    proxy.cut();
    const stale = await app.call('GET', `pharmacies/${id}`);
    assert.deepEqual([stale.status, stale.headers.get('x-cache'), stale.body.id], [200, 'stale', id]);
    for (let i = 0; i < 3; i++) await app.call('GET', `pharmacies/${id}`);
    const unknown = await app.call('GET', 'pharmacies/7a1b6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11');
    assert.equal(unknown.status, 503);
    assert.equal(unknown.headers.get('retry-after'), '5');
    assert.match(unknown.headers.get('content-type') ?? '', /problem\+json/);
    assert.ok(unknown.ms < 500, `503 took ${unknown.ms.toFixed(0)} ms with the circuit open`);
    const ready = await app.call('GET', 'health/ready');
    assert.deepEqual([ready.status, ready.body.status, ready.body.checks.readStore.status], [200, 'degraded', 'unhealthy']);
    const figures = (app.services.telemetry as MetricsAggregator).peek();
    assert.ok(figures.some((f) => f.name === METRICS.circuitState && f.dimensions.state === 'Open'), 'the circuit opening is measured');
    assert.ok(figures.some((f) => f.name === METRICS.cacheLookup && f.dimensions.result === 'stale'), 'stale answers are counted');

    proxy.restore();
    await new Promise((resolve) => setTimeout(resolve, 400));
    let recovered = await app.call('GET', `pharmacies/${id}`);
    for (let i = 0; i < 20 && recovered.headers.get('x-cache') !== 'miss'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      recovered = await app.call('GET', `pharmacies/${id}`);
    }
    assert.deepEqual([recovered.status, recovered.headers.get('x-cache')], [200, 'miss'], 'fresh reads once the store is back');
    assert.equal((await app.call('GET', 'health/ready')).body.status, 'healthy');
  });
});

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

suiteNeeding('Redis is cut under a running host', skipUnlessReachable('Redis', 'REDIS_URL', redisUrl), () => {
  let proxy: TcpProxy;
  let app: Awaited<ReturnType<typeof hostWith>>;
  before(async () => {
    const target = new URL(redisUrl);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 6379));
    app = await hostWith({ REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
  });
  after(async () => {
    await app.stop();
    await proxy.stop();
  });

  it('keeps answering queries and commands from the stores, reports degraded, and uses Redis again when it is back', async () => {
    const registered = await app.call('POST', 'pharmacies', pharmacyBody());
    const id = registered.body.id;
    await app.services.bus.idle?.();
    assert.equal((await app.call('GET', `pharmacies/${id}`)).status, 200);

    proxy.cut();
    const read = await app.call('GET', `pharmacies/${id}`);
    assert.deepEqual([read.status, read.body.id], [200, id]);
    assert.ok(read.ms < 1000, `a read without Redis took ${read.ms.toFixed(0)} ms`);
    assert.equal((await app.call('GET', 'pharmacies?state=SP')).status, 200);
    assert.equal((await app.call('PATCH', `pharmacies/${id}`, { tradeName: 'Drogaria Sem Cache' })).status, 200);
    const ready = await app.call('GET', 'health/ready');
    assert.deepEqual([ready.body.status, ready.body.checks.cache.status], ['degraded', 'unhealthy']);

    proxy.restore();
    let healthy = false;
    for (let i = 0; i < 50 && !healthy; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      healthy = (await app.call('GET', 'health/ready')).body.status === 'healthy';
    }
    assert.ok(healthy, 'Redis reconnected by itself');
  });
});
