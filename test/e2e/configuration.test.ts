import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalHost, type LocalHost } from '../../local/host';
import { lazyServices } from '../../shared/kernel/composition';
import { unresolvedKeyVaultReferences } from '../../shared/kernel/key-vault-references';
import type { Services } from '../../shared/kernel/services';
import { loadSettings, SettingsError } from '../../shared/kernel/settings';
import { appModules, READ_CONTAINERS } from '../../shared/platform/app';
import { ConfigurationIncomplete, guardConfiguration } from '../../shared/platform/configuration';
import { invoke } from '../support/http';

const SECRET_URI = 'https://farmacias-kv.vault.azure.net/secrets/personal-data-master-key/';
const REFERENCE = `@Microsoft.KeyVault(SecretUri=${SECRET_URI})`;
/** Nothing of a reference (nor a stack) may reach a client. */
const LEAK = /vault\.azure\.net|SecretUri|KeyVault\(|\n\s+at /;

/** The token and revocation endpoints answer errors as RFC 6749 §5.2 says, not as problem+json. */
const OAUTH_ROUTES = new Set(['issueToken', 'revokeToken']);

describe('unresolved Key Vault references in the settings', () => {
  it('are named, never echoed, before any other rule, in both reference forms', () => {
    const env = {
      PERSONAL_DATA_MASTER_KEY: REFERENCE,
      AUTH_SIGNING_KEYS: '@Microsoft.KeyVault(VaultName=farmacias-kv;SecretName=auth-signing-keys)',
      CACHE_FRESH_SECONDS: 'soon',
      PATH: '/usr/bin',
    };
    assert.deepEqual(unresolvedKeyVaultReferences(env), ['AUTH_SIGNING_KEYS', 'PERSONAL_DATA_MASTER_KEY']);
    assert.throws(
      () => loadSettings(env),
      (error: Error) =>
        error instanceof SettingsError &&
        error.message === 'unresolved Key Vault references: AUTH_SIGNING_KEYS, PERSONAL_DATA_MASTER_KEY' &&
        error.settings.join() === 'AUTH_SIGNING_KEYS,PERSONAL_DATA_MASTER_KEY',
    );
    assert.deepEqual(unresolvedKeyVaultReferences({ A: 'value with @Microsoft.KeyVault( inside', B: undefined }), []);
  });

  it('an invalid setting names its settings too (for readiness), not its value', () => {
    assert.throws(
      () => loadSettings({ CACHE_FRESH_SECONDS: 'soon', AZURE_SQL_SERVER: 'x.database.windows.net' }),
      (error: Error) => error instanceof SettingsError && error.settings.includes('CACHE_FRESH_SECONDS') && error.settings.includes('AZURE_SQL_DATABASE') && !/soon/.test(error.message),
    );
  });

  it('a SQL connection string that names no server is an invalid setting, not a driver error at the first connection', () => {
    const secret = 'User Id=app;Password=hunter2-but-longer';
    assert.throws(
      () => loadSettings({ AZURE_SQL_CONNECTION_STRING: secret }),
      (error: Error) => error instanceof SettingsError && error.settings.join() === 'AZURE_SQL_CONNECTION_STRING' && !/hunter2/.test(error.message),
    );
    for (const named of ['Server=tcp:db.example,1433;Database=farmacias;User Id=app;Password=p', 'Data Source=localhost;Initial Catalog=farmacias']) {
      assert.deepEqual(loadSettings({ AZURE_SQL_CONNECTION_STRING: named }).azureSql, { connectionString: named });
    }
  });
});

describe('a platform whose configuration is incomplete, over the local host', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-config-'));
  // As App Service hands it over when it cannot read the secret; the other secrets unset (local profile).
  const env: NodeJS.ProcessEnv = { DATA_DIR: dataDir, REQUEST_LOG: 'false', SEED_DEMO_DATA: 'false', PERSONAL_DATA_MASTER_KEY: REFERENCE };
  const provider = lazyServices(READ_CONTAINERS, env);
  let composed: Services | undefined;
  let host: LocalHost;
  const modules = appModules(provider);
  const logged: string[] = [];
  const errorLog = console.error;

  before(async () => {
    console.error = (line: string) => logged.push(String(line));
    host = await startLocalHost({ modules, port: 0, requestLog: false, log: () => {} });
  });
  after(async () => {
    console.error = errorLog;
    await host.stop();
    await composed?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const call = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${host.url}/${path}`, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: text ? JSON.parse(text) : undefined };
  };

  it('is alive: liveness answers 200', async () => {
    const live = await call('health');
    assert.equal(live.status, 200);
    assert.equal(live.body.status, 'healthy');
  });

  it('is not ready: readiness is unhealthy, 503, with a configuration check naming the setting', async () => {
    const ready = await call('health/ready');
    assert.equal(ready.status, 503);
    assert.equal(ready.body.status, 'unhealthy');
    assert.equal(ready.body.checks.configuration.status, 'unhealthy');
    assert.equal(ready.body.checks.configuration.error, 'misconfigured');
    assert.deepEqual(ready.body.checks.configuration.settings, ['PERSONAL_DATA_MASTER_KEY']);
    assert.match(ready.body.checks.configuration.detail, /unresolved Key Vault references: PERSONAL_DATA_MASTER_KEY/);
    assert.ok(ready.headers.get('retry-after'));
    assert.doesNotMatch(ready.text, LEAK);
  });

  it('a query answers 503 problem+json with Retry-After, naming the setting and nothing of its value', async () => {
    const query = await call(`pharmacies/${randomUUID()}`);
    assert.equal(query.status, 503);
    assert.match(query.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.match(query.headers.get('retry-after') ?? '', /^\d+$/);
    assert.equal(query.body.status, 503);
    assert.equal(query.body.title, 'Service unavailable');
    assert.equal(query.body.detail, "the platform's configuration is incomplete: unresolved Key Vault references: PERSONAL_DATA_MASTER_KEY");
    assert.doesNotMatch(query.text, LEAK);
  });

  it('no route answers 500: every route but liveness answers 503, problem+json (the OAuth endpoints: RFC 6749 JSON)', async () => {
    const routes = modules.flatMap((module) => module.routes);
    const statuses: Record<string, number> = {};
    for (const route of routes) {
      const path = route.route.replace(/\{\w+\}/g, () => randomUUID());
      const method = route.methods[0];
      const response = await invoke(route.handler, { method, path, params: { id: randomUUID(), gtin: '7891234567895' }, ...(method === 'GET' || method === 'DELETE' ? {} : { body: {} }) });
      statuses[route.name] = response.status;
      assert.notEqual(response.status, 500, `${route.name}: ${JSON.stringify(response.body)}`);
      assert.doesNotMatch(JSON.stringify(response.body ?? {}), LEAK, route.name);
      if (response.status === 503 && route.name !== 'healthReady') {
        const oauth = OAUTH_ROUTES.has(route.name);
        assert.match(response.headers.get('content-type') ?? '', oauth ? /^application\/json/ : /^application\/problem\+json/, route.name);
        if (oauth) assert.equal((response.body as { error?: string }).error, 'temporarily_unavailable', route.name);
        assert.ok(response.headers.get('retry-after'), route.name);
      }
    }
    const { health, ...others } = statuses;
    assert.equal(health, 200);
    assert.deepEqual(Object.entries(others).filter(([, status]) => status !== 503), [], 'every route but liveness answers 503');
  });

  it('logs the configuration error by setting name, once, not on every request', () => {
    const lines = logged.filter((line) => line.includes('configuration is incomplete'));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.deepEqual(JSON.parse(lines[0]).settings, ['PERSONAL_DATA_MASTER_KEY']);
    assert.doesNotMatch(lines[0], LEAK);
  });

  it('composes on a later request once the reference resolves, without a restart', async () => {
    delete env.PERSONAL_DATA_MASTER_KEY;
    const ready = await call('health/ready');
    assert.equal(ready.status, 200, ready.text);
    composed = await provider();
    const query = await call(`pharmacies/${randomUUID()}`);
    assert.equal(query.status, 404);
  });
});

describe('other configuration errors take the same path', () => {
  it('an Azure instance without its event store: routes 503 naming the settings, readiness unhealthy', async () => {
    const env = { WEBSITE_INSTANCE_ID: 'instance-1', REQUEST_LOG: 'false', DATA_DIR: join(tmpdir(), 'farmacias-never') };
    const routes = appModules(lazyServices(READ_CONTAINERS, env)).flatMap((module) => module.routes);
    const handler = (name: string) => routes.find((route) => route.name === name)!.handler;
    const query = await invoke(handler('getPharmacy'), { params: { id: randomUUID() } });
    assert.equal(query.status, 503);
    assert.match(query.body.detail, /^the platform's configuration is incomplete: the event store is not configured: set AZURE_SQL_SERVER and AZURE_SQL_DATABASE$/);
    const ready = await invoke(handler('healthReady'));
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body.checks.configuration.settings, ['AZURE_SQL_SERVER', 'AZURE_SQL_DATABASE']);
  });

  it('a failure that is not the configuration keeps its message out of readiness, and is not called a configuration error', async () => {
    const guarded = guardConfiguration(() => Promise.reject(new Error('login failed for /secret/path')), () => {});
    await assert.rejects(guarded(), (error: Error) => !(error instanceof ConfigurationIncomplete));
    const ready = await invoke(appModules(() => Promise.reject(new Error('login failed for /secret/path'))).flatMap((m) => m.routes).find((r) => r.name === 'healthReady')!.handler);
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body, { status: 'unhealthy', capabilities: { reads: 'unavailable', commands: 'unavailable', signIns: 'unavailable' }, checks: { startup: { status: 'unhealthy', durationMs: ready.body.checks.startup.durationMs, error: 'unreachable' } } });
    assert.match(ready.logs.join('\n'), /secret\/path/, 'the reason goes to the log');
  });
});
