import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import type { DeadLetter, DeadLetterQueue, ReplayOutcome, StoredEvent } from '../../kernel/ports';

function toDeadLetter(message: GetMessage): DeadLetter {
  const event = JSON.parse(message.content.toString()) as StoredEvent;
  const headers = message.properties.headers ?? {};
  return {
    id: String(message.properties.messageId ?? event.eventId),
    event,
    reason: String(headers['x-reason'] ?? 'unknown'),
    attempts: Number(headers['x-attempt'] ?? 0),
  };
}

/**
 * The `<prefix><subscription>.dead` queues of the RabbitMQ bus. Messages are taken
 * unacknowledged and given back (nack with requeue) unless handled, so a crash of the
 * tool loses none of them: the broker requeues whatever an abandoned channel held.
 */
export class RabbitMqDeadLetters implements DeadLetterQueue {
  private constructor(
    private readonly model: ChannelModel,
    private readonly queuePrefix: string,
  ) {}

  static async open(url: string, queuePrefix: string): Promise<RabbitMqDeadLetters> {
    return new RabbitMqDeadLetters(await connect(url), queuePrefix);
  }

  private async take<T>(subscription: string, work: (channel: Channel, queue: string) => Promise<T>): Promise<T> {
    const channel = await this.model.createChannel();
    try {
      const queue = `${this.queuePrefix}${subscription}.dead`;
      await channel.checkQueue(queue);
      return await work(channel, queue);
    } finally {
      await channel.close().catch(() => {});
    }
  }

  list(subscription: string, limit: number): Promise<DeadLetter[]> {
    return this.take(subscription, async (channel, queue) => {
      const held: GetMessage[] = [];
      for (let message = await channel.get(queue); message; message = held.length < limit ? await channel.get(queue) : false) held.push(message);
      for (const message of held) channel.nack(message, false, true);
      return held.map(toDeadLetter);
    });
  }

  /**
   * Moves dead letters back onto the subscription's own queue with a fresh attempt count:
   * the running consumers deliver them (or the next to start, if none runs). Each copy is
   * confirmed by the broker before its dead letter is acknowledged.
   */
  replay(subscription: string, options: { ids?: string[]; limit: number }): Promise<ReplayOutcome> {
    return this.take(subscription, async (channel, queue) => {
      const outcome: ReplayOutcome = { replayed: [], failed: [] };
      const keep: GetMessage[] = [];
      const publisher = await this.model.createConfirmChannel();
      const live = `${this.queuePrefix}${subscription}`;
      try {
        // A message held unacknowledged is not handed out again, so the loop sees each one once.
        for (let message = await channel.get(queue); message; message = await channel.get(queue)) {
          const letter = toDeadLetter(message);
          if ((options.ids && !options.ids.includes(letter.id)) || outcome.replayed.length + outcome.failed.length >= options.limit) {
            keep.push(message);
            continue;
          }
          try {
            const { 'x-attempt': _attempt, 'x-reason': _reason, ...headers } = message.properties.headers ?? {};
            publisher.sendToQueue(live, message.content, { ...message.properties, persistent: true, headers });
            await publisher.waitForConfirms();
            channel.ack(message);
            outcome.replayed.push(letter.id);
          } catch (error) {
            keep.push(message);
            outcome.failed.push({ id: letter.id, reason: error instanceof Error ? error.message : String(error) });
          }
        }
      } finally {
        for (const message of keep) channel.nack(message, false, true);
        await publisher.close().catch(() => {});
      }
      return outcome;
    });
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => {});
  }
}
