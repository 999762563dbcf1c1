import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { newSecret } from '../../tools/new-secret';
import { join } from 'node:path';
import { compose } from '../../shared/kernel/composition';
import { loadSettings, SettingsError } from '../../shared/kernel/settings';
import { healthHandlers } from '../../shared/platform/health';
import { testApp, withBrokenReadStore } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';

describe('readiness', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  it('is degraded, still 200, when only the read store is down (queries can serve stale copies)', async () => {
    const health = healthHandlers(async () => withBrokenReadStore(app.services));
    const response = await invoke(health.ready);
    assert.equal(response.status, 200);
    assert.equal(response.body.status, 'degraded');
    assert.deepEqual(response.body.checks.readStore.status, 'unhealthy');
    assert.equal(response.body.checks.readStore.error, 'unreachable', 'no internal message');
    assert.deepEqual(response.body.capabilities, { reads: 'degraded', commands: 'available', signIns: 'available' });
  });

  it("logs a dependency's cause for the operator, never answers it (a refused credential or a wrong endpoint is otherwise nowhere)", async () => {
    const response = await invoke(healthHandlers(async () => withBrokenReadStore(app.services)).ready);
    assert.doesNotMatch(JSON.stringify(response.body), /read store down/, 'no internals in the answer');
    assert.match(response.logs.join('\n'), /readiness: readStore unreachable.*read store down/);
    const healthy = await invoke(healthHandlers(async () => app.services).ready);
    assert.deepEqual(healthy.logs, [], 'nothing logged while all answer');
  });

  it('is unhealthy, 503, when the read store and the cache are both down: no stale copy is left to answer a read', async () => {
    const broken = withBrokenReadStore(app.services);
    const cacheDown = { ...broken.cache, ping: async () => Promise.reject(new Error('connection refused')) };
    const health = healthHandlers(async () => ({ ...broken, cache: cacheDown, counters: cacheDown }));
    const response = await invoke(health.ready);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '5');
    assert.deepEqual(response.body.capabilities, { reads: 'unavailable', commands: 'available', signIns: 'unavailable' });
  });

  it('is unhealthy, 503, when the event store is down (commands cannot work)', async () => {
    const brokenStore = { ...app.services.eventStore, ping: async () => Promise.reject(new Error('disk gone at /secret/path')) };
    const health = healthHandlers(async () => ({ ...app.services, eventStore: brokenStore }));
    const response = await invoke(health.ready);
    assert.equal(response.status, 503);
    assert.equal(response.body.status, 'unhealthy');
    assert.deepEqual(response.body.capabilities, { reads: 'available', commands: 'unavailable', signIns: 'unavailable' });
    assert.doesNotMatch(JSON.stringify(response.body), /secret/);
  });
});

describe('the read store circuit', () => {
  it('names the failure that opened it in the log line that says so', async () => {
    const app = await testApp({ READ_STORE_BREAKER_THRESHOLD: '2' });
    const lines: string[] = [];
    const write = console.error;
    console.error = (line: string) => lines.push(line);
    try {
      for (let i = 0; i < 2; i++) await app.services.guardRead(() => Promise.reject(new Error('Request blocked by the data-plane role'))).catch(() => {});
    } finally {
      console.error = write;
      await app.services.dispose();
    }
    assert.ok(
      lines.some((line) => /circuit opened.*the last failure: Request blocked by the data-plane role/.test(line)),
      lines.join('\n'),
    );
  });
});

