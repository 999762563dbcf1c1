// A RabbitMQ node of the test's own (spare ports, own data), killed and stopped under steady load: run alone, after the main suite (see `npm test`).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import { converged, describeLatency, lostCommands, percentile, request, SteadyLoad, underSteadyLoad, until } from '../support/fault-load';
import { privateRabbitMqUnavailable, RabbitMqNode } from '../support/rabbitmq-node';
import { suiteNeeding } from '../support/suite';

/**
 * Issue 12's fault suite, the broker: while RabbitMQ is killed (SIGKILL on its Erlang VM:
 * no goodbye, the client sees a reset) or stopped (SIGTERM: it closes its connections
 * itself), commands are accepted (their events wait in the outbox) and reads answer from
 * the read store; once it is back, the bus reconnects by itself, the outbox drains, every
 * read model equals a rebuild and no acknowledged command is missing from the event store.
 */
const DOWN_MS = 5_000;
/** A command while the broker is away: the publish fails at once or within its bound (2 s), the rest is the command itself. */
const COMMAND_BOUND_MS = 3_000;
const READ_SLACK_MS = 250;
/** A reconnection waits for its back-off (5 s at most), then the outbox is relayed at once (the timer, every 10 s, is the fallback): well within this. */
const CONVERGENCE_BOUND_MS = 45_000;

suiteNeeding('RabbitMQ killed and stopped under steady load', privateRabbitMqUnavailable(), () => {
  let node: RabbitMqNode;
  let platform: Awaited<ReturnType<typeof underSteadyLoad>>;
  let services: typeof platform.services;
  let host: typeof platform.host;
  let load: SteadyLoad;

  before(async () => {
    node = await RabbitMqNode.start();
    const id = randomUUID().slice(0, 8);
    platform = await underSteadyLoad({ RABBITMQ_URL: node.url, RABBITMQ_EXCHANGE: `test-faults-${id}`, RABBITMQ_QUEUE_PREFIX: `test-faults-${id}.` });
    ({ services, host, load } = platform);
  });
  after(async () => {
    await platform?.stop();
    await node?.dispose();
  });

  async function fault(t: { diagnostic(message: string): void }, phase: string, takeDown: () => Promise<void>) {
    load.phase = phase;
    const downAt = Date.now();
    await takeDown();
    await load.run(DOWN_MS);
    // Booting takes seconds: the load goes on meanwhile, still in the fault's phase.
    await node.restart();
    const backAt = Date.now();
    load.phase = `after-${phase}`;

    const healthy = load.of('read', 'healthy');
    const reads = load.of('read', phase);
    const commands = load.of('command', phase);
    t.diagnostic(`broker ${phase} for ${Math.round((backAt - downAt) / 1000)} s`);
    t.diagnostic(`reads healthy ${describeLatency(healthy)}; ${phase} ${describeLatency(reads)}`);
    t.diagnostic(`commands healthy ${describeLatency(load.of('command', 'healthy'))}; ${phase} ${describeLatency(commands)}`);
    // Recorded, not judged here: what readiness should say under each fault is issue 12 item 5.
    t.diagnostic(`readiness healthy ${load.readinessIn('healthy')}; ${phase} ${load.readinessIn(phase)}`);
    assert.ok(reads.length > 20 && commands.length > 10, 'the load ran through the fault');
    assert.deepEqual(load.failures(), [], 'no read or command went unanswered or answered 5xx, at any time (requests across a phase change too)');
    assert.deepEqual(reads.filter((read) => read.status !== 200), [], `every read answers 200 with the broker ${phase}`);
    assert.deepEqual(commands.filter((command) => command.status < 200 || command.status >= 300), [], `every command is accepted with the broker ${phase}`);
    const slowestCommand = Math.max(...commands.map((command) => command.ms));
    assert.ok(slowestCommand < COMMAND_BOUND_MS, `a command took ${Math.round(slowestCommand)} ms with the broker ${phase}`);
    const p95 = (samples: typeof reads) => percentile(samples.map((sample) => sample.ms), 95);
    assert.ok(p95(reads) <= p95(healthy) + READ_SLACK_MS, `reads p95 ${Math.round(p95(reads))} ms with the broker ${phase}, healthy ${Math.round(p95(healthy))} ms`);

    // The bus reconnects by itself (its back-off reaches 5 s between attempts); readiness says when.
    const reconnected = await until(`the bus reconnects after the broker was ${phase}`, CONVERGENCE_BOUND_MS, async () => {
      const checks = (await request(host.url, undefined, 'GET', 'health/ready')).body?.checks as { bus?: { status: string } } | undefined;
      return checks?.bus?.status === 'healthy';
    });
    // Converged: nothing left in the outbox and every read model equal to a rebuild, with the load still running.
    const drained = await converged(services, `the outbox drains and the read models equal a rebuild after the broker was ${phase}`, CONVERGENCE_BOUND_MS);
    const lost = await lostCommands(services, load.acknowledged);
    assert.deepEqual(lost, [], `${lost.length} acknowledged command(s) missing from the event store`);
    t.diagnostic(
      `after the broker was ${phase}: bus reconnected ${reconnected} ms after it accepted connections again, outbox drained and read models = rebuild ` +
        `${Date.now() - backAt} ms after (${drained.ms} ms after the reconnection, which relays the outbox at once); ` +
        `${load.acknowledged.length} acknowledged commands, 0 lost; ${drained.summary}`,
    );
  }

  it('killed (SIGKILL on the Erlang VM): commands accepted, reads served; then the outbox drains and all converges', (t) =>
    fault(t, 'killed', () => node.stop()));

  it('stopped (SIGTERM): commands accepted, reads served; then the outbox drains and all converges', (t) => fault(t, 'stopped', () => node.shutdown()));
});
