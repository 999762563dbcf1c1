import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { EventBus, StoredEvent, Subscriber } from '../../kernel/ports';
import { parsedBody } from '../../kernel/projection';
import { withTimeout } from '../../kernel/timeout';

export interface RabbitMqBusOptions {
  url: string;
  /** The topic exchange every context publishes to. */
  exchange: string;
  /** Queue names: `<prefix><subscriber>`, with `.retry` and `.dead` beside each. */
  queuePrefix: string;
  maxAttempts: number;
  retryBaseMs: number;
  /** Unacknowledged deliveries per consumer channel (prefetch). */
  maxConcurrent: number;
  log?(message: string, level?: 'info' | 'warning' | 'error'): void;
  /** Told of each delivery given up on (for the dead-letter metric). */
  onDeadLetter?(subscription: string): void;
}

const ATTEMPT = 'x-attempt';
/** `<queue>.retry` holds a failed delivery for its back-off, then dead-letters it back to `<queue>`. */
const retryQueueOptions = (queue: string) => ({ durable: true, deadLetterExchange: '', deadLetterRoutingKey: queue });
const DEAD_QUEUE_OPTIONS = { durable: true };

/** A delivery's attempt from its `x-attempt` header: a count this bus wrote, else (absent, text, NaN, negative, huge) a first attempt. */
function attemptOf(message: ConsumeMessage): number {
  const attempt = Number(message.properties.headers?.[ATTEMPT] ?? 1);
  return Number.isSafeInteger(attempt) && attempt >= 1 ? attempt : 1;
}

/**
 * Sends a copy of a failed delivery to `queue`, its headers kept with `headers` over them.
 * amqplib throws while encoding a header it cannot write back (a double such as -1e20 read
 * as an integer, then out of int64's range): the copy then goes with `headers` alone, rather
 * than never, which left the delivery unacknowledged on its channel for good. A throw there
 * precedes any write and any confirm slot, so the second send is the channel's only one.
 */
function sendCopy(publisher: ConfirmChannel, queue: string, message: ConsumeMessage, expiration: string | undefined, headers: Record<string, unknown>) {
  const options = { ...message.properties, persistent: true, ...(expiration === undefined ? {} : { expiration }) };
  try {
    publisher.sendToQueue(queue, message.content, { ...options, headers: { ...message.properties.headers, ...headers } });
  } catch {
    publisher.sendToQueue(queue, message.content, { ...options, headers });
  }
}

/**
 * AMQP heartbeat, in seconds, asked of the broker unless the URL sets `heartbeat`. A
 * frozen or silently gone broker (a SIGSTOP, a dropped route) sends nothing and closes
 * nothing: without heartbeats the client notices only when TCP gives up, minutes later.
 * amqplib closes the connection after two missed beats, so 10 to 15 s here (measured by
 * the fault suite), and the bus reconnects; 5 s beats cost one tiny frame each way.
 */
export const HEARTBEAT_SECONDS = 5;
/** Opening a connection (TCP, TLS, AMQP handshake): a broker that accepts but never answers fails it. */
export const CONNECT_TIMEOUT_MS = 5_000;
/**
 * The longest `publish` waits for the broker's confirms (the outbox relay's batches; a
 * command bounds its own wait tighter, PUBLISH_AFTER_COMMIT_TIMEOUT_MS). Past it the
 * publish fails and the events stay in the outbox; a healthy broker confirms a 500-event
 * batch in well under a second.
 */
export const PUBLISH_TIMEOUT_MS = 10_000;

/** The broker URL with `heartbeat` added when it names none. */
export function withHeartbeat(url: string, seconds = HEARTBEAT_SECONDS): string {
  const parsed = new URL(url);
  if (parsed.searchParams.has('heartbeat')) return url;
  parsed.searchParams.set('heartbeat', String(seconds));
  return parsed.toString();
}

