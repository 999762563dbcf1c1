// A RabbitMQ node of the test's own (spare ports, own data), frozen and stopped: run alone, after the main suite (see `npm test`).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { SqliteEventStore } from '../../shared/adapters/sqlite/event-store';
import { PUBLISH_AFTER_COMMIT_TIMEOUT_MS } from '../../shared/kernel/command';
import { appModules } from '../../shared/platform/app';
import { startLocalHost, type LocalHost } from '../../local/host';
import { pharmacyBody } from '../support/fixtures';
import { privateRabbitMqUnavailable, RabbitMqNode } from '../support/rabbitmq-node';
import { testServices } from '../support/services';
import { ADMIN, tokenFor } from '../support/tokens';

/** What a command may take with the broker frozen: the publish bound plus the rest of the command. */
const COMMAND_BOUND_MS = 3_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, deadlineMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > deadlineMs) throw new Error(`${what}: not within ${deadlineMs} ms`);
    await sleep(250);
  }
  return Date.now() - started;
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))];

async function call(base: string, token: string, method: string, path: string, body?: unknown) {
  const started = performance.now();
  const response = await fetch(`${base}/${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    // A held request fails the test here rather than hanging it (with the broker left frozen).
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  type Answer = { id: string; status: string; checks: { bus: { status: string } } };
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as Answer, ms: performance.now() - started };
}

suiteNeeding('RabbitMQ frozen, and down at start', privateRabbitMqUnavailable(), () => {
  let node: RabbitMqNode;

  before(async () => {
    node = await RabbitMqNode.start();
  });
  after(async () => {
    await node?.dispose();
  });

  it('a frozen broker (SIGSTOP) holds no command beyond the bound; the events reach the read model once it thaws', async (t) => {
    const id = randomUUID().slice(0, 8);
    const services = await testServices({ RABBITMQ_URL: node.url, RABBITMQ_EXCHANGE: `test-frozen-${id}`, RABBITMQ_QUEUE_PREFIX: `test-frozen-${id}.`, OUTBOX_RELAY_MIN_AGE_MS: '0' });
    const host: LocalHost = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {} });
    const token = await tokenFor(services, ADMIN);
    const api = (method: string, path: string, body?: unknown) => call(host.url, token, method, path, body);
    try {
      const healthy: number[] = [];
      for (let i = 0; i < 10; i++) {
        const created = await api('POST', 'pharmacies', pharmacyBody());
        assert.equal(created.status, 201);
        healthy.push(created.ms);
      }

      node.freeze();
      const frozenAt = Date.now();
      const accepted: string[] = [];
      const frozen: number[] = [];
      // 15 s frozen: past the heartbeat's detection (two missed 5 s beats), so both the bounded wait and the closed connection are seen.
      try {
        while (Date.now() - frozenAt < 15_000) {
          const created = await api('POST', 'pharmacies', pharmacyBody());
          assert.equal(created.status, 201, 'a command is accepted while the broker is frozen: its events wait in the outbox');
          assert.ok(created.ms < COMMAND_BOUND_MS, `a command took ${Math.round(created.ms)} ms with the broker frozen (bound ${COMMAND_BOUND_MS} ms)`);
          accepted.push(created.body.id);
          frozen.push(created.ms);
          // A steady pace: once the bus is paused commands take milliseconds, and thousands would only load the check below.
          await sleep(100);
        }
      } finally {
        node.thaw();
      }
      const thawedAt = Date.now();
      assert.ok((await services.eventStore.pendingOutbox(0, 1000)).length > 0, 'events were left to the outbox while the broker was frozen');

      // The bus reconnects by itself; the relay's timer (every 10 s) publishes what is left.
      let missing = accepted;
      const converged = await until('every accepted pharmacy reaches the read model', 60_000, async () => {
        const found = await Promise.all(missing.map(async (pharmacy) => ((await api('GET', `pharmacies/${pharmacy}`)).status === 200 ? undefined : pharmacy)));
        missing = found.filter((pharmacy): pharmacy is string => pharmacy !== undefined);
        return missing.length === 0;
      });
      await until('the outbox drains', 30_000, async () => (await services.eventStore.pendingOutbox(0, 1)).length === 0);
      t.diagnostic(
        `commands healthy p50 ${Math.round(percentile(healthy, 50))} ms, max ${Math.round(Math.max(...healthy))} ms; ` +
          `frozen (${frozen.length} commands in ${Math.round((thawedAt - frozenAt) / 1000)} s) p50 ${Math.round(percentile(frozen, 50))} ms, ` +
          `max ${Math.round(Math.max(...frozen))} ms (publish bound ${PUBLISH_AFTER_COMMIT_TIMEOUT_MS} ms); read model converged ${converged} ms after the thaw`,
      );
    } finally {
      await host.stop();
      await services.dispose();
    }
  });

  it('the app starts with the broker down and events in the outbox (readiness degraded); the outbox drains when the broker returns', async (t) => {
    const id = randomUUID().slice(0, 8);
    const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-down-at-start-'));
    const env = {
      DATA_DIR: dataDir,
      RABBITMQ_URL: node.url,
      RABBITMQ_EXCHANGE: `test-down-${id}`,
      RABBITMQ_QUEUE_PREFIX: `test-down-${id}.`,
      OUTBOX_RELAY_MIN_AGE_MS: '0',
      BUS_RETRY_BASE_MS: '5',
      REQUEST_LOG: 'false',
      SEED_DEMO_DATA: 'false',
      PASSWORD_SCRYPT_LOG2_N: '14',
    };
    let app: ChildProcess | undefined;
    try {
      await node.stop();
      // A first run accepts commands while the broker is away: their events stay in the outbox.
      const first = await testServices(env);
      const firstHost = await startLocalHost({ modules: appModules(async () => first), services: first, port: 0, requestLog: false, log: () => {} });
      const token = await tokenFor(first, ADMIN);
      const created = await call(firstHost.url, token, 'POST', 'pharmacies', pharmacyBody());
      assert.equal(created.status, 201);
      await firstHost.stop();
      await first.close();
      const store = SqliteEventStore.open(join(dataDir, 'events.sqlite'));
      try {
        const pending = (await store.pendingOutbox(0, 1000)).length;
        assert.ok(pending > 0, 'the outbox holds events');

        // `npm start` with the broker still down: it must serve.
        const port = await new Promise<number>((resolve) => {
          const server = createServer().listen(0, '127.0.0.1', () => {
            const { port: free } = server.address() as AddressInfo;
            server.close(() => resolve(free));
          });
        });
        const started = Date.now();
        const child = spawn(process.execPath, [join(__dirname, '../../local/main.js')], {
          env: { ...process.env, ...env, LOCAL_HOST_PORT: String(port), CI: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        app = child;
        let output = '';
        child.stdout!.on('data', (chunk) => (output += chunk));
        child.stderr!.on('data', (chunk) => (output += chunk));
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        const ready = await Promise.race([
          until('the app says it serves', 60_000, async () => output.includes('Farmácias platform on')).then(() => 'serving'),
          exited.then((code) => `exited with ${code}`),
        ]);
        assert.equal(ready, 'serving', `the app did not start with the broker down:\n${output}`);
        const startMs = Date.now() - started;
        const base = `http://127.0.0.1:${port}/api`;
        const readiness = await call(base, token, 'GET', 'health/ready');
        assert.equal(readiness.status, 200);
        assert.equal(readiness.body.status, 'degraded');
        assert.equal(readiness.body.checks.bus.status, 'unhealthy');
        assert.equal((await call(base, token, 'GET', `pharmacies/${created.body.id}`)).status, 200, 'reads are served (the read model is rebuilt from the event store)');
        assert.equal((await store.pendingOutbox(0, 1000)).length, pending, 'the outbox still holds the events');

        const back = Date.now();
        await node.restart();
        const brokerBackMs = Date.now() - back;
        const drained = await until('the outbox drains once the broker is back', 60_000, async () => (await store.pendingOutbox(0, 1)).length === 0);
        assert.equal((await call(base, token, 'GET', 'health/ready')).body.checks.bus.status, 'healthy', 'the bus reconnected by itself');
        assert.equal(child.exitCode, null, 'the app is still running');
        t.diagnostic(`started in ${startMs} ms with the broker down (${pending} event(s) pending); broker back in ${brokerBackMs} ms; outbox drained ${drained} ms after that`);
      } finally {
        await store.close();
      }
    } finally {
      if (app && app.exitCode === null) {
        app.kill('SIGTERM');
        await new Promise((resolve) => app!.once('exit', resolve));
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
