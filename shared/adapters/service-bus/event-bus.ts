import type {
  ServiceBusClient,
  ServiceBusMessage,
  ServiceBusReceivedMessage,
  ServiceBusReceiver,
  ServiceBusSender,
} from '@azure/service-bus';
import type { EventBus, StoredEvent, Subscriber } from '../../kernel/ports';
import type { ServiceBusConnectionSettings } from '../../kernel/settings';
import { azureCredential } from '../azure-identity/credential';
import { redeliveryDelayMs } from '../functions/redelivery';

export interface ServiceBusBusOptions {
  connection: ServiceBusConnectionSettings;
  topic: string;
  /** Deliveries before a message is dead-lettered here (the subscription's max delivery count is the backstop). */
  maxAttempts: number;
  retryBaseMs: number;
  maxConcurrent: number;
  log?(message: string, level?: 'info' | 'warning' | 'error'): void;
  /** Told of each delivery given up on (for the dead-letter metric). */
  onDeadLetter?(subscription: string): void;
}

/** What a domain event looks like on the topic: the event as the body, its routing facts as properties. */
export function toServiceBusMessage(event: StoredEvent): ServiceBusMessage {
  return {
    // The topic's duplicate detection drops a re-send of the same event (the outbox relay's).
    messageId: event.eventId,
    subject: event.type,
    contentType: 'application/json',
    correlationId: event.metadata.correlationId,
    body: event,
    applicationProperties: {
      streamId: event.streamId,
      version: event.version,
      position: event.position,
      occurredAt: event.occurredAt,
      ...(event.metadata.causationId ? { causationId: event.metadata.causationId } : {}),
      ...(event.metadata.traceparent ? { traceparent: event.metadata.traceparent, 'Diagnostic-Id': event.metadata.traceparent } : {}),
    },
  };
}

/** The rule a projector's subscription filters on: only the event types it handles. */
export function subscriptionFilter(eventTypes: readonly string[]): string {
  return `sys.label IN (${eventTypes.map((type) => `'${type.replace(/'/g, "''")}'`).join(', ')})`;
}

/**
 * Every operation of the client bounded: the SDK's defaults (60 s per attempt, 3 retries
 * 30 s apart) hold a send for up to about 5 minutes against a namespace that does not
 * answer. 10 s per attempt is far above a healthy send (tens of ms, a second or two when a
 * link and its token are being set up); 2 retries with an exponential back-off from 1 s
 * (capped at 5 s) ride out a throttle or a link moving; a publish as a whole is cancelled
 * after PUBLISH_TIMEOUT_MS. A
 * command does not wait that long: it bounds its own publish (PUBLISH_AFTER_COMMIT_TIMEOUT_MS)
 * and leaves the rest to the outbox relay.
 */
export const SERVICE_BUS_RETRY_OPTIONS = { timeoutInMs: 10_000, maxRetries: 2, retryDelayInMs: 1_000, maxRetryDelayInMs: 5_000, mode: 0 /* RetryMode.Exponential (the SDK is loaded lazily, so not imported here) */ };
/** The longest one `publish` (all its batches) may take before it is cancelled and left to the outbox. */
export const PUBLISH_TIMEOUT_MS = 30_000;

export async function openServiceBusClient(connection: ServiceBusConnectionSettings): Promise<ServiceBusClient> {
  const { ServiceBusClient } = await import('@azure/service-bus');
  const options = { retryOptions: SERVICE_BUS_RETRY_OPTIONS };
  if ('connectionString' in connection) return new ServiceBusClient(connection.connectionString, options);
  return new ServiceBusClient(connection.fullyQualifiedNamespace, await azureCredential(connection.managedIdentityClientId), options);
}

/**
 * The production bus. In Azure, projectors are Functions triggers on the topic's
 * subscriptions and this adapter only publishes; a host that subscribes (the local host
 * pointed at Azure, the contract suite) receives from the subscription named after the
 * subscriber, with the same semantics: a failure abandons the message after a back-off,
 * and at `maxAttempts` it is dead-lettered with its reason.
 */
export class ServiceBusEventBus implements EventBus {
  private sender?: ServiceBusSender;
  private readonly receivers: ServiceBusReceiver[] = [];
  private inFlight = 0;

