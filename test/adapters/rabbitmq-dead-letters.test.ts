import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { connect } from 'amqplib';
import { RabbitMqEventBus } from '../../shared/adapters/rabbitmq/event-bus';
import type { StoredEvent } from '../../shared/kernel/ports';
import { main as dlq } from '../../tools/dlq';
import { storedEvent } from '../contracts/event-bus.contract';
import { skipUnlessReachable } from '../support/reachable';

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function run(args: string[]) {
  const lines: string[] = [];
  const code = await dlq(args, (line) => lines.push(line));
  return { code, lines };
}

/**
 * A RabbitMQ bus of the test's own (its exchange and queue prefix) with one subscriber that
 * fails while `failing` is true, as the dlq tool sees it through the environment; the
 * queues and exchange are deleted afterwards. Registers its own before/after hooks.
 */
function deadLetterBus(prefix: string, exchange: string, subscription: string, maxAttempts: number) {
  const fixture = { bus: undefined as unknown as RabbitMqEventBus, handled: [] as StoredEvent[], failing: true };
  const saved = { ...process.env };
  before(async () => {
    Object.assign(process.env, { RABBITMQ_URL: url, RABBITMQ_EXCHANGE: exchange, RABBITMQ_QUEUE_PREFIX: prefix, REQUEST_LOG: 'false' });
    fixture.bus = await RabbitMqEventBus.open({ url, exchange, queuePrefix: prefix, maxAttempts, retryBaseMs: 5, maxConcurrent: 2 });
    fixture.bus.subscribe({
      name: subscription,
      eventTypes: ['PharmacyRegistered'],
      handle: async (event) => {
        if (fixture.failing) throw new Error('read store down');
        fixture.handled.push(event);
      },
    });
    await fixture.bus.ready();
  });
  after(async () => {
    await fixture.bus.close();
    process.env = saved;
    const model = await connect(url);
    const channel = await model.createChannel();
    for (const suffix of ['', '.retry', '.dead']) await channel.deleteQueue(`${prefix}${subscription}${suffix}`);
    await channel.deleteExchange(exchange);
    await model.close();
  });
  return fixture;
}

describe('npm run dlq, without a broker', () => {
  it('lists the subscriptions it knows, each with its event types', async () => {
    const { code, lines } = await run(['subscriptions']);
    assert.equal(code, 0);
    const names = lines.map((line) => JSON.parse(line).subscription);
    assert.ok(names.includes('pharmacies-read') && names.includes('offers-product-discontinued'));
  });

  it('answers usage, or names an unknown subscription, with exit code 2', async () => {
    assert.equal((await run([])).code, 2);
    const unknown = await run(['list', 'no-such-thing']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.lines[0], /no subscription no-such-thing/);
  });
});

suiteNeeding('npm run dlq on RabbitMQ', skipUnlessReachable('RabbitMQ', 'RABBITMQ_URL', url), () => {
  const id = randomUUID().slice(0, 8);
  const prefix = `test-dlq-${id}.`;
  const exchange = `test-dlq-${id}`;
  const subscription = 'pharmacies-read';
  const fixture = deadLetterBus(prefix, exchange, subscription, 2);

  it('lists a dead letter with its attempts and reason, replays it to the live consumer, and keeps what was not asked for', async () => {
    const [first, second] = [storedEvent('PharmacyRegistered'), storedEvent('PharmacyRegistered')];
    await fixture.bus.publish([first, second]);
    await fixture.bus.idle();

    const listed = await run(['list', subscription]);
    assert.equal(listed.code, 0);
    const letters = listed.lines.map((line) => JSON.parse(line));
    assert.deepEqual(letters.map((letter) => letter.id).sort(), [first.eventId, second.eventId].sort());
    assert.deepEqual([letters[0].attempts, letters[0].reason], [2, 'read store down']);
    assert.ok(!listed.lines.join('').includes('"data"'), 'no event data in the listing');

    fixture.failing = false;
    const replayed = await run(['replay', subscription, '--id', first.eventId]);
    assert.equal(replayed.code, 0);
    assert.deepEqual(JSON.parse(replayed.lines[0]), { replayed: [first.eventId], failed: [], unreadable: [] });
    await fixture.bus.idle();
    assert.deepEqual(fixture.handled.map((event) => event.eventId), [first.eventId]);

    const left = await run(['list', subscription]);
    assert.deepEqual(left.lines.map((line) => JSON.parse(line).id), [second.eventId]);
    await run(['replay', subscription]);
    await fixture.bus.idle();
    assert.deepEqual(fixture.handled.map((event) => event.eventId).sort(), [first.eventId, second.eventId].sort());
    assert.deepEqual((await run(['list', subscription])).lines, []);
  });
});

