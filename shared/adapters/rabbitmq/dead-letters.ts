import { createHash } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import type { DeadLetter, DeadLetterQueue, ReplayOutcome } from '../../kernel/ports';
import { readDeadLetterBody } from '../dead-letter-body';

/** A body that is no event is shown as unreadable (never the body), not thrown on: the rest of the queue stays reachable. */
export function toDeadLetter(message: Pick<GetMessage, 'content' | 'properties'>): DeadLetter {
  const body = readDeadLetterBody(message.content);
  const headers = message.properties.headers ?? {};
  const facts = { reason: String(headers['x-reason'] ?? 'unknown'), attempts: Number(headers['x-attempt'] ?? 0) };
  const messageId = message.properties.messageId as string | undefined;
  if ('event' in body) return { id: String(messageId ?? body.event.eventId), event: body.event, ...facts };
  const id = messageId ? String(messageId) : `sha256:${createHash('sha256').update(message.content).digest('hex').slice(0, 16)}`;
  return { id, unreadable: body.unreadable, ...facts };
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
      const outcome: ReplayOutcome = { replayed: [], failed: [], unreadable: [] };
      const keep: GetMessage[] = [];
      const publisher = await this.model.createConfirmChannel();
      const live = `${this.queuePrefix}${subscription}`;
      try {
        // A message held unacknowledged is not handed out again, so the loop sees each one once.
        for (let message = await channel.get(queue); message; message = await channel.get(queue)) {
          const letter = toDeadLetter(message);
          if (options.ids && !options.ids.includes(letter.id)) {
            keep.push(message);
            continue;
          }
          // No consumer could take it: it would only come back here. Left for `drop`.
          if (letter.unreadable !== undefined) {
            keep.push(message);
            outcome.unreadable.push(letter.id);
            continue;
          }
          if (outcome.replayed.length + outcome.failed.length >= options.limit) {
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

  /** Acknowledges (removes) the dead letters selected; the others are given back. */
  drop(subscription: string, options: { ids?: string[]; unreadable?: boolean }): Promise<DeadLetter[]> {
    return this.take(subscription, async (channel, queue) => {
      const dropped: DeadLetter[] = [];
      const keep: GetMessage[] = [];
      try {
        for (let message = await channel.get(queue); message; message = await channel.get(queue)) {
          const letter = toDeadLetter(message);
          if (options.ids?.includes(letter.id) || (options.unreadable && letter.unreadable !== undefined)) {
            channel.ack(message);
            dropped.push(letter);
          } else {
            keep.push(message);
          }
        }
      } finally {
        for (const message of keep) channel.nack(message, false, true);
      }
      return dropped;
    });
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => {});
  }
}