/**
 * The development bus on RabbitMQ (the proposal's choice), with the delivery semantics
 * projectors get from Service Bus:
 * - a durable topic exchange; one durable queue per subscriber, bound to its event types;
 * - publisher confirms: `publish` resolves only once the broker has the events;
 * - manual acks, at least once, up to `maxConcurrent` in flight;
 * - a failed delivery is copied to `<queue>.retry` with a per-message TTL that
 *   dead-letters it back to the queue after an exponential back-off, and after
 *   `maxAttempts` to `<queue>.dead`; the original is acked only once the copy is confirmed;
 * - it reconnects by itself. While it is away `publish` throws and the outbox keeps the
 *   events, so nothing confirmed is lost and nothing unconfirmed is forgotten;
 * - nothing waits on the broker without a bound: heartbeats (HEARTBEAT_SECONDS), a
 *   connect timeout, and a bound on every publish's confirms (PUBLISH_TIMEOUT_MS).
 */
export class RabbitMqEventBus implements EventBus {
  private model?: ChannelModel;
  private publisher?: ConfirmChannel;
  private consumer?: Channel;
  private readonly subscribers: Subscriber[] = [];
  private inFlight = 0;
  private closed = false;
  private reconnecting?: NodeJS.Timeout;
  private declaring: Promise<void> = Promise.resolve();
  /**
   * Subscriptions not (yet) bound on the broker. While any is, `publish` refuses: the
   * broker would confirm events routed to no queue for it, and that projection or reaction
   * would never see them. Refused, they stay in the outbox until the binding is made.
   */
  private readonly unbound = new Set<Subscriber>();
  private lastConnectFailure?: string;
  private readonly reconnectedListeners: (() => void)[] = [];

  private constructor(private readonly options: RabbitMqBusOptions) {}

  static async open(options: RabbitMqBusOptions): Promise<RabbitMqEventBus> {
    const bus = new RabbitMqEventBus(options);
    await bus.connect().catch((error) => {
      bus.log(`rabbitmq unavailable at start: ${error.message}`);
      bus.scheduleReconnect(1);
    });
    return bus;
  }

  private log(message: string, level: 'info' | 'warning' | 'error' = 'warning') {
    this.options.log?.(message, level);
  }

  private queueOf(subscriber: Subscriber) {
    return `${this.options.queuePrefix}${subscriber.name}`;
  }

  private async connect(): Promise<void> {
    const model = await connect(withHeartbeat(this.options.url), { timeout: CONNECT_TIMEOUT_MS });
    model.on('error', (error: Error) => this.log(`rabbitmq connection error: ${error.message}`));
    model.on('close', () => {
      // A late close of a connection already replaced must not orphan the current one.
      if (this.model !== undefined && this.model !== model) return;
      this.model = this.publisher = this.consumer = undefined;
      if (!this.closed) this.scheduleReconnect(1);
    });
    // Until this connection has declared every subscription, publishing waits: a broker that
    // came back without its queues (a new node, a deleted queue) would confirm events routed nowhere.
    for (const subscriber of this.subscribers) this.unbound.add(subscriber);
    const publisher = await model.createConfirmChannel();
    await publisher.assertExchange(this.options.exchange, 'topic', { durable: true });
    const consumer = await model.createChannel();
    await consumer.prefetch(this.options.maxConcurrent);
    // A channel the broker closes on an error (a failed declaration) takes the connection
    // with it: the reconnection declares every subscription afresh on new channels.
    for (const channel of [publisher, consumer]) channel.on('close', () => void model.close().catch(() => {}));
    this.model = model;
    this.publisher = publisher;
    this.consumer = consumer;
    for (const subscriber of this.subscribers) await this.declare(subscriber);
    this.unbound.clear();
    this.log('rabbitmq connected', 'info');
  }

