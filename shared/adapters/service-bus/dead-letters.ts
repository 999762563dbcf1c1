import type { ServiceBusClient, ServiceBusReceivedMessage } from '@azure/service-bus';
import type { DeadLetter, DeadLetterQueue, ReplayOutcome, StoredEvent } from '../../kernel/ports';
import type { ServiceBusConnectionSettings } from '../../kernel/settings';
import { readDeadLetterBody } from '../dead-letter-body';
import { openServiceBusClient } from './event-bus';

type Received = Pick<ServiceBusReceivedMessage, 'body' | 'messageId' | 'sequenceNumber' | 'deadLetterReason' | 'deadLetterErrorDescription' | 'deliveryCount'>;

/**
 * The body as the SDK decoded it: an object for JSON, else a string or bytes (parsed if
 * they are JSON). One that is no event is shown as unreadable, never thrown on.
 */
export function toDeadLetter(message: Received): DeadLetter {
  const body = readDeadLetterBody(message.body);
  const facts = {
    reason: [message.deadLetterReason, message.deadLetterErrorDescription].filter(Boolean).join(': ') || 'unknown',
    attempts: message.deliveryCount ?? 0,
  };
  if ('event' in body) return { id: String(message.messageId ?? body.event.eventId), event: body.event, ...facts };
  const id = message.messageId !== undefined ? String(message.messageId) : `seq:${message.sequenceNumber?.toString() ?? 'unknown'}`;
  return { id, unreadable: body.unreadable, ...facts };
}

/** The handler of a subscription, run by the operator's process on the app's settings. */
export type HandlerFor = (subscription: string) => Promise<(event: StoredEvent) => Promise<void>>;

/**
 * A subscription's dead-letter sub-queue. Replay runs the subscriber's own handler on
 * each message (against the same Azure SQL and Cosmos DB the app uses) and completes
 * it: sending it to the topic again would reach every subscription, and duplicate
 * detection would drop it within its window anyway.
 */
export class ServiceBusDeadLetters implements DeadLetterQueue {
  private constructor(
    private readonly client: ServiceBusClient,
    private readonly topic: string,
    private readonly handlerFor: HandlerFor,
  ) {}

  static async open(connection: ServiceBusConnectionSettings, topic: string, handlerFor: HandlerFor): Promise<ServiceBusDeadLetters> {
    return new ServiceBusDeadLetters(await openServiceBusClient(connection), topic, handlerFor);
  }

  private receiver(subscription: string) {
    return this.client.createReceiver(this.topic, subscription, { subQueueType: 'deadLetter', receiveMode: 'peekLock' });
  }

  async list(subscription: string, limit: number): Promise<DeadLetter[]> {
    const receiver = this.receiver(subscription);
    try {
      return (await receiver.peekMessages(limit)).map(toDeadLetter);
    } finally {
      await receiver.close();
    }
  }

  async replay(subscription: string, options: { ids?: string[]; limit: number }): Promise<ReplayOutcome> {
    const handle = await this.handlerFor(subscription);
    const receiver = this.receiver(subscription);
    const outcome: ReplayOutcome = { replayed: [], failed: [], unreadable: [] };
    // Given back only at the end: an abandoned message would come straight back to this loop.
    const held: ServiceBusReceivedMessage[] = [];
    try {
      for (;;) {
        const messages = await receiver.receiveMessages(100, { maxWaitTimeInMs: 2_000 });
        if (messages.length === 0) break;
        for (const message of messages) {
          const letter = toDeadLetter(message);
          if (letter.unreadable !== undefined) {
            // No handler could take it: left for `drop`.
            held.push(message);
            if (!options.ids || options.ids.includes(letter.id)) outcome.unreadable.push(letter.id);
            continue;
          }
          const wanted = (!options.ids || options.ids.includes(letter.id)) && outcome.replayed.length + outcome.failed.length < options.limit;
          if (!wanted) {
            held.push(message);
            continue;
          }
          try {
            await handle(letter.event);
            await receiver.completeMessage(message);
            outcome.replayed.push(letter.id);
          } catch (error) {
            held.push(message);
            outcome.failed.push({ id: letter.id, reason: error instanceof Error ? error.message : String(error) });
          }
        }
      }
      return outcome;
    } finally {
      for (const message of held) await receiver.abandonMessage(message).catch(() => {});
      await receiver.close();
    }
  }

  /** Completes (removes) the dead letters selected; the others are given back at the end. */
  async drop(subscription: string, options: { ids?: string[]; unreadable?: boolean }): Promise<DeadLetter[]> {
    const receiver = this.receiver(subscription);
    const dropped: DeadLetter[] = [];
    const held: ServiceBusReceivedMessage[] = [];
    try {
      for (;;) {
        const messages = await receiver.receiveMessages(100, { maxWaitTimeInMs: 2_000 });
        if (messages.length === 0) break;
        for (const message of messages) {
          const letter = toDeadLetter(message);
          if (options.ids?.includes(letter.id) || (options.unreadable && letter.unreadable !== undefined)) {
            await receiver.completeMessage(message);
            dropped.push(letter);
          } else {
            held.push(message);
          }
        }
      }
      return dropped;
    } finally {
      for (const message of held) await receiver.abandonMessage(message).catch(() => {});
      await receiver.close();
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
