import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';
import { deleteBusTopology } from '../support/rabbitmq-topology';
import { it } from 'node:test';
import type { StoredEvent } from '../../shared/kernel/ports';
import { suiteNeeding } from '../support/suite';
import { RabbitMqEventBus } from '../../shared/adapters/rabbitmq/event-bus';
import { eventBusContract } from '../contracts/event-bus.contract';
import { skipUnlessReachable } from '../support/reachable';

const url = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const skip = skipUnlessReachable('RabbitMQ', 'RABBITMQ_URL', url);

suiteNeeding('RabbitMQ bus', skip, () => {
  eventBusContract('RabbitMQ', async (maxAttempts) => {
    const run = randomUUID().slice(0, 8);
    const options = { url, exchange: `test-events-${run}`, queuePrefix: `test-${run}.`, maxAttempts, retryBaseMs: 10, maxConcurrent: 4 };
    const bus = await RabbitMqEventBus.open(options);
    const subscribers: string[] = [];
    const subscribe = bus.subscribe.bind(bus);
    bus.subscribe = (subscriber) => {
      subscribers.push(subscriber.name);
      subscribe(subscriber);
    };
    return {
      bus,
      settle: async () => {
        await bus.ready();
        await bus.idle();
      },
      deadLettered: (subscriber) => bus.deadLettered(subscriber),
      dispose: async () => {
        await bus.close();
        await deleteBusTopology(url, options, subscribers);
      },
    };
  });
});

