import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvocationContext } from '@azure/functions';
import {
  deliveryCountOf,
  isPermanentFailure,
  REDELIVERY_CAP_MS,
  redeliveryDelayMs,
  withRedeliveryBackoff,
} from '../../shared/adapters/functions/redelivery';
import { countDeadLetters, registerWithFunctions } from '../../shared/adapters/functions/register';
import { InvalidInput } from '../../shared/kernel/errors';
import type { FunctionModule } from '../../shared/kernel/routes';
import { storedEvent } from '../contracts/event-bus.contract';

const lowest = () => 0;
const middle = () => 0.5;
const highest = () => 1 - Number.EPSILON;

function context(deliveryCount: unknown, logs: string[] = []) {
  return new InvocationContext({
    functionName: 'pharmaciesProjector',
    triggerMetadata: deliveryCount === undefined ? {} : { deliveryCount },
    logHandler: (level, ...args) => logs.push(`${level}: ${args.join(' ')}`),
  });
}

/** A sleep that records what it was asked to wait and returns at once. */
function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe('redelivery back-off for Service Bus triggers', () => {
  it('doubles with each delivery from BUS_RETRY_BASE_MS (no jitter at the middle)', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8].map((count) => redeliveryDelayMs(count, 100, middle));
    assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 12800]);
  });

  it('is capped well under the one-minute lock, however many deliveries and however large the base', () => {
    assert.equal(REDELIVERY_CAP_MS, 20_000);
    for (const count of [9, 10, 11, 50, 1000, Number.MAX_SAFE_INTEGER]) {
      assert.ok(redeliveryDelayMs(count, 100, highest) <= REDELIVERY_CAP_MS, `delivery ${count}`);
    }
    assert.equal(redeliveryDelayMs(1, 60_000, highest), REDELIVERY_CAP_MS);
    assert.equal(redeliveryDelayMs(3, 100, highest, 500), 480, 'a smaller cap is honoured: 400 × 1.2 = 480');
    assert.equal(redeliveryDelayMs(4, 100, highest, 500), 500);
  });

  it('jitters within 0.8–1.2 of the exponential value, never above the cap', () => {
    for (let count = 1; count <= 12; count++) {
      const exponential = Math.min(REDELIVERY_CAP_MS, 100 * 2 ** (count - 1));
      const low = redeliveryDelayMs(count, 100, lowest);
      const high = redeliveryDelayMs(count, 100, highest);
      assert.equal(low, Math.round(exponential * 0.8), `delivery ${count}: lower bound`);
      assert.equal(high, Math.round(Math.min(REDELIVERY_CAP_MS, exponential * 1.2)), `delivery ${count}: upper bound`);
      for (let i = 0; i < 50; i++) {
        const delay = redeliveryDelayMs(count, 100);
        assert.ok(delay >= low && delay <= high, `delivery ${count}: ${delay} within [${low}, ${high}]`);
      }
    }
    const spread = new Set(Array.from({ length: 50 }, () => redeliveryDelayMs(5, 100)));
    assert.ok(spread.size > 10, 'random jitter spreads the deliveries of one outage');
  });

  it('ten deliveries span about a minute at the default base, two at 1 s (not milliseconds)', () => {
    const total = (base: number) => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].reduce((sum, count) => sum + redeliveryDelayMs(count, base, middle), 0);
    assert.equal(total(100), 65_500);
    assert.equal(total(1000), 131_000);
  });

  it('treats a missing or odd delivery count as the first delivery', () => {
    assert.equal(deliveryCountOf(context(4)), 4);
    assert.equal(deliveryCountOf(context('7')), 7, 'as text, as some workers hand metadata over');
    for (const odd of [undefined, 0, -3, 2.5, 'x', null]) assert.equal(deliveryCountOf(context(odd)), 1, String(odd));
    assert.equal(redeliveryDelayMs(Number.NaN, 100, middle), 100);
  });

  it('waits, then rethrows the same error, so the host abandons the message only after the back-off', async () => {
    const failure = new Error('Cosmos DB: 503 service unavailable');
    const { waits, sleep } = recordingSleep();
    const order: string[] = [];
    const logs: string[] = [];
    const handler = withRedeliveryBackoff(
      async () => {
        order.push('handler');
        throw failure;
      },
      () => ({ baseMs: 100, maxAttempts: 10, random: middle, sleep: async (ms) => (order.push('sleep'), sleep(ms)) }),
    );
    await assert.rejects(handler(storedEvent('PharmacyRegistered'), context(3, logs)), (error) => error === failure);
    assert.deepEqual(waits, [400]);
    assert.deepEqual(order, ['handler', 'sleep']);
    assert.ok(logs.some((line) => line.startsWith('warning:') && line.includes('delivery 3') && line.includes('400 ms')), logs.join('\n'));
  });

  it('a delivery that succeeds never waits', async () => {
    const { waits, sleep } = recordingSleep();
    const handler = withRedeliveryBackoff(async () => {}, () => ({ baseMs: 100, maxAttempts: 10, sleep }));
    await handler(storedEvent('PharmacyRegistered'), context(1));
    assert.deepEqual(waits, []);
  });

  it('a poison message (not a domain event, or invalid input) is rethrown at once, without waiting', async () => {
    const { waits, sleep } = recordingSleep();
    const options = () => ({ baseMs: 100, maxAttempts: 10, sleep });
    const decoding = withRedeliveryBackoff(async (message) => {
      JSON.parse(String(message));
    }, options);
    await assert.rejects(decoding('{not json', context(1)), SyntaxError);
    await assert.rejects(decoding({ nonsense: true }, context(2)), SyntaxError);
    const invalid = withRedeliveryBackoff(async () => {
      throw new InvalidInput('the offer has no price');
    }, options);
    await assert.rejects(invalid(storedEvent('OfferPublished'), context(1)), InvalidInput);
    assert.deepEqual(waits, []);

    assert.ok(isPermanentFailure('{not json', new Error('any')));
    assert.ok(isPermanentFailure({ eventId: 'e-1' }, new Error('any')), 'the wrong shape');
    assert.ok(!isPermanentFailure(storedEvent('X'), new SyntaxError('an SDK read an HTML error page')), 'a valid event failed by a store is transient');
    assert.ok(!isPermanentFailure(JSON.stringify(storedEvent('X')), new Error('timeout')), 'as text or bytes, as Service Bus may hand it over');
  });

  it('says so when a delivery count goes past BUS_MAX_ATTEMPTS (the subscription disagrees with the setting)', async () => {
    const { waits, sleep } = recordingSleep();
    const logs: string[] = [];
    const handler = withRedeliveryBackoff(async () => {
      throw new Error('down');
    }, () => ({ baseMs: 100, maxAttempts: 5, random: middle, sleep }));
    await assert.rejects(handler(storedEvent('X'), context(4, logs)));
    await assert.rejects(handler(storedEvent('X'), context(5, logs)));
    assert.ok(!logs.some((line) => line.includes('BUS_MAX_ATTEMPTS')));
    await assert.rejects(handler(storedEvent('X'), context(6, logs)));
    assert.ok(logs.some((line) => line.includes('past BUS_MAX_ATTEMPTS=5')), logs.join('\n'));
    assert.deepEqual(waits, [800, 3200], 'the fifth was taken for the last: no wait; past it the back-off goes on');
  });

  it('the last delivery (at BUS_MAX_ATTEMPTS) is counted as dead-lettered by subscription and given back at once, a poison message too', async () => {
    const registered: Record<string, { handler: (...args: unknown[]) => Promise<unknown> }> = {};
    const record = (name: string, options: { handler: (...args: unknown[]) => Promise<unknown> }) => (registered[name] = options);
    const module: FunctionModule = {
      name: 'test',
      routes: [],
      eventHandlers: [{ name: 'projector', subscription: 'offers-read', eventTypes: ['X'], handler: async () => Promise.reject(new Error('Cosmos DB: 403 role missing')) }],
      timers: [],
      containers: [],
    };
    const { waits, sleep } = recordingSleep();
    const deadLettered: string[] = [];
    registerWithFunctions({ http: record, serviceBusTopic: record, timer: record } as never, module, {
      redelivery: () => ({ baseMs: 100, maxAttempts: 3, random: middle, sleep }),
      deadLettered: (subscription) => deadLettered.push(subscription),
    });
    const logs: string[] = [];
    for (const count of [1, 2]) await assert.rejects(registered.projector.handler(storedEvent('X'), context(count, logs)));
    assert.deepEqual(deadLettered, [], 'redelivered, not dead-lettered yet');
    await assert.rejects(registered.projector.handler(storedEvent('X'), context(3, logs)), /role missing/);
    await assert.rejects(registered.projector.handler('{not json', context(3, logs)));
    assert.deepEqual(deadLettered, ['offers-read', 'offers-read']);
    assert.deepEqual(waits, [100, 200], 'the last ones not held back');
    assert.ok(logs.some((line) => line.startsWith('error:') && line.includes('delivery 3 of 3') && line.includes('dead-letters')), logs.join('\n'));

    // What functions/index.ts wires in: the metric the workbook's dead-letter chart reads.
    const metrics: unknown[][] = [];
    countDeadLetters(async () => ({ telemetry: { metric: (...args: unknown[]) => metrics.push(args) } }) as never)('offers-read');
    countDeadLetters(() => Promise.reject(new Error('not composed')))('offers-read');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(metrics, [['bus.dead_lettered', 1, { subscription: 'offers-read' }]]);
  });

  it('the Functions registration wraps every Service Bus handler (and only those)', async () => {
    const registered: Record<string, { handler: (...args: unknown[]) => Promise<unknown> }> = {};
    const record = (name: string, options: { handler: (...args: unknown[]) => Promise<unknown> }) => (registered[name] = options);
    const failure = new Error('SQL failover');
    const module: FunctionModule = {
      name: 'test',
      routes: [{ name: 'route', methods: ['GET'], route: 'r', authLevel: 'function', handler: async () => ({ status: 500 }) }],
      eventHandlers: [{ name: 'projector', subscription: 'read', eventTypes: ['X'], handler: async () => Promise.reject(failure) }],
      timers: [{ name: 'timer', schedule: '0 * * * * *', handler: async () => Promise.reject(failure) }],
      containers: [],
    };
    const { waits, sleep } = recordingSleep();
    registerWithFunctions({ http: record, serviceBusTopic: record, timer: record } as never, module, { redelivery: () => ({ baseMs: 250, maxAttempts: 10, random: middle, sleep }) });
    assert.notEqual(registered.projector.handler, module.eventHandlers[0].handler);
    assert.equal(registered.route.handler, module.routes[0].handler, 'an HTTP failure is answered, not redelivered');
    assert.equal(registered.timer.handler, module.timers[0].handler);
    await assert.rejects(registered.projector.handler(storedEvent('X'), context(2)), (error) => error === failure);
    assert.deepEqual(waits, [500]);
  });
});
