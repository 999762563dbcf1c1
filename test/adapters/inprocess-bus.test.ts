import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InProcessEventBus } from '../../shared/adapters/inprocess/event-bus';
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
});
