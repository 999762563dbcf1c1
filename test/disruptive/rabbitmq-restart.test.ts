// Restarts the shared RabbitMQ broker: run alone, after the main suite (see `npm test`).
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { deletePlatformTopology } from '../support/rabbitmq-topology';
import { appModules } from '../../shared/platform/app';
import { startLocalHost, type LocalHost } from '../../local/host';
import { pharmacyBody } from '../support/fixtures';
import { skipUnlessReachable } from '../support/reachable';
import { testServices } from '../support/services';
import { ADMIN, tokenFor } from '../support/tokens';

const run = promisify(execFile);
const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** How this machine restarts its broker: RABBITMQ_RESTART_COMMAND (CI: `docker restart <container>`), else rabbitmqctl. */
const restartCommand = process.env.RABBITMQ_RESTART_COMMAND ?? 'rabbitmqctl stop_app && rabbitmqctl start_app';

function brokerControl(): string | false {
  if (process.env.RABBITMQ_RESTART_COMMAND || process.env.CI === 'true') return false;
  try {
    execFileSync('rabbitmqctl', ['status'], { stdio: 'ignore', timeout: 30_000 });
    return false;
  } catch {
    return 'rabbitmqctl cannot control the local broker: run as its owner or set RABBITMQ_RESTART_COMMAND (required under CI=true)';
  }
}

suiteNeeding('RabbitMQ restarts during a run', skipUnlessReachable('RabbitMQ', 'RABBITMQ_URL', url) || brokerControl(), () => {
  const id = randomUUID().slice(0, 8);
  const env = { RABBITMQ_URL: url, RABBITMQ_EXCHANGE: `test-restart-${id}`, RABBITMQ_QUEUE_PREFIX: `test-restart-${id}.`, OUTBOX_RELAY_MIN_AGE_MS: '0' };
  let services: Awaited<ReturnType<typeof testServices>>;
  let host: LocalHost;
  let token: string;

  before(async () => {
    services = await testServices(env);
    host = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {} });
    token = await tokenFor(services, ADMIN);
  });
  after(async () => {
    await host.stop();
    await services.dispose();
    const subscriptions = appModules(async () => services).flatMap((module) => module.eventHandlers.map((handler) => handler.subscription));
    await deletePlatformTopology(url, env, subscriptions);
  });

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${host.url}/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: (await response.json()) as { id: string; checks: { bus: { status: string } } } };
  };

  it('loses no accepted command: every one reaches the read model once the broker is back', async () => {
    const accepted: string[] = [];
    let acceptedWhileAway = 0;
    let restarted = false;
    const restart = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await run('sh', ['-c', restartCommand]);
      restarted = true;
    })();
    // Commands keep coming before, during and after the restart.
    for (let i = 0; !restarted || i < 60; i++) {
      const created = await call('POST', 'pharmacies', pharmacyBody());
      assert.equal(created.status, 201, 'a command is accepted while the broker is away: its events wait in the outbox');
      accepted.push(created.body.id);
      if (!restarted && (await services.eventStore.pendingOutbox(0, 1)).length > 0) acceptedWhileAway += 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await restart;
    assert.ok(acceptedWhileAway > 0, 'some commands were accepted while the broker was away');

    // The outbox relay timer (every 10 s on the local host) sends what the broker missed.
    const deadline = Date.now() + 60_000;
    let missing = accepted;
    while (missing.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const found = await Promise.all(missing.map(async (pharmacy) => ((await call('GET', `pharmacies/${pharmacy}`)).status === 200 ? undefined : pharmacy)));
      missing = found.filter((pharmacy): pharmacy is string => pharmacy !== undefined);
    }
    assert.deepEqual(missing, [], `${missing.length} of ${accepted.length} accepted pharmacies never reached the read model`);
    assert.equal((await services.eventStore.pendingOutbox(0, 1000)).length, 0, 'the outbox is drained');
    assert.equal((await call('GET', 'health/ready')).body.checks.bus.status, 'healthy', 'the bus reconnected by itself');
  });
});
