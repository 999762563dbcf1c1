import type { InvocationContext } from '@azure/functions';
import { InvalidInput } from '../../kernel/errors';
import { toStoredEvent } from '../../kernel/projection';
import type { EventHandlerDeclaration } from '../../kernel/routes';

/**
 * The longest wait before a failed delivery is given back. Well under the subscription's
 * lock duration (PT1M): the wait is spent holding the message's lock, and although the
 * host renews it (maxAutoLockRenewalDuration), a renewal that fails must not let the lock
 * lapse before the abandon, or the message comes back only when the lock expires and the
 * host logs a lost lock. It also bounds how long a waiting delivery holds one of the
 * instance's maxConcurrentCalls slots and how long a scale-in waits for it.
 */
export const REDELIVERY_CAP_MS = 20_000;

/**
 * How long to wait before giving back a delivery that failed, from its 1-based delivery
 * count: `baseMs` doubled for each earlier delivery, capped at `capMs`, times a jitter of
 * 0.8–1.2 (so the messages failed by one outage do not all come back in the same instant),
 * never above the cap. With BUS_RETRY_BASE_MS=100, ten deliveries span about a minute
 * (0.1, 0.2, 0.4 … 12.8, 20, 20 s); with 1000, about two minutes.
 */
export function redeliveryDelayMs(deliveryCount: number, baseMs: number, random: () => number = Math.random, capMs = REDELIVERY_CAP_MS): number {
  const attempt = Number.isFinite(deliveryCount) && deliveryCount >= 1 ? Math.floor(deliveryCount) : 1;
  const exponential = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(Math.min(capMs, exponential * (0.8 + 0.4 * random())));
}

/**
 * A failure no redelivery can mend: the message is not a domain event at all (not JSON,
 * or not the shape every handler decodes with `toStoredEvent`), or the handler rejected
 * its input as invalid in itself. Decided from the message, not the error's type: an SDK
 * can throw a SyntaxError of its own while a store is down.
 */
export function isPermanentFailure(message: unknown, error: unknown): boolean {
  if (error instanceof InvalidInput) return true;
  try {
    toStoredEvent(message);
    return false;
  } catch {
    return true;
  }
}

/** The 1-based delivery count the Service Bus trigger puts in the trigger metadata (1 if absent). */
export function deliveryCountOf(context: InvocationContext): number {
  const count = Number(context.triggerMetadata?.deliveryCount);
  return Number.isInteger(count) && count >= 1 ? count : 1;
}

export interface RedeliveryOptions {
  /** BUS_RETRY_BASE_MS: the wait after a first delivery fails. */
  baseMs: number;
  /**
   * BUS_MAX_ATTEMPTS. Service Bus, not this code, dead-letters a Functions-triggered
   * message: at the subscription's maxDeliveryCount, which the infrastructure must set to
   * this same value. Used here only to log when a delivery count goes past it, which
   * shows that the two disagree.
   */
  maxAttempts: number;
  /**
   * Told when the last delivery fails (the count at BUS_MAX_ATTEMPTS): Service Bus moves the
   * message to the dead-letter queue then, and only this code sees it happen.
   */
  onDeadLetter?: () => void;
  capMs?: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

type ServiceBusHandler = EventHandlerDeclaration['handler'];

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A Service Bus trigger handler that, when it fails, waits before it throws. The Functions
 * host then abandons the message and Service Bus redelivers it at once: Functions has no
 * retry policy for Service Bus triggers, and the extension's clientRetryOptions only retry
 * the SDK's own calls. So the back-off is spent here, holding the lock, and a ten-second
 * outage of Azure SQL or Cosmos DB no longer dead-letters a projection within a second.
 * A poison message is thrown back at once: waiting would only delay its dead letter.
 * `options` is read on the first failure, not at registration.
 */
export function withRedeliveryBackoff(handler: ServiceBusHandler, options: () => RedeliveryOptions): ServiceBusHandler {
  return async (message, context) => {
    try {
      await handler(message, context);
    } catch (error) {
      const deliveryCount = deliveryCountOf(context);
      const { baseMs, maxAttempts, onDeadLetter, capMs = REDELIVERY_CAP_MS, random = Math.random, sleep = sleepFor } = options();
      if (deliveryCount === maxAttempts) {
        // No redelivery follows: waiting would only hold the slot.
        context.error(`delivery ${deliveryCount} of ${maxAttempts} failed: Service Bus dead-letters the message (replay it with npm run dlq once the cause is fixed)`);
        onDeadLetter?.();
        throw error;
      }
      if (isPermanentFailure(message, error)) {
        context.error(`delivery ${deliveryCount} failed and cannot succeed (not a valid domain event, or invalid input): no back-off`);
        throw error;
      }
      if (deliveryCount > maxAttempts) {
        context.warn(`delivery ${deliveryCount} is past BUS_MAX_ATTEMPTS=${maxAttempts}: set the subscription's maxDeliveryCount to the same value`);
      }
      const delayMs = redeliveryDelayMs(deliveryCount, baseMs, random, capMs);
      context.warn(`delivery ${deliveryCount} failed; giving it back to Service Bus in ${delayMs} ms`);
      await sleep(delayMs);
      throw error;
    }
  };
}