suiteNeeding('RabbitMQ bus, idle right after subscribing', skip, () => {
  /**
   * `npm start` subscribes every handler, then waits for the bus to be idle: the queues are
   * still being declared then. Checking a queue not declared yet closed the consumer
   * channel (404), so the declarations after it failed: their subscriptions were never
   * bound, and the events published meanwhile were confirmed and routed nowhere (the app
   * killed test of the fault suite lost a ProductRegistered this way, on a fresh broker).
   */
  it('leaves every subscription bound: an event published next reaches each subscriber', async () => {
    const run = randomUUID().slice(0, 8);
    const options = { url, exchange: `test-idle-${run}`, queuePrefix: `test-idle-${run}.`, maxAttempts: 3, retryBaseMs: 10, maxConcurrent: 4 };
    const bus = await RabbitMqEventBus.open(options);
    const names = Array.from({ length: 6 }, (_, i) => `subscriber-${i}`);
    const received = new Set<string>();
    try {
      for (const name of names) bus.subscribe({ name, eventTypes: [`Happened${name}`, `AlsoHappened${name}`], handle: async () => void received.add(name) });
      await bus.idle();
      const events: StoredEvent[] = names.map((name, i) => ({
        eventId: randomUUID(),
        position: i + 1,
        streamId: `idle-${run}`,
        version: i + 1,
        type: `Happened${name}`,
        data: {},
        metadata: { correlationId: run },
        occurredAt: new Date().toISOString(),
      }));
      await bus.publish(events);
      const deadline = Date.now() + 5_000;
      while (received.size < names.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(names.filter((name) => !received.has(name)), [], 'subscribers whose event was routed nowhere');
    } finally {
      await bus.close();
      await deleteBusTopology(url, options, names);
    }
  });
});

suiteNeeding('RabbitMQ bus, a subscription the broker refuses to bind', skip, () => {
  /**
   * A failed declaration was only logged: the broker went on confirming events that no
   * queue of that subscription received, and nothing would ever replay them. Now publishing
   * refuses while a subscription is unbound (the events stay in the outbox), and once the
   * cause is gone the reconnection binds it and the next publish reaches it.
   */
  it('refuses to publish until every subscription is bound, then delivers', async () => {
    const run = randomUUID().slice(0, 8);
    const options = { url, exchange: `test-unbound-${run}`, queuePrefix: `test-unbound-${run}.`, maxAttempts: 3, retryBaseMs: 10, maxConcurrent: 4 };
    const admin = await connect(url);
    const channel = await admin.createChannel();
    // A queue of the same name with other arguments: the bus's declaration of it fails (406).
    await channel.assertQueue(`${options.queuePrefix}blocked`, { durable: false, autoDelete: false, arguments: { 'x-max-length': 1 } });
    const logs: string[] = [];
    const bus = await RabbitMqEventBus.open({ ...options, log: (line) => logs.push(line) });
    const received: string[] = [];
    const event = (type: string): StoredEvent => ({
      eventId: randomUUID(), position: 1, streamId: `unbound-${run}`, version: 1, type, data: {}, metadata: { correlationId: run }, occurredAt: new Date().toISOString(),
    });
    try {
      bus.subscribe({ name: 'blocked', eventTypes: ['Happened'], handle: async (e) => void received.push(e.eventId) });
      await bus.ready();
      const refused = event('Happened');
      // Refused either way: the subscription is unbound, or its failure took the connection down to redeclare everything.
      await assert.rejects(bus.publish([refused]), /blocked not bound yet; the events stay in the outbox|rabbitmq is not connected/);
      assert.ok(logs.some((line) => line.includes('subscribe failed for blocked')), logs.join('\n'));

      await channel.deleteQueue(`${options.queuePrefix}blocked`);
      const delivered = event('Happened');
      const deadline = Date.now() + 15_000;
      for (;;) {
        const outcome = await bus.publish([delivered]).then(() => 'published', (error: Error) => error.message);
        if (outcome === 'published') break;
        assert.ok(Date.now() < deadline, `still refused: ${outcome}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      while (!received.includes(delivered.eventId) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(received, [delivered.eventId], 'the event published once bound reaches the subscriber; the refused one stayed with its caller');
    } finally {
      await bus.close();
      for (const suffix of ['', '.retry', '.dead']) await channel.deleteQueue(`${options.queuePrefix}blocked${suffix}`).catch(() => {});
      await channel.deleteExchange(options.exchange).catch(() => {});
      await admin.close().catch(() => {});
    }
  });
});

suiteNeeding('RabbitMQ bus, a subscription whose queue disappears', skip, () => {
  /**
   * A queue deleted under a running bus (by an operator, or a broker node replaced without
   * its data) cancels the consumer: the broker then confirms events routed nowhere for that
   * subscription. The bus stops publishing, reconnects, declares the queue again, and
   * nothing published after that is lost; nothing is confirmed meanwhile.
   */
  it('declares it again before publishing anything more', async () => {
    const run = randomUUID().slice(0, 8);
    const options = { url, exchange: `test-cancel-${run}`, queuePrefix: `test-cancel-${run}.`, maxAttempts: 3, retryBaseMs: 10, maxConcurrent: 4 };
    const bus = await RabbitMqEventBus.open(options);
    const admin = await connect(url);
    const channel = await admin.createChannel();
    const received: string[] = [];
    const event = (): StoredEvent => ({
      eventId: randomUUID(), position: 1, streamId: `cancel-${run}`, version: 1, type: 'Happened', data: {}, metadata: { correlationId: run }, occurredAt: new Date().toISOString(),
    });
    let reconnected = 0;
    bus.onReconnected(() => reconnected++);
    try {
      bus.subscribe({ name: 'watched', eventTypes: ['Happened'], handle: async (e) => void received.push(e.eventId) });
      await bus.ready();
      await channel.deleteQueue(`${options.queuePrefix}watched`);
      const deadline = Date.now() + 15_000;
      const after = event();
      for (;;) {
        // Refused until the queue is declared again; accepted after, and then delivered.
        const outcome = await bus.publish([after]).then(() => 'published', (error: Error) => error.message);
        if (outcome === 'published' && reconnected > 0) break;
        assert.ok(Date.now() < deadline, `not published again: ${outcome}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      while (!received.includes(after.eventId) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(received.includes(after.eventId), 'the event published after the queue came back reached the subscriber');
    } finally {
      await bus.close();
      for (const suffix of ['', '.retry', '.dead']) await channel.deleteQueue(`${options.queuePrefix}watched${suffix}`).catch(() => {});
      await channel.deleteExchange(options.exchange).catch(() => {});
      await admin.close().catch(() => {});
    }
  });
});

suiteNeeding('RabbitMQ bus, a retry or dead-letter queue that disappears', skip, () => {
  /**
   * A failed delivery is copied to `<queue>.retry` (or, at its last attempt, `.dead`) and
   * acked once the broker confirms the copy. With that queue deleted under the running bus
   * (an operator clearing dead letters by deleting their queue), nothing cancels a consumer:
   * the copy went to the default exchange, routed nowhere, was confirmed all the same, and
   * the original was acked, so the event was lost without a word.
   */
  for (const [missing, maxAttempts] of [['.retry', 3], ['.dead', 1]] as const) {
    it(`keeps a failed delivery whose ${missing} queue was deleted`, async () => {
      const run = randomUUID().slice(0, 8);
      const options = { url, exchange: `test-lost-${run}`, queuePrefix: `test-lost-${run}.`, maxAttempts, retryBaseMs: 10, maxConcurrent: 4 };
      const bus = await RabbitMqEventBus.open(options);
      const admin = await connect(url);
      const channel = await admin.createChannel();
      const event: StoredEvent = {
        eventId: randomUUID(), position: 1, streamId: `lost-${run}`, version: 1, type: 'Happened', data: {}, metadata: { correlationId: run }, occurredAt: new Date().toISOString(),
      };
      let attempts = 0;
      try {
        // Fails its first attempt; the retry (or the dead letter) must still hold the event.
        bus.subscribe({ name: 'failing', eventTypes: ['Happened'], handle: async () => {
          attempts += 1;
          if (attempts === 1) throw new Error('the first attempt fails');
        } });
        await bus.ready();
        await channel.deleteQueue(`${options.queuePrefix}failing${missing}`);
        await bus.publish([event]);
        const deadline = Date.now() + 10_000;
        const kept = async () => (missing === '.retry' ? attempts >= 2 : (await bus.deadLettered('failing').catch(() => [])).some((e) => e.eventId === event.eventId));
        while (!(await kept()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        assert.ok(await kept(), missing === '.retry' ? 'the failed delivery was never tried again' : 'the failed delivery is not among the dead letters');
      } finally {
        await bus.close();
        for (const suffix of ['', '.retry', '.dead']) await channel.deleteQueue(`${options.queuePrefix}failing${suffix}`).catch(() => {});
        await channel.deleteExchange(options.exchange).catch(() => {});
        await admin.close().catch(() => {});
      }
    });
  }
});

suiteNeeding('RabbitMQ bus, a failed message whose headers cannot be sent back as they came', skip, () => {
  /**
   * Review: a failed delivery is sent back with its headers and `x-attempt` + 1. A message on
   * the exchange (any publisher on the broker) with `x-attempt: "abc"`, or any header holding a
   * double such as -1e20, made amqplib throw while encoding the copy (BigInt(NaN), an int64 out of range): the delivery
   * was neither rescheduled nor acknowledged, and held one of the consumer's `maxConcurrent`
   * slots for the life of the connection. As many such messages wedged the subscription.
   */
  it('retries it as a first attempt with the headers it can send, dead-letters it, and delivers what follows', async () => {
    const run = randomUUID().slice(0, 8);
    const options = { url, exchange: `test-headers-${run}`, queuePrefix: `test-headers-${run}.`, maxAttempts: 2, retryBaseMs: 10, maxConcurrent: 2 };
    const bus = await RabbitMqEventBus.open({ ...options, log: () => {} });
    const name = 'poisoned';
    const delivered: string[] = [];
    try {
      bus.subscribe({ name, eventTypes: ['Poisoned'], handle: async (event) => void delivered.push(event.eventId) });
      await bus.ready();
      const model = await connect(url);
      try {
        const channel = await model.createConfirmChannel();
        const poisons = [{ 'x-attempt': 'abc' }, { 'x-attempt': { '!': 'double', value: -1e20 } }, { 'x-other': { '!': 'double', value: -1e20 } }];
        for (const headers of poisons) channel.publish(options.exchange, 'Poisoned', Buffer.from('not JSON'), { persistent: true, headers });
        await channel.waitForConfirms();
      } finally {
        await model.close();
      }
      const event: StoredEvent = { eventId: randomUUID(), position: 1, streamId: `poisoned-${run}`, version: 1, type: 'Poisoned', data: {}, metadata: { correlationId: run }, occurredAt: new Date().toISOString() };
      await bus.publish([event]);
      const deadline = Date.now() + 10_000;
      let dead = 0;
      while ((dead < 3 || delivered.length === 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        dead = await messagesIn(url, `${options.queuePrefix}${name}.dead`);
      }
      assert.deepEqual(delivered, [event.eventId], 'the event published after the poisoned messages');
      assert.equal(dead, 3, 'the poisoned messages dead-lettered');
    } finally {
      await bus.close();
      await deleteBusTopology(url, options, [name]);
    }
  });
});

/** How many messages a queue holds (0 when it is not there), read without taking them. */
async function messagesIn(brokerUrl: string, queue: string): Promise<number> {
  const model = await connect(brokerUrl);
  try {
    const channel = await model.createChannel();
    return (await channel.checkQueue(queue)).messageCount;
  } catch {
    return 0;
  } finally {
    await model.close().catch(() => {});
  }
}