suiteNeeding('npm run dlq on RabbitMQ, with dead letters that are no events', skipUnlessReachable('RabbitMQ', 'RABBITMQ_URL', url), () => {
  const id = randomUUID().slice(0, 8);
  const prefix = `test-dlq-unreadable-${id}.`;
  const exchange = `test-dlq-unreadable-${id}`;
  const subscription = 'pharmacies-read';
  const dead = `${prefix}${subscription}.dead`;
  const fixture = deadLetterBus(prefix, exchange, subscription, 1);

  async function deadLetterRaw(body: string, properties: { messageId?: string } = {}) {
    const model = await connect(url);
    const channel = await model.createConfirmChannel();
    channel.sendToQueue(dead, Buffer.from(body), { persistent: true, ...properties, headers: { 'x-attempt': 1, 'x-reason': 'Unexpected token' } });
    await channel.waitForConfirms();
    await model.close();
  }

  it('lists them as unreadable among the rest, replays the rest and leaves them, and drops them by id or all at once', async () => {
    const [first, second] = [storedEvent('PharmacyRegistered'), storedEvent('PharmacyRegistered')];
    await fixture.bus.publish([first]);
    await fixture.bus.idle();
    const secret = 'maria@example.com is not JSON';
    await deadLetterRaw(secret);
    await deadLetterRaw('[1, 2]', { messageId: 'not-an-event' });
    await fixture.bus.publish([second]);
    await fixture.bus.idle();

    const listed = await run(['list', subscription]);
    assert.equal(listed.code, 3, 'listed, and the code says some are unreadable');
    const letters = listed.lines.map((line) => JSON.parse(line));
    assert.equal(letters.length, 4);
    const unreadable = letters.filter((letter) => letter.unreadable);
    assert.deepEqual(letters.filter((letter) => letter.type === 'PharmacyRegistered').map((letter) => letter.id).sort(), [first.eventId, second.eventId].sort());
    const [notJson, notEvent] = [unreadable.find((letter) => letter.id !== 'not-an-event'), unreadable.find((letter) => letter.id === 'not-an-event')];
    assert.match(notJson.id, /^sha256:[0-9a-f]{16}$/);
    assert.match(notJson.unreadable, /not JSON/);
    assert.match(notEvent.unreadable, /not an event/);
    assert.deepEqual([notJson.attempts, notJson.reason], [1, 'Unexpected token']);
    assert.ok(!listed.lines.join('').includes('maria'), 'never the body');
    assert.deepEqual((await run(['list', subscription])).lines.map((line) => JSON.parse(line).id), letters.map((letter) => letter.id), 'the same ids again');

    fixture.failing = false;
    const replayed = await run(['replay', subscription]);
    assert.equal(replayed.code, 3);
    const outcome = JSON.parse(replayed.lines[0]);
    assert.deepEqual(outcome.replayed.sort(), [first.eventId, second.eventId].sort());
    assert.deepEqual(outcome.failed, []);
    assert.deepEqual(outcome.unreadable.sort(), [notJson.id, notEvent.id].sort());
    await fixture.bus.idle();
    assert.deepEqual(fixture.handled.map((event) => event.eventId).sort(), [first.eventId, second.eventId].sort());
    assert.deepEqual((await run(['list', subscription])).lines.map((line) => JSON.parse(line).id).sort(), [notJson.id, notEvent.id].sort());

    assert.equal((await run(['drop', subscription])).code, 2, 'drop names what it drops');
    const byId = await run(['drop', subscription, '--id', notJson.id]);
    assert.equal(byId.code, 0);
    assert.deepEqual(JSON.parse(byId.lines[0]).dropped.map((letter: { id: string }) => letter.id), [notJson.id]);
    assert.deepEqual((await run(['list', subscription])).lines.map((line) => JSON.parse(line).id), [notEvent.id]);
    const all = await run(['drop', subscription, '--unreadable']);
    assert.deepEqual(JSON.parse(all.lines[0]).dropped, [{ id: notEvent.id, unreadable: notEvent.unreadable, attempts: 1, reason: 'Unexpected token' }]);
    assert.deepEqual(await run(['list', subscription]), { code: 0, lines: [] });
  });
});

suiteNeeding('RabbitMQ bus, a delivery whose body is not JSON', skipUnlessReachable('RabbitMQ', 'RABBITMQ_URL', url), () => {
  const id = randomUUID().slice(0, 8);
  const prefix = `test-dlq-notjson-${id}.`;
  const exchange = `test-dlq-notjson-${id}`;
  const subscription = 'pharmacies-read';
  const fixture = deadLetterBus(prefix, exchange, subscription, 1);

  it('is dead-lettered with a reason that names its size, never the parser\'s message, which quotes the body', async () => {
    const body = 'maria@example.com is not JSON';
    const model = await connect(url);
    const channel = await model.createConfirmChannel();
    channel.publish(exchange, 'PharmacyRegistered', Buffer.from(body), { persistent: true, messageId: 'raw' });
    await channel.waitForConfirms();
    await model.close();
    await fixture.bus.idle();

    const listed = await run(['list', subscription]);
    const letters = listed.lines.map((line) => JSON.parse(line));
    assert.equal(letters.length, 1);
    assert.ok(!listed.lines.join('').includes('maria'), `never the body: ${letters[0].reason}`);
    assert.match(letters[0].reason, new RegExp(`not JSON \\(${Buffer.byteLength(body)} bytes\\)`));
  });
});
