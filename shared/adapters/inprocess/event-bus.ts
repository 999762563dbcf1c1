import type { EventBus, StoredEvent, Subscriber } from '../../kernel/ports';

export interface DeadLetter {
  subscriber: string;
  event: StoredEvent;
  attempts: number;
  reason: string;
}

export interface InProcessBusOptions {
  maxAttempts: number;
  /** Deliveries in flight per subscriber (Service Bus: maxConcurrentCalls in host.json). */
  maxConcurrent: number;
  retryBaseMs: number;
  onDeadLetter?(letter: DeadLetter): void;
}

interface Delivery {
  event: StoredEvent;
  attempt: number;
}

/** An event's deliveries not yet handled nor dead-lettered, and what waits for them. */
interface Outstanding {
  deliveries: number;
  waiting: (() => void)[];
}

/**
 * The delivery semantics projectors get from a Service Bus subscription, in memory:
 * each subscriber has its own queue, gets a serialised copy of every event of its
 * types at least once, several at a time and so in no guaranteed order; a failed
 * delivery comes back later with exponential back-off (without holding up the rest of
 * the queue), and after `maxAttempts` it goes to the dead-letter list.
 */
export class InProcessEventBus implements EventBus {
  private readonly queues = new Map<Subscriber, Delivery[]>();
  private readonly active = new Map<Subscriber, number>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly outstanding = new Map<string, Outstanding>();
  readonly deadLetters: DeadLetter[] = [];
  private closed = false;

  constructor(private readonly options: InProcessBusOptions) {}

  subscribe(subscriber: Subscriber): void {
    this.queues.set(subscriber, []);
  }

  async publish(events: StoredEvent[]): Promise<void> {
    if (this.closed) throw new Error('the bus is closed');
    for (const event of events) {
      // Still being delivered here (the relay saw its row unmarked, as it stays until then): each
      // subscriber handles or dead-letters it in this process, so another round would only double it.
      if (this.outstanding.has(event.eventId)) continue;
      // The wire copy: a handler can neither share nor mutate another's event.
      const wire = JSON.stringify(event);
      for (const [subscriber, queue] of this.queues) {
        if (!subscriber.eventTypes.includes(event.type)) continue;
        queue.push({ event: JSON.parse(wire), attempt: 1 });
        this.outstandingOf(event.eventId).deliveries += 1;
      }
    }
    for (const subscriber of this.queues.keys()) this.drain(subscriber);
  }

  /** Keeps up to `maxConcurrent` deliveries in flight per subscriber, as a Functions host does. */
  private drain(subscriber: Subscriber) {
    const queue = this.queues.get(subscriber)!;
    let active = this.active.get(subscriber) ?? 0;
    while (active < this.options.maxConcurrent && queue.length > 0) {
      const delivery = queue.shift()!;
      active += 1;
      void this.deliver(subscriber, delivery);
    }
    this.active.set(subscriber, active);
  }

  /**
   * Calls `then` once every delivery of these events so far has been handled or dead-lettered
   * (synchronously, before `idle` resolves): held in memory until then, they would be lost with
   * the process, so the outbox keeps them. A delivery the bus's close cut short never settles:
   * the next start's relay publishes it again.
   */
  whenDelivered(events: StoredEvent[], then: () => void): void {
    const pending = events.map((event) => this.outstanding.get(event.eventId)).filter((entry) => entry !== undefined);
    let left = pending.length;
    if (left === 0) return then();
    for (const entry of pending) entry.waiting.push(() => --left === 0 && then());
  }

  private outstandingOf(eventId: string): Outstanding {
    let entry = this.outstanding.get(eventId);
    if (!entry) this.outstanding.set(eventId, (entry = { deliveries: 0, waiting: [] }));
    return entry;
  }

  private settled(eventId: string) {
    const entry = this.outstanding.get(eventId);
    if (!entry || --entry.deliveries > 0) return;
    this.outstanding.delete(eventId);
    for (const then of entry.waiting) then();
  }

  private async deliver(subscriber: Subscriber, delivery: Delivery) {
    let handled = false;
    try {
      await subscriber.handle(delivery.event);
      handled = true;
    } catch (error) {
      this.retryOrDeadLetter(subscriber, delivery, error);
    }
    if (handled) this.settled(delivery.event.eventId);
    this.active.set(subscriber, this.active.get(subscriber)! - 1);
    this.drain(subscriber);
    this.notifyIfIdle();
  }

  private retryOrDeadLetter(subscriber: Subscriber, delivery: Delivery, error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    if (delivery.attempt >= this.options.maxAttempts || this.closed) {
      const letter = { subscriber: subscriber.name, event: delivery.event, attempts: delivery.attempt, reason };
      this.deadLetters.push(letter);
      this.options.onDeadLetter?.(letter);
      // Given up for good, not cut short by the close: the relay would only fail it again.
      if (!this.closed) this.settled(delivery.event.eventId);
      return;
    }
    const delay = Math.min(30_000, this.options.retryBaseMs * 2 ** (delivery.attempt - 1)) * (0.8 + Math.random() * 0.4);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.queues.get(subscriber)?.push({ event: delivery.event, attempt: delivery.attempt + 1 });
      this.drain(subscriber);
    }, delay);
    this.retryTimers.add(timer);
  }

  private isIdle() {
    return (
      this.retryTimers.size === 0 &&
      [...this.active.values()].every((n) => n === 0) &&
      [...this.queues.values()].every((q) => !q.length)
    );
  }

  private notifyIfIdle() {
    if (!this.isIdle()) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Resolves when every delivery, including pending retries, has finished. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async ping(): Promise<void> {
    if (this.closed) throw new Error('the bus is closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