describe('two Redis', () => {
  it('each says which it is when it cannot be reached: the counters’ outage is not the cache’s', async () => {
    const lines: string[] = [];
    const write = console.error;
    console.error = (line: string) => lines.push(line);
    // Nothing listens on port 1: the connection is refused at once.
    const app = await testApp({ REDIS_COUNTERS_URL: 'redis://127.0.0.1:1' });
    try {
      const deadline = Date.now() + 2_000;
      while (!lines.some((line) => line.includes('counters: redis unavailable')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      console.error = write;
      await app.services.dispose();
    }
    assert.ok(lines.some((line) => line.includes('counters: redis unavailable')), lines.join('\n'));
    assert.notEqual(app.services.counters, app.services.cache);
  });
});

describe('X-Min-Version', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  it('gives up after about 2 s and answers what is there', async () => {
    const { body } = await invoke(app.handler('registerPharmacy'), { method: 'POST', path: 'pharmacies', body: pharmacyBody() });
    const started = performance.now();
    const read = await invoke(app.handler('getPharmacy'), { params: { id: body.id }, headers: { 'x-min-version': '5' } });
    const waited = performance.now() - started;
    assert.equal(read.status, 200);
    assert.equal(read.body.version, 1);
    assert.ok(waited >= 1500 && waited < 4000, `waited ${waited} ms`);
  });

  it('refuses a version that is not a positive integer', async () => {
    const read = await invoke(app.handler('getPharmacy'), { params: { id: '0b0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11' }, headers: { 'x-min-version': '-1' } });
    assert.equal(read.status, 400);
    // The header is named, as If-Match and Idempotency-Key are: not "the query is not valid", field "query".
    assert.equal(read.body.detail, 'the X-Min-Version header is not valid');
    assert.deepEqual(read.body.errors.map((error: { field: string }) => error.field), ['X-Min-Version']);
  });
});

describe('settings', () => {
  it('defaults to the embedded profile', () => {
    const settings = loadSettings({});
    assert.equal(settings.localHostPort, 7071);
    assert.equal(settings.cosmos.endpoint, undefined);
    assert.equal(settings.cache.freshSeconds, 30);
  });

  it('names a bad setting without echoing its value', () => {
    assert.throws(
      () => loadSettings({ CACHE_FRESH_SECONDS: 'soon', COSMOS_ENDPOINT: 'not a url with secret-key' }),
      (error: Error) =>
        error instanceof SettingsError && /CACHE_FRESH_SECONDS/.test(error.message) && /COSMOS_ENDPOINT/.test(error.message) && !/secret-key|soon/.test(error.message),
    );
  });

  it('reads the Azure profile: managed identity for SQL and Service Bus, no secret needed', () => {
    const clientId = '7f0c4c52-33c9-4b1c-9a43-2f3b7a0c9d11';
    const settings = loadSettings({
      AZURE_SQL_SERVER: 'farmacias-sql.database.windows.net',
      AZURE_SQL_DATABASE: 'farmacias',
      ServiceBusConnection__fullyQualifiedNamespace: 'farmacias-bus.servicebus.windows.net',
      AZURE_CLIENT_ID: clientId,
      COSMOS_ENDPOINT: 'https://farmacias.documents.azure.com:443/',
    });
    assert.deepEqual(settings.azureSql, { server: 'farmacias-sql.database.windows.net', database: 'farmacias', managedIdentityClientId: clientId });
    assert.deepEqual(settings.bus.serviceBus, { fullyQualifiedNamespace: 'farmacias-bus.servicebus.windows.net', managedIdentityClientId: clientId });
    assert.equal(settings.cosmos.key, undefined, 'Cosmos by Entra ID');
  });

  it('refuses two buses, or two ways to the database, naming the settings only', () => {
    assert.throws(
      () => loadSettings({ RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672', ServiceBusConnection: 'Endpoint=sb://x.servicebus.windows.net/;SharedAccessKey=hush' }),
      (error: Error) => /RABBITMQ_URL/.test(error.message) && /ServiceBusConnection/.test(error.message) && !/hush|guest/.test(error.message),
    );
    assert.throws(() => loadSettings({ AZURE_SQL_CONNECTION_STRING: 'Server=x;Password=hush', AZURE_SQL_SERVER: 'x.database.windows.net', AZURE_SQL_DATABASE: 'd' }), (error: Error) => !/hush/.test(error.message));
    assert.throws(() => loadSettings({ AZURE_SQL_SERVER: 'x.database.windows.net' }), /AZURE_SQL_DATABASE/);
  });

  it('refuses embedded stores and buses on an Azure instance, whose disk and memory are its own', async () => {
    const onAzure = { WEBSITE_INSTANCE_ID: 'instance-1', REQUEST_LOG: 'false', DATA_DIR: join(tmpdir(), 'farmacias-never') };
    await assert.rejects(compose(loadSettings(onAzure), []), /AZURE_SQL_SERVER/);
    const withSql = { ...onAzure, AZURE_SQL_SERVER: 'x.database.windows.net', AZURE_SQL_DATABASE: 'farmacias' };
    await assert.rejects(compose(loadSettings(withSql), []), /ServiceBusConnection__fullyQualifiedNamespace/);
    // Named before anything opens: the SQL server and the namespace below are never reached.
    const withBus = { ...withSql, ServiceBusConnection__fullyQualifiedNamespace: 'farmacias.servicebus.windows.net' };
    await assert.rejects(compose(loadSettings(withBus), []), (error: Error) => error instanceof SettingsError && /COSMOS_ENDPOINT/.test(error.message));
    const withReadStore = { ...withBus, COSMOS_ENDPOINT: 'https://farmacias.documents.azure.com:443/' };
    await assert.rejects(compose(loadSettings(withReadStore), []), (error: Error) => error instanceof SettingsError && /REDIS_URL/.test(error.message));
    const withCache = { ...withReadStore, REDIS_URL: 'rediss://farmacias.brazilsouth.redis.azure.net:10000' };
    await assert.rejects(compose(loadSettings(withCache), []), (error: Error) => error instanceof SettingsError && /REDIS_COUNTERS_URL/.test(error.message));
  });

  it('closes what it opened when one adapter fails to open, so a retried start leaks nothing', async () => {
    const servers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap').length;
    const before = servers();
    const file = join(mkdtempSync(join(tmpdir(), 'farmacias-file-')), 'not-a-folder');
    writeFileSync(file, '');
    const secrets = { AUTH_SIGNING_KEYS: newSecret('signing-keys'), PERSONAL_DATA_MASTER_KEY: newSecret('data-key'), PERSONAL_DATA_INDEX_KEY: newSecret('data-key') };
    // The event store cannot open under a file; the in-process Cosmos DB server opens meanwhile.
    await assert.rejects(compose(loadSettings({ ...secrets, DATA_DIR: join(file, 'data'), REQUEST_LOG: 'false' }), []), /ENOTDIR/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(servers(), before, 'the local Cosmos DB server was closed');
  });
});
