import type { InvocationContext } from '@azure/functions';
import type { Services } from '../kernel/services';
import { flushPublishedMarks } from '../kernel/outbox-marks';
import { METRICS } from '../kernel/telemetry';

const BATCH = 500;

/**
 * Publishes outbox rows the command handlers did not (a crash between commit and
 * publish, a bus outage). Only rows older than a few seconds are taken, so a handler
 * still publishing its own events is not doubled; a double is harmless anyway, since
 * every consumer drops duplicates.
 */
export async function relayOutbox(
  services: Services,
  context?: InvocationContext,
  minAgeMs = services.settings.outboxRelayMinAgeMs,
): Promise<number> {
  let published = 0;
  // Marks the commands gathered go first, so that what they published is not published again.
  await flushPublishedMarks(services.eventStore);
  for (;;) {
    const pending = await services.eventStore.pendingOutbox(minAgeMs, BATCH);
    if (pending.length === 0) break;
    await services.bus.publish(pending);
    // A bus that holds its deliveries in memory has them only once they are done: a crash before, and they stay in the outbox.
    if (services.bus.whenDelivered) await new Promise<void>((resolve) => services.bus.whenDelivered!(pending, resolve));
    services.telemetry.metric(METRICS.eventsPublished, pending.length, { via: 'outbox-relay' });
    await services.eventStore.markPublished(pending.map((event) => event.eventId));
    published += pending.length;
    if (pending.length < BATCH) break;
  }
  if (published > 0) context?.log(`outbox relay published ${published} event(s)`);
  return published;
}
