import { randomUUID } from 'node:crypto';
import { connect } from 'amqplib';

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
        // Durable test queues would outlive the run: remove them.
        const model = await connect(url);
        const channel = await model.createChannel();
        for (const name of subscribers) {
          for (const suffix of ['', '.retry', '.dead']) await channel.deleteQueue(`${options.queuePrefix}${name}${suffix}`);
        }
        await channel.deleteExchange(options.exchange);
        await model.close();
      },
    };
  });
});
