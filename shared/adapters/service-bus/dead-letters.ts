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
    const outcome: ReplayOutcome = { replayed: [], failed: [], unreadable: [] };
    await this.settleEach(subscription, async (letter) => {
      if (letter.unreadable !== undefined) {
        // No handler could take it: left for `drop`.
        if (!options.ids || options.ids.includes(letter.id)) outcome.unreadable.push(letter.id);
        return false;
      }
      const wanted = (!options.ids || options.ids.includes(letter.id)) && outcome.replayed.length + outcome.failed.length < options.limit;
      if (!wanted) return false;
      try {
        await handle(letter.event);
        outcome.replayed.push(letter.id);
        return true;
      } catch (error) {
        outcome.failed.push({ id: letter.id, reason: error instanceof Error ? error.message : String(error) });
        return false;
      }
    });
    return outcome;
  }

  /** Completes (removes) the dead letters selected; the others are given back at the end. */
  async drop(subscription: string, options: { ids?: string[]; unreadable?: boolean }): Promise<DeadLetter[]> {
    const dropped: DeadLetter[] = [];
    await this.settleEach(subscription, async (letter) => {
      const chosen = Boolean(options.ids?.includes(letter.id) || (options.unreadable && letter.unreadable !== undefined));
      if (chosen) dropped.push(letter);
      return chosen;
    });
    return dropped;
  }

  /**
   * Receives every dead letter of a subscription once: `complete` says whether to complete
   * (remove) it. The others are given back only at the end: an abandoned message would come
   * straight back to this loop.
   */
  private async settleEach(subscription: string, complete: (letter: DeadLetter) => Promise<boolean>): Promise<void> {
    const receiver = this.receiver(subscription);
    const held: ServiceBusReceivedMessage[] = [];
    try {
      for (;;) {
        const messages = await receiver.receiveMessages(100, { maxWaitTimeInMs: 2_000 });
        if (messages.length === 0) break;
        for (const message of messages) {
          // A completion that fails (a lost lock) leaves the letter dead-lettered: handling it again is safe.
          const completed = (await complete(toDeadLetter(message))) && (await receiver.completeMessage(message).then(() => true, () => false));
          if (!completed) held.push(message);
        }
      }
    } finally {
      for (const message of held) await receiver.abandonMessage(message).catch(() => {});
      await receiver.close();
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
