import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BUS_PAUSE_AFTER_TIMEOUT_MS, PUBLISH_AFTER_COMMIT_TIMEOUT_MS, publishAfterCommit } from '../../shared/kernel/command';
import type { EventBus, StoredEvent } from '../../shared/kernel/ports';
import type { Services } from '../../shared/kernel/services';
import { flushPublishedMarks } from '../../shared/kernel/outbox-marks';
import { testServices } from '../support/services';
import { InvocationContext } from '@azure/functions';

/**
 * A frozen broker goes unnoticed by its client for 10 to 15 s (until two heartbeats are
 * missed); the fault suite measured every command waiting the whole publish bound
 * meanwhile. After one timeout, commands stop waiting for that bus for a while.
 */
describe('publish after commit, with the bus frozen', () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  let frozen: Services;
  let publishes = 0;
  before(async () => {
    services = await testServices();
    const bus: EventBus = { ...services.bus, publish: () => (publishes++, new Promise<void>(() => {})) };
    frozen = { ...services, bus };
  });
  after(() => services.dispose());

  async function commit(): Promise<StoredEvent[]> {
    return services.eventStore.append(`pause-${crypto.randomUUID()}`, 0, [{ eventId: crypto.randomUUID(), type: 'Happened', data: {}, metadata: { correlationId: 'pause' } }]);
  }
  const context = new InvocationContext({ functionName: 'test', logHandler: () => {} });
  async function timed(events: StoredEvent[]) {
    const started = performance.now();
    await publishAfterCommit(frozen, events, context);
    return performance.now() - started;
  }

  it('waits the bound once, then answers at once while still publishing in the background; the events stay in the outbox', async () => {
    const first = await timed(await commit());
    assert.ok(first >= PUBLISH_AFTER_COMMIT_TIMEOUT_MS - 50, `the first command waited ${first.toFixed(0)} ms`);
    const next = await Promise.all(Array.from({ length: 5 }, async () => timed(await commit())));
    assert.ok(Math.max(...next) < 200, `commands during the pause waited ${next.map((ms) => ms.toFixed(0)).join(', ')} ms`);
    assert.equal(publishes, 6, 'each still tried the bus');
    assert.equal((await services.eventStore.pendingOutbox(0, 100)).length, 6, 'every event left to the outbox relay');
    assert.ok(BUS_PAUSE_AFTER_TIMEOUT_MS < 10_000, 'the pause is shorter than the heartbeats’ detection');
  });

  it('leaves a healthy bus awaited: a bus that answers is never paused', async () => {
    const events = await commit();
    await publishAfterCommit(services, events, context);
    assert.equal((await services.eventStore.pendingOutbox(0, 100)).filter((event) => event.eventId === events[0].eventId).length, 1, 'marked soon, off the command’s path');
    await flushPublishedMarks(services.eventStore);
    assert.equal((await services.eventStore.pendingOutbox(0, 100)).filter((event) => event.eventId === events[0].eventId).length, 0, 'published and marked');
  });
});