  private scheduleReconnect(attempt: number) {
    if (this.closed || this.reconnecting) return;
    const delay = Math.min(100 * 2 ** attempt, 5_000);
    this.reconnecting = setTimeout(async () => {
      this.reconnecting = undefined;
      try {
        await this.connect();
        this.lastConnectFailure = undefined;
      } catch (error) {
        // Said once per reason, not at every attempt of a long outage.
        const reason = error instanceof Error ? error.message : String(error);
        if (reason !== this.lastConnectFailure) this.log(`rabbitmq reconnection failed: ${reason}`);
        this.lastConnectFailure = reason;
        this.scheduleReconnect(attempt + 1);
        return;
      }
      for (const listener of this.reconnectedListeners) {
        try {
          listener();
        } catch (error) {
          this.log(`a reconnection listener failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }, delay);
  }

  private async declare(subscriber: Subscriber) {
    const consumer = this.consumer;
    // Not connected: the connection, when it comes, declares every subscription.
    if (!consumer) throw new Error('rabbitmq is not connected');
    const queue = this.queueOf(subscriber);
    await consumer.assertQueue(queue, { durable: true });
    await consumer.assertQueue(`${queue}.retry`, retryQueueOptions(queue));
    await consumer.assertQueue(`${queue}.dead`, DEAD_QUEUE_OPTIONS);
    for (const type of subscriber.eventTypes) await consumer.bindQueue(queue, this.options.exchange, type);
    await consumer.consume(queue, (message) => void this.deliver(subscriber, consumer, message), { noAck: false });
  }

  subscribe(subscriber: Subscriber): void {
    this.subscribers.push(subscriber);
    this.unbound.add(subscriber);
    this.declaring = this.declaring
      .then(async () => {
        await this.declare(subscriber);
        this.unbound.delete(subscriber);
      })
      .catch((error) => this.log(`subscribe failed for ${subscriber.name} (publishing waits for it): ${error.message}`));
  }

  onReconnected(listener: () => void): void {
    this.reconnectedListeners.push(listener);
  }

  /** Resolves once every subscription made so far is declared on the broker. */
  ready(): Promise<void> {
    return this.declaring;
  }

  /** Resolves once the broker confirmed every event; rejects when it is away or has not confirmed within PUBLISH_TIMEOUT_MS. */
  async publish(events: StoredEvent[]): Promise<void> {
    if (!this.publisher) throw new Error('rabbitmq is not connected');
    await withTimeout(this.publishConfirmed(events), PUBLISH_TIMEOUT_MS, `rabbitmq did not confirm ${events.length} event(s) within ${PUBLISH_TIMEOUT_MS} ms`);
  }

  private async publishConfirmed(events: StoredEvent[]): Promise<void> {
    // Subscriptions made before this publish are bound first: an unbound event would be routed nowhere.
    await this.declaring;
    if (this.unbound.size > 0) {
      const names = [...this.unbound].map((subscriber) => subscriber.name).join(', ');
      throw new Error(`rabbitmq: ${names} not bound yet; the events stay in the outbox until it is`);
    }
    const publisher = this.publisher;
    if (!publisher) throw new Error('rabbitmq is not connected');
    // Each publish waits for its own confirms, not for every earlier publish's (waitForConfirms would).
    await Promise.all(
      events.map(
        (event) =>
          new Promise<void>((resolve, reject) => {
            publisher.publish(
              this.options.exchange,
              event.type,
              Buffer.from(JSON.stringify(event)),
              {
                persistent: true,
                contentType: 'application/json',
                messageId: event.eventId,
                type: event.type,
                correlationId: event.metadata.correlationId,
                headers: { 'x-stream-id': event.streamId, 'x-version': event.version, ...(event.metadata.traceparent ? { traceparent: event.metadata.traceparent } : {}) },
              },
              (error) => (error ? reject(error instanceof Error ? error : new Error('rabbitmq refused the event')) : resolve()),
            );
          }),
      ),
    );
  }

  private async deliver(subscriber: Subscriber, consumer: Channel, message: ConsumeMessage | null) {
    if (!message) {
      // The broker cancelled the consumer (its queue was deleted): events for this subscription
      // would be routed nowhere. Publishing stops, and a new connection declares it again.
      this.log(`rabbitmq cancelled the consumer of ${subscriber.name}; reconnecting to declare it again`);
      this.unbound.add(subscriber);
      await this.model?.close().catch(() => {});
      return;
    }
    const attempt = attemptOf(message);
    this.inFlight += 1;
    try {
      // Refused by its size only when it is not JSON: the parser's message would quote the body into the dead letter's x-reason.
      await subscriber.handle(parsedBody(message.content.toString()) as StoredEvent);
      consumer.ack(message);
    } catch (error) {
      await this.retryOrDeadLetter(subscriber, consumer, message, attempt, error instanceof Error ? error.message : String(error)).catch((failure) => {
        // The broker is gone: the unacked message comes back when the connection does.
        this.log(`could not reschedule a delivery: ${failure.message}`);
      });
    } finally {
      this.inFlight -= 1;
    }
  }

  private async retryOrDeadLetter(subscriber: Subscriber, consumer: Channel, message: ConsumeMessage, attempt: number, reason: string) {
    const publisher = this.publisher;
    if (!publisher) throw new Error('rabbitmq is not connected');
    const queue = this.queueOf(subscriber);
    const dead = attempt >= this.options.maxAttempts;
    // Declared again first: deleted under the bus (nothing consumes it, so nothing tells), the
    // queue would take the copy nowhere, the broker would confirm it, and the ack lose the event.
    await publisher.assertQueue(dead ? `${queue}.dead` : `${queue}.retry`, dead ? DEAD_QUEUE_OPTIONS : retryQueueOptions(queue));
    if (dead) {
      sendCopy(publisher, `${queue}.dead`, message, undefined, { [ATTEMPT]: attempt, 'x-reason': reason.slice(0, 500) });
      this.log(`dead-lettered ${message.properties.messageId} for ${subscriber.name} after ${attempt} attempts`, 'error');
      this.options.onDeadLetter?.(subscriber.name);
    } else {
      const delay = Math.round(Math.min(30_000, this.options.retryBaseMs * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4));
      sendCopy(publisher, `${queue}.retry`, message, String(delay), { [ATTEMPT]: attempt + 1 });
    }
    // The copy is safe before the original goes: at worst, one more delivery.
    await publisher.waitForConfirms();
    consumer.ack(message);
  }

  /** The dead-lettered events of a subscriber, read without taking them. */
  async deadLettered(subscriberName: string): Promise<StoredEvent[]> {
    const channel = await this.model!.createChannel();
    const queue = `${this.options.queuePrefix}${subscriberName}.dead`;
    const events: StoredEvent[] = [];
    for (let message = await channel.get(queue); message; message = await channel.get(queue)) events.push(JSON.parse(message.content.toString()));
    await channel.close();
    return events;
  }

  /**
   * Best effort for a broker: resolves when no delivery is in flight and every queue and
   * retry queue has been empty twice in a row (or after `timeoutMs`).
   */
  async idle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    while (quiet < 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      // A broker lost mid-check (its connection closed) counts as not quiet, until the deadline.
      quiet = (await this.isQuiet().catch(() => false)) ? quiet + 1 : 0;
    }
  }

  private async isQuiet(): Promise<boolean> {
    // Only queues declared already: checking one still being declared (idle right after
    // subscribing, as `npm start` does on a fresh broker) is a 404, which closes the
    // consumer channel and leaves the declarations after it unbound.
    await this.declaring;
    if (this.inFlight > 0) return false;
    if (!this.consumer) return true;
    for (const subscriber of this.subscribers) {
      const queue = this.queueOf(subscriber);
      const [main, retry] = await Promise.all([this.consumer.checkQueue(queue), this.consumer.checkQueue(`${queue}.retry`)]);
      if (main.messageCount > 0 || retry.messageCount > 0) return false;
    }
    return this.inFlight === 0;
  }

  async ping(): Promise<void> {
    if (!this.publisher) throw new Error('rabbitmq is not connected');
    await this.publisher.checkExchange(this.options.exchange);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnecting) clearTimeout(this.reconnecting);
    await this.model?.close().catch(() => {});
  }
}
