import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InProcessEventBus } from '../../shared/adapters/inprocess/event-bus';
import type { EventStore, StoredEvent } from '../../shared/kernel/ports';
import type { Services } from '../../shared/kernel/services';
import { relayOutbox } from '../../shared/platform/outbox-relay';
import { eventBusContract, storedEvent } from '../contracts/event-bus.contract';

eventBusContract('in-process', async (maxAttempts) => {
  const bus = new InProcessEventBus({ maxAttempts, retryBaseMs: 2, maxConcurrent: 4 });
  return {
    bus,
    settle: () => bus.idle(),
    deadLettered: async (subscriber) => bus.deadLetters.filter((l) => l.subscriber === subscriber).map((l) => l.event),
    dispose: () => bus.close(),
  };
});

describe('in-process bus', () => {
  it('keeps at most maxConcurrent deliveries in flight per subscriber', async () => {
    const bus = new InProcessEventBus({ maxAttempts: 1, retryBaseMs: 1, maxConcurrent: 3 });
    let inFlight = 0;
    let peak = 0;
    bus.subscribe({
      name: 'slow',
      eventTypes: ['X'],
      handle: async () => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight -= 1;
      },
    });
    await bus.publish(Array.from({ length: 12 }, () => storedEvent('X')));
    await bus.idle();
    assert.equal(peak, 3);
    await bus.close();
  });

  it('tells an event delivered once every subscriber handled it or gave it up, never while a delivery is held or cut off by the close', async () => {
    const bus = new InProcessEventBus({ maxAttempts: 2, retryBaseMs: 1, maxConcurrent: 4 });
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    bus.subscribe({ name: 'held', eventTypes: ['X'], handle: () => held });
    bus.subscribe({ name: 'failing', eventTypes: ['X'], handle: async () => Promise.reject(new Error('always')) });
    bus.subscribe({ name: 'other', eventTypes: ['Y'], handle: async () => {} });
    const [x, y] = [storedEvent('X'), storedEvent('Y')];
    const told: string[] = [];
    await bus.publish([x, y]);
    bus.whenDelivered([x, y], () => told.push('x and y'));
    bus.whenDelivered([y], () => told.push('y'));
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(told, ['y'], 'x is still held by one subscriber (and dead-lettered by the other)');
    release();
    await bus.idle();
    assert.deepEqual(told, ['y', 'x and y'], 'told before idle resolves');
    bus.whenDelivered([storedEvent('X')], () => told.push('never published'));
    assert.equal(told.at(-1), 'never published', 'nothing to wait for: told at once');

    // The failing subscriber's retry is still waiting when the bus closes.
    const late = storedEvent('X');
    let cutOff = false;
    await bus.publish([late]);
    bus.whenDelivered([late], () => (cutOff = true));
    await bus.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(cutOff, false, 'a delivery the close cut short is not delivered: the next start relays it again');
  });

  it('is not handed again an event it still delivers: the relay, seeing its row unmarked, adds no second delivery nor dead letter', async () => {
    const bus = new InProcessEventBus({ maxAttempts: 3, retryBaseMs: 20, maxConcurrent: 4 });
    const handled: string[] = [];
    bus.subscribe({ name: 'healthy', eventTypes: ['X'], handle: async (event) => void handled.push(event.eventId) });
    bus.subscribe({ name: 'failing', eventTypes: ['X'], handle: async () => Promise.reject(new Error('always')) });
    const event = storedEvent('X');
    // The outbox as the relay sees it: the row stays until the bus says its deliveries are done.
    const outbox = new Map<string, StoredEvent>([[event.eventId, event]]);
    const eventStore = {
      pendingOutbox: async () => [...outbox.values()],
      markPublished: async (ids: string[]) => ids.forEach((id) => outbox.delete(id)),
    } as unknown as EventStore;
    const services = { eventStore, bus, telemetry: { metric: () => {} } } as unknown as Services;
    await bus.publish([event]);
    bus.whenDelivered([event], () => outbox.delete(event.eventId));
    // The failing subscriber's first retry is still waiting when the relay's timer comes round.
    assert.equal(await relayOutbox(services, undefined, 0), 1);
    await bus.idle();
    assert.equal(outbox.size, 0, 'marked once every delivery is done');
    assert.deepEqual(handled, [event.eventId], 'the healthy subscriber handled it once');
    assert.equal(bus.deadLetters.length, 1, 'the failing one dead-lettered it once (one alert)');
    await bus.close();
  });
});