  private constructor(
    private readonly client: ServiceBusClient,
    private readonly options: ServiceBusBusOptions,
  ) {}

  static async open(options: ServiceBusBusOptions): Promise<ServiceBusEventBus> {
    return new ServiceBusEventBus(await openServiceBusClient(options.connection), options);
  }

  private get publisher(): ServiceBusSender {
    this.sender ??= this.client.createSender(this.options.topic);
    return this.sender;
  }

  /** Sends in as few batches as the size limit allows; resolves once Service Bus has them all, or is cancelled after PUBLISH_TIMEOUT_MS. */
  async publish(events: StoredEvent[]): Promise<void> {
    const options = { abortSignal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS) };
    let batch = await this.publisher.createMessageBatch(options);
    for (const event of events) {
      const message = toServiceBusMessage(event);
      if (batch.tryAddMessage(message)) continue;
      if (batch.count === 0) throw new Error(`event ${event.eventId} is larger than a Service Bus message may be`);
      await this.publisher.sendMessages(batch, options);
      batch = await this.publisher.createMessageBatch(options);
      if (!batch.tryAddMessage(message)) throw new Error(`event ${event.eventId} is larger than a Service Bus message may be`);
    }
    if (batch.count > 0) await this.publisher.sendMessages(batch, options);
  }

  subscribe(subscriber: Subscriber): void {
    const receiver = this.client.createReceiver(this.options.topic, subscriber.name);
    this.receivers.push(receiver);
    receiver.subscribe(
      {
        processMessage: (message) => this.deliver(subscriber, receiver, message),
        processError: async ({ error }) => this.options.log?.(`service bus receive error on ${subscriber.name}: ${error.message}`, 'warning'),
      },
      { autoCompleteMessages: false, maxConcurrentCalls: this.options.maxConcurrent },
    );
  }

  private async deliver(subscriber: Subscriber, receiver: ServiceBusReceiver, message: ServiceBusReceivedMessage) {
    this.inFlight += 1;
    try {
      try {
        await subscriber.handle(message.body as StoredEvent);
      } catch (error) {
        await this.giveBack(subscriber, receiver, message, error);
        return;
      }
      // Handled: a completion that fails (a lock lost, a link detached) lets the message come
      // back when its lock lapses, to be handled again (harmless), never dead-lettered as failed.
      await receiver.completeMessage(message).catch((error: unknown) =>
        this.options.log?.(`could not complete ${message.messageId} for ${subscriber.name}, handled; it comes back when its lock lapses: ${error instanceof Error ? error.message : String(error)}`, 'warning'),
      );
    } finally {
      this.inFlight -= 1;
    }
  }

  /** A failed delivery: dead-lettered with its reason at `maxAttempts`, else abandoned after a back-off. */
  private async giveBack(subscriber: Subscriber, receiver: ServiceBusReceiver, message: ServiceBusReceivedMessage, error: unknown) {
    const reason = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
    const attempt = message.deliveryCount ?? 1;
    if (attempt >= this.options.maxAttempts) {
      await receiver.deadLetterMessage(message, { deadLetterReason: 'handler-failed', deadLetterErrorDescription: reason });
      this.options.log?.(`dead-lettered ${message.messageId} for ${subscriber.name} after ${attempt} attempts`, 'error');
      this.options.onDeadLetter?.(subscriber.name);
    } else {
      // Abandon redelivers at once; the back-off is spent holding the lock instead (as the Functions registration does).
      await new Promise((resolve) => setTimeout(resolve, redeliveryDelayMs(attempt, this.options.retryBaseMs)));
      await receiver.abandonMessage(message);
    }
  }

  async idle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  }

  /** Opens an AMQP link to the topic: fails when the namespace is unreachable or the identity lacks rights. */
  async ping(): Promise<void> {
    const batch = await this.publisher.createMessageBatch();
    if (batch.maxSizeInBytes <= 0) throw new Error('service bus answered without a batch size');
  }

  async close(): Promise<void> {
    await Promise.all(this.receivers.map((receiver) => receiver.close().catch(() => {})));
    await this.sender?.close().catch(() => {});
    await this.client.close();
  }
}
