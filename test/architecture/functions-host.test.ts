import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { registerWithFunctions } from '../../shared/adapters/functions/register';
import { projectRoot } from '../../shared/kernel/project-root';
import { settingNames } from '../../shared/kernel/settings';
import { DOMAIN_EVENTS_TOPIC, SERVICE_BUS_CONNECTION } from '../../shared/kernel/routes';
import { appModules } from '../../shared/platform/app';

const root = projectRoot();

describe('the Azure Functions app', () => {
  it('registers every declared route, projector and timer with @azure/functions', () => {
    const registered: { kind: string; name: string; options: Record<string, unknown> }[] = [];
    const record = (kind: string) => (name: string, options: Record<string, unknown>) => registered.push({ kind, name, options });
    const fakeApp = { http: record('http'), serviceBusTopic: record('serviceBusTopic'), timer: record('timer') };
    const modules = appModules(async () => {
      throw new Error('not needed');
    });
    for (const module of modules) registerWithFunctions(fakeApp as never, module);

    const routes = modules.flatMap((m) => m.routes);
    for (const route of routes) {
      const registration = registered.find((r) => r.kind === 'http' && r.name === route.name);
      assert.ok(registration, route.name);
      const served = route.methods.includes('GET') ? [...route.methods, 'HEAD'] : route.methods;
      assert.deepEqual(registration.options.methods, served, `${route.name}: HEAD wherever GET`);
      assert.equal(registration.options.route, route.route);
      assert.equal(registration.options.handler, route.handler);
    }
    const projector = registered.find((r) => r.name === 'pharmaciesProjector');
    assert.equal(projector?.kind, 'serviceBusTopic');
    assert.equal(projector?.options.topicName, DOMAIN_EVENTS_TOPIC);
    assert.equal(projector?.options.subscriptionName, 'pharmacies-read');
    assert.equal(projector?.options.connection, SERVICE_BUS_CONNECTION);
    assert.ok(registered.some((r) => r.kind === 'timer' && r.name === 'outboxRelay'));
    assert.equal(new Set(registered.map((r) => r.name)).size, registered.length, 'function names are unique');
  });

  it('package.json main is the compiled entry, and loading it composes nothing (light cold start)', () => {
    const main = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).main as string;
    assert.equal(main, 'dist/functions/index.js');
    assert.ok(existsSync(join(root, main)));
    const loaded = execFileSync(
      process.execPath,
      ['-e', `require(${JSON.stringify(join(root, main))}); console.log(JSON.stringify(Object.keys(require.cache)))`],
      { cwd: root, env: { ...process.env, DATA_DIR: join(root, 'dist', 'never-created') }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const modules: string[] = JSON.parse(loaded.trim().split('\n').pop()!);
    for (const heavy of ['@azure/cosmos', 'better-sqlite3', '@vercel/cosmosdb-server', 'cockatiel', 'jose', 'mssql', '@azure/service-bus', '@azure/identity', 'applicationinsights', 'amqplib', 'redis', '@redis/entraid', '@azure/msal-node']) {
      assert.ok(!modules.some((path) => path.includes(`node_modules/${heavy}/`)), `${heavy} is loaded at start-up`);
    }
    assert.ok(!existsSync(join(root, 'dist', 'never-created')), 'no store opened at start-up');
  });

  it('composing the embedded profile loads no Azure or broker SDK (each is loaded by its own adapter only)', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-compose-'));
    const script = `
      const { compose } = require(${JSON.stringify(join(root, 'dist/shared/kernel/composition.js'))});
      const { loadSettings } = require(${JSON.stringify(join(root, 'dist/shared/kernel/settings.js'))});
      compose(loadSettings({ DATA_DIR: ${JSON.stringify(dataDir)}, REQUEST_LOG: 'false' }), []).then(async (services) => {
        console.log(JSON.stringify(Object.keys(require.cache)));
        await services.close();
        process.exit(0);
      });`;
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(REDIS_URL|RABBITMQ_URL|APPLICATIONINSIGHTS|AZURE_SQL|ServiceBus|COSMOS_)/.test(name)));
    const loaded = execFileSync(process.execPath, ['-e', script], { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    rmSync(dataDir, { recursive: true, force: true });
    const modules: string[] = JSON.parse(loaded.trim().split('\n').pop()!);
    assert.ok(modules.some((path) => path.includes('node_modules/better-sqlite3/')), 'the embedded store was composed');
    for (const heavy of ['mssql', 'tedious', '@azure/service-bus', '@azure/identity', 'applicationinsights', 'amqplib', 'redis', '@redis/entraid', '@azure/msal-node']) {
      assert.ok(!modules.some((path) => path.includes(`node_modules/${heavy}/`)), `${heavy} is loaded by the embedded profile`);
    }
  });

  it('host.json: version 2.0, extension bundle 4.x, route prefix api, Service Bus settings written out', () => {
    const host = JSON.parse(readFileSync(join(root, 'host.json'), 'utf8'));
    assert.equal(host.version, '2.0');
    assert.equal(host.extensionBundle.id, 'Microsoft.Azure.Functions.ExtensionBundle');
    assert.match(host.extensionBundle.version, /^\[4\./);
    assert.equal(host.extensions.http.routePrefix, 'api');
    for (const key of ['maxConcurrentCalls', 'autoCompleteMessages', 'maxAutoLockRenewalDuration', 'prefetchCount']) {
      assert.ok(key in host.extensions.serviceBus, key);
    }
  });

  it('local.settings.example.json sets every setting the code reads, but the one Azure sets on its instances', () => {
    const example = JSON.parse(readFileSync(join(root, 'local.settings.example.json'), 'utf8')).Values as Record<string, string>;
    const read = settingNames();
    assert.ok(read.length >= 10);
    // Any value of it, a placeholder included, puts the app in its Azure mode: a copy of the example must not.
    const setByAzure = 'WEBSITE_INSTANCE_ID';
    assert.ok(read.includes(setByAzure));
    assert.ok(!(setByAzure in example), `${setByAzure} is in local.settings.example.json`);
    for (const name of read.filter((name) => name !== setByAzure)) assert.ok(name in example, `${name} is missing from local.settings.example.json`);
    assert.ok('ServiceBusConnection__fullyQualifiedNamespace' in example);
  });
});
