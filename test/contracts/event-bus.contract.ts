import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import type { EventBus, StoredEvent } from '../../shared/kernel/ports';

let position = 0;
export function storedEvent(type: string, streamId = `s-${randomUUID()}`, version = 1): StoredEvent {
  position += 1;
  return {
    position,
    eventId: randomUUID(),
    streamId,
    version,
    type,
    data: { n: position },
    metadata: { correlationId: 'c' },
    occurredAt: new Date().toISOString(),
  };
}

export interface BusUnderTest {
  bus: EventBus;
  /** Resolves when the bus has nothing in flight (or after a settle time for brokers). */
  settle(): Promise<void>;
  deadLettered(subscriber: string): Promise<StoredEvent[]>;
  dispose(): Promise<void>;
}

/** The delivery semantics every EventBus adapter owes the projectors. */
export function eventBusContract(adapter: string, create: (maxAttempts: number) => Promise<BusUnderTest>) {
  describe(`EventBus contract: ${adapter}`, () => {
    it('delivers each event to every subscriber of its type, and only those', async () => {
      const t = await create(3);
      const seenA: string[] = [];
      const seenB: string[] = [];
      t.bus.subscribe({ name: 'a', eventTypes: ['X', 'Y'], handle: async (e) => void seenA.push(e.type) });
      t.bus.subscribe({ name: 'b', eventTypes: ['Y'], handle: async (e) => void seenB.push(e.type) });
      await t.bus.publish([storedEvent('X'), storedEvent('Y'), storedEvent('Z')]);
      await t.settle();
      assert.deepEqual(seenA.sort(), ['X', 'Y']);
      assert.deepEqual(seenB, ['Y']);
      await t.dispose();
    });

    it('delivers a copy, as a wire would', async () => {
      const t = await create(3);
      const original = storedEvent('X');
      let received: StoredEvent | undefined;
      t.bus.subscribe({ name: 'a', eventTypes: ['X'], handle: async (e) => void (received = e) });
      await t.bus.publish([original]);
      await t.settle();
      assert.deepEqual(received, original);
      assert.notEqual(received, original);
      await t.dispose();
    });

    it('redelivers after a thrown error until the handler succeeds', async () => {
      const t = await create(5);
      let attempts = 0;
      t.bus.subscribe({
        name: 'flaky',
        eventTypes: ['X'],
        handle: async () => {
          attempts += 1;
          if (attempts < 3) throw new Error('transient');
        },
      });
      await t.bus.publish([storedEvent('X')]);
      await t.settle();
      assert.equal(attempts, 3);
      assert.deepEqual(await t.deadLettered('flaky'), []);
      await t.dispose();
    });

    it('dead-letters after the maximum attempts, without holding up later events', async () => {
      const t = await create(3);
      const poison = storedEvent('X');
      const handled: string[] = [];
      let poisonAttempts = 0;
      t.bus.subscribe({
        name: 'strict',
        eventTypes: ['X'],
        handle: async (e) => {
          if (e.eventId === poison.eventId) {
            poisonAttempts += 1;
            throw new Error('poison');
          }
          handled.push(e.eventId);
        },
      });
      const healthy = storedEvent('X');
      await t.bus.publish([poison, healthy]);
      await t.settle();
      assert.equal(poisonAttempts, 3);
      assert.deepEqual(handled, [healthy.eventId]);
      assert.deepEqual((await t.deadLettered('strict')).map((e) => e.eventId), [poison.eventId]);
      await t.dispose();
    });

    it('answers a ping', async () => {
      const t = await create(1);
      await t.bus.ping();
      await t.dispose();
    });
  });
}
