import { connect } from 'amqplib';

/** A bus's names on the broker: its exchange, and the prefix of its subscribers' queues. */
export interface BusNames {
  exchange: string;
  queuePrefix: string;
}

/**
 * Deletes what a test's bus declared on a shared broker: each subscriber's queue with its
 * `.retry` and `.dead` companions, and the exchange. Durable test queues would otherwise
 * outlive the run, and a broker that must recover thousands of them boots for minutes.
 */
export async function deleteBusTopology(url: string, names: BusNames, subscribers: readonly string[]): Promise<void> {
  const model = await connect(url);
  try {
    const channel = await model.createChannel();
    for (const name of subscribers) {
      for (const suffix of ['', '.retry', '.dead']) await channel.deleteQueue(`${names.queuePrefix}${name}${suffix}`);
    }
    await channel.deleteExchange(names.exchange);
  } finally {
    await model.close();
  }
}

/** The same, for a platform composed from settings (RABBITMQ_EXCHANGE, RABBITMQ_QUEUE_PREFIX). */
export function deletePlatformTopology(url: string, env: { RABBITMQ_EXCHANGE: string; RABBITMQ_QUEUE_PREFIX: string }, subscribers: readonly string[]) {
  return deleteBusTopology(url, { exchange: env.RABBITMQ_EXCHANGE, queuePrefix: env.RABBITMQ_QUEUE_PREFIX }, subscribers);
}
