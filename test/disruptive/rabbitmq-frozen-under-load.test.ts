// A RabbitMQ node of the test's own (spare ports, own data), frozen under steady load: run alone, after the main suite (see `npm test`).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { PUBLISH_AFTER_COMMIT_TIMEOUT_MS } from '../../shared/kernel/command';
import { converged, describeLatency, lostCommands, percentile, SteadyLoad, underSteadyLoad } from '../support/fault-load';
import { privateRabbitMqUnavailable, RabbitMqNode } from '../support/rabbitmq-node';
import { suiteNeeding } from '../support/suite';

/**
 * Issue 12's fault suite, the broker frozen (SIGSTOP on its Erlang VM: connections open,
 * nothing answers) under steady load, past the heartbeats' detection (two missed 5 s
 * beats): reads answer as when healthy, commands within the publish bound (their events
 * wait in the outbox); once it thaws, the outbox drains, every read model equals a
 * rebuild and no acknowledged command is missing. rabbitmq-frozen-and-down-at-start
 * checks the bound on its own; this one adds the reads, the reactions and the end checks.
 */
const FROZEN_MS = 14_000;
const COMMAND_BOUND_MS = PUBLISH_AFTER_COMMIT_TIMEOUT_MS + 1_000;
const READ_SLACK_MS = 250;
const CONVERGENCE_BOUND_MS = 45_000;

suiteNeeding('RabbitMQ frozen under steady load', privateRabbitMqUnavailable(), () => {
  let node: RabbitMqNode;
  let platform: Awaited<ReturnType<typeof underSteadyLoad>>;
  let services: typeof platform.services;
  let load: SteadyLoad;

  before(async () => {
    node = await RabbitMqNode.start();
    const id = randomUUID().slice(0, 8);
    platform = await underSteadyLoad({ RABBITMQ_URL: node.url, RABBITMQ_EXCHANGE: `test-frozen-load-${id}`, RABBITMQ_QUEUE_PREFIX: `test-frozen-load-${id}.` });
    ({ services, load } = platform);
  });
  after(async () => {
    node?.thaw();
    await platform?.stop();
    await node?.dispose();
  });

  it('frozen (SIGSTOP): reads answer, commands within the publish bound; then the outbox drains and all converges', async (t) => {
    load.phase = 'frozen';
    node.freeze();
    try {
      await load.run(FROZEN_MS);
    } finally {
      node.thaw();
    }
    const thawedAt = Date.now();
    load.phase = 'after-freeze';

    const healthy = load.of('read', 'healthy');
    const reads = load.of('read', 'frozen');
    const commands = load.of('command', 'frozen');
    t.diagnostic(`reads healthy ${describeLatency(healthy)}; frozen ${describeLatency(reads)}`);
    t.diagnostic(`commands healthy ${describeLatency(load.of('command', 'healthy'))}; frozen ${describeLatency(commands)}`);
    // Recorded, not judged here: what readiness should say under each fault is issue 12 item 5.
    t.diagnostic(`readiness healthy ${load.readinessIn('healthy')}; frozen ${load.readinessIn('frozen')}`);
    // Each command waits the publish bound (2 s) until the heartbeats close the connection: few of them.
    assert.ok(reads.length > 20 && commands.length >= 3, 'the load ran through the fault');
    assert.deepEqual(load.failures(), [], 'no read or command went unanswered or answered 5xx, at any time');
    assert.deepEqual(commands.filter((command) => command.status < 200 || command.status >= 300), [], 'every command is accepted with the broker frozen');
    const slowestCommand = Math.max(...commands.map((command) => command.ms));
    assert.ok(slowestCommand < COMMAND_BOUND_MS, `a command took ${Math.round(slowestCommand)} ms with the broker frozen (bound ${COMMAND_BOUND_MS} ms)`);
    const p95 = (samples: typeof reads) => percentile(samples.map((sample) => sample.ms), 95);
    assert.ok(p95(reads) <= p95(healthy) + READ_SLACK_MS, `reads p95 ${Math.round(p95(reads))} ms with the broker frozen, healthy ${Math.round(p95(healthy))} ms`);

    const after = await converged(services, 'the outbox drains and the read models equal a rebuild after the thaw', CONVERGENCE_BOUND_MS);
    const lost = await lostCommands(services, load.acknowledged);
    assert.deepEqual(lost, [], `${lost.length} acknowledged command(s) missing from the event store`);
    t.diagnostic(
      `after the thaw: outbox drained and read models = rebuild ${after.ms} ms after (${Date.now() - thawedAt} ms); ` +
        `${load.acknowledged.length} acknowledged commands, 0 lost; ${after.summary}`,
    );
  });
});
