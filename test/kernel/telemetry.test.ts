import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { METRICS, LogTelemetry, MetricsAggregator } from '../../shared/kernel/telemetry';
import { appModules } from '../../shared/platform/app';
import { startLocalHost, type LocalHost } from '../../local/host';
import { pharmacyBody } from '../support/fixtures';
import { testServices } from '../support/services';
import { ADMIN, tokenFor } from '../support/tokens';

describe('metric sinks', () => {
  it('aggregate per name and dimensions, whatever the order of the dimensions', () => {
    const metrics = new MetricsAggregator();
    metrics.metric('m', 2, { a: '1', b: '2' });
    metrics.metric('m', 6, { b: '2', a: '1' });
    metrics.metric('m', 1, { a: 'other' });
    const [first, second] = metrics.drain();
    assert.deepEqual(first, { name: 'm', dimensions: { a: '1', b: '2' }, count: 2, sum: 8, min: 2, max: 6 });
    assert.equal(second.count, 1);
    assert.deepEqual(metrics.drain(), [], 'drained');
  });

  it('write one JSON line per series when flushed', async () => {
    const lines: string[] = [];
    const telemetry = new LogTelemetry((line) => lines.push(line), 60_000);
    telemetry.metric(METRICS.projectionLag, 3.14159, { projection: 'pharmaciesProjector' });
    telemetry.metric(METRICS.projectionLag, 5, { projection: 'pharmaciesProjector' });
    await telemetry.flush();
    telemetry.stop();
    assert.deepEqual(JSON.parse(lines[0]), { level: 'info', metric: 'projection.lag_ms', projection: 'pharmaciesProjector', count: 2, avg: 4.07, min: 3.14, max: 5 });
  });
});

describe('what the platform measures and correlates, over a running host', () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  let host: LocalHost;
  const logs: string[] = [];
  let token: string;
  before(async () => {
    services = await testServices();
    host = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: true, log: (line) => logs.push(line) });
    token = await tokenFor(services, ADMIN);
  });
  after(async () => {
    await host.stop();
    await services.dispose();
  });
  const figures = () => (services.telemetry as MetricsAggregator).peek();
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${host.url}/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });

  it('carries the caller\'s trace from the request into the events and the request log line', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await call('POST', 'pharmacies', pharmacyBody(), { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    const { id } = (await response.json()) as { id: string };
    const [event] = await services.eventStore.readStream(`pharmacy-${id}`);
    assert.match(event.metadata.traceparent ?? '', new RegExp(`^00-${traceId}-[\\da-f]{16}-01$`), 'same trace, the invocation\'s own span');
    assert.notEqual(event.metadata.traceparent, `00-${traceId}-00f067aa0ba902b7-01`);
    assert.equal(event.metadata.correlationId, traceId);
    const line = logs.map((entry) => JSON.parse(entry)).find((entry) => entry.method === 'POST' && entry.path === '/api/pharmacies');
    assert.equal(line.traceId, traceId);
  });

  it('measures commands by type and outcome, events published, projection lag and cache lookups', async () => {
    const response = await call('POST', 'pharmacies', pharmacyBody());
    const { id } = (await response.json()) as { id: string };
    await services.bus.idle?.();
    assert.equal((await call('PATCH', 'pharmacies/7a1b6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11', { tradeName: 'Nada' })).status, 404);
    await call('GET', `pharmacies/${id}`);
    await call('GET', `pharmacies/${id}`);
    const find = (name: string, dimensions: Record<string, string>) =>
      figures().find((figure) => figure.name === name && Object.entries(dimensions).every(([key, value]) => figure.dimensions[key] === value));
    assert.ok((find(METRICS.commandDuration, { command: 'registerPharmacy', outcome: 'accepted' })?.count ?? 0) >= 1);
    assert.ok(find(METRICS.commandDuration, { command: 'changePharmacyProfile', outcome: 'rejected-404' }));
    assert.ok((find(METRICS.eventsPublished, { via: 'command' })?.sum ?? 0) >= 2);
    const lag = find(METRICS.projectionLag, { projection: 'pharmaciesProjector' });
    assert.ok(lag && lag.min >= 0 && lag.max < 5_000, 'projection lag measured in milliseconds');
    assert.ok(find(METRICS.cacheLookup, { result: 'miss' }) && find(METRICS.cacheLookup, { result: 'hit' }));
  });
});
