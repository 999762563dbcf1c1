import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { HttpHandler } from '@azure/functions';
import { AzureSqlEventStore } from '../../shared/adapters/azure-sql/event-store';
import { InProcessEventBus } from '../../shared/adapters/inprocess/event-bus';
import { flushPublishedMarks } from '../../shared/kernel/outbox-marks';
import type { EventBus, EventStore, StoredEvent } from '../../shared/kernel/ports';
import { projectRoot } from '../../shared/kernel/project-root';
import type { FunctionModule } from '../../shared/kernel/routes';
import { offerIdFor } from '../../shared/offers/commands';
import { withdrawOfferPublishedForDiscontinuedProduct } from '../../shared/offers/reactions';
import { appModules } from '../../shared/platform/app';
import { demoProducts } from '../../local/demo-products';
import { subscribeEventHandlers } from '../../local/host';
import { testApp } from '../support/app';
import { CountingSqlPool, type Trip } from '../support/counting-sql-pool';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

const DAY = 86_400_000;
const PHARMACIES = 4;
const PRODUCTS = 125;
/** Products 0 and 1 discontinued after their offers were published; product 2 discontinued and reinstated since (stale). */
const DISCONTINUED = [0, 1];
const REINSTATED = 2;
/**
 * Issue 14 item 3: the published check of a 500-message feed in at most this many reads.
 * 750 loads (500 products, 250 revised offers) go out maxConcurrentCalls at a time (64 in
 * host.json): 12 reads if every one were full (47 at the 16 it was before, which this bound
 * was 60 for); a few go out part full as deliveries end at different turns.
 */
const MOST_SHARED_READS = 20;

const count = (trips: Trip[], kind: Trip) => trips.filter((trip) => trip === kind).length;

/**
 * The Azure SQL round trips of the published check (the reaction to OfferPublished and
 * OfferRevised) for a 500-item partner feed's messages, delivered at the concurrency the
 * platform configures, on the Azure SQL adapter over the counting pool
 * (test/support/counting-sql-pool). Before its reads were batched, each message cost its
 * own: 1 for a publication, 2 for a revision (the offer's first event, the product),
 * 750 round trips here (775 with the withdrawals and their marks; 78 after).
 */
describe('Azure SQL round trips of the published check for a 500-item feed', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  let writerStore: AzureSqlEventStore;
  let sql: CountingSqlPool;
  /** The routes on the adapter (writer's `name`), as the HTTP host serves them. */
  let writer: (name: string) => HttpHandler;
  const pharmacyIds: string[] = [];
  const productIds: string[] = [];
  const feedEvents: StoredEvent[] = [];
  const maxConcurrent = JSON.parse(readFileSync(join(projectRoot(), 'host.json'), 'utf8')).extensions.serviceBus.maxConcurrentCalls as number;

  before(async () => {
    app = await testApp();
    const post = (name: string, body: unknown) => invoke(app.handler(name), { method: 'POST', body });
    for (let n = 0; n < PHARMACIES; n++) pharmacyIds.push((await post('registerPharmacy', pharmacyBody({ tradeName: `Checada ${n}` }))).body.id as string);
    for (let n = 0; n < PRODUCTS; n++) {
      productIds.push((await post('registerProduct', { ...demoProducts()[0], name: `Checado ${n} 500 mg`, gtin: uniqueGtin() })).body.id as string);
    }
    sql = new CountingSqlPool();
    sql.seed(await app.services.eventStore.readAll(0, 100_000));
    // The feeds and the catalog's changes commit through the adapter; their bus only records (no reaction runs yet).
    const bus: EventBus = { publish: async (events) => void feedEvents.push(...events), subscribe: () => {}, ping: async () => {}, close: async () => {} };
    writerStore = new AzureSqlEventStore(sql.pool);
    const routes = appModules(async () => ({ ...app.services, eventStore: writerStore, bus })).flatMap((module) => module.routes);
    writer = (name) => routes.find((route) => route.name === name)!.handler;
  });
  after(() => app.services.dispose());

  const headers = () => ({ 'idempotency-key': `feed-${randomUUID()}`, authorization: `Bearer ${app.adminToken}` });
  const feed = (pharmacyId: string, priceCents: number) =>
    invoke(writer('publishOfferBatch'), {
      method: 'POST',
      headers: headers(),
      body: {
        items: productIds.map((productId) => ({
          pharmacyId,
          productId,
          priceCents,
          validFrom: new Date(Date.now() - DAY).toISOString(),
          validUntil: new Date(Date.now() + 10 * DAY).toISOString(),
          stock: 'in_stock',
        })),
      },
    });
  const catalog = (name: string, productId: string) => invoke(writer(name), { method: 'POST', headers: headers(), params: { id: productId } });

  /** The reaction on its own instance (a cold aggregate cache), subscribed to an in-process bus that delivers as the platform does. */
  function checkOn(eventStore: EventStore) {
    const { bus: settings } = app.services.settings;
    const bus = new InProcessEventBus({ maxAttempts: settings.maxAttempts, retryBaseMs: 1, maxConcurrent });
    const services = { ...app.services, eventStore, bus };
    const module: FunctionModule = { name: 'offers', routes: [], eventHandlers: [withdrawOfferPublishedForDiscontinuedProduct(async () => services)], timers: [], containers: [] };
    subscribeEventHandlers(bus, [module], () => {});
    return bus;
  }
  const types = async (streamId: string) => (await new AzureSqlEventStore(sql.pool).readStream(streamId)).map((event) => event.type);
  const offerStream = (pharmacy: number, product: number) => `offer-${offerIdFor(pharmacyIds[pharmacy], productIds[product])}`;

  it(`reads for ${PRODUCTS * PHARMACIES} deliveries in at most ${MOST_SHARED_READS} round trips; withdraws exactly the offers of products discontinued now`, async (t) => {
    assert.equal(maxConcurrent, app.services.settings.bus.maxConcurrent, 'the local buses deliver as many at a time as the Functions host');
    for (const pharmacyId of pharmacyIds) assert.equal((await feed(pharmacyId, 1000)).status, 200);
    // Half the offers revised: their messages name no product.
    for (const pharmacyId of pharmacyIds.slice(PHARMACIES / 2)) assert.equal((await feed(pharmacyId, 900)).status, 200);
    // Discontinued after the offers' own checks passed, their reaction lost (the window the check closes).
    for (const n of [...DISCONTINUED, REINSTATED]) assert.equal((await catalog('discontinueProduct', productIds[n])).status, 200);
    assert.equal((await catalog('reinstateProduct', productIds[REINSTATED])).status, 200);

    // Each offer's latest publication or revision, the products mixed within every wave of deliveries.
    const latest = new Map(feedEvents.filter((event) => ['OfferPublished', 'OfferRevised'].includes(event.type)).map((event) => [event.streamId, event]));
    const messages = productIds.flatMap((_, product) => pharmacyIds.map((_, pharmacy) => latest.get(offerStream(pharmacy, product))!));
    assert.equal(messages.length, PRODUCTS * PHARMACIES);
    assert.deepEqual(['OfferPublished', 'OfferRevised'].map((type) => messages.filter((message) => message.type === type).length), [250, 250]);

    const store = new AzureSqlEventStore(sql.pool);
    const bus = checkOn(store);
    // The set-up's outbox marks wait up to 100 ms for company: written now, not counted below.
    await flushPublishedMarks(writerStore);
    sql.take();
    const started = performance.now();
    await bus.publish(messages);
    await bus.idle();
    const ms = performance.now() - started;
    await flushPublishedMarks(store);
    const trips = sql.take();
    const withdrawals = DISCONTINUED.length * PHARMACIES;
    t.diagnostic(
      `round trips: ${trips.length} in ${ms.toFixed(0)} ms: ${['load many', 'read stream', 'load', 'append', 'mark published'].map((kind) => `${kind} ${count(trips, kind as Trip)}`).join(', ')}`,
    );

    assert.deepEqual(bus.deadLetters, []);
    // The check's reads: shared; each withdrawal is its own command (its offer, the product again, its append).
    assert.ok(count(trips, 'load many') <= MOST_SHARED_READS, `${count(trips, 'load many')} shared reads`);
    assert.equal(count(trips, 'read stream'), 0);
    assert.equal(count(trips, 'load'), 2 * withdrawals);
    assert.equal(count(trips, 'append'), withdrawals);
    assert.ok(count(trips, 'mark published') >= 1 && count(trips, 'mark published') <= withdrawals);
    assert.equal(trips.length, count(trips, 'load many') + 3 * withdrawals + count(trips, 'mark published'));

    for (const [product] of productIds.entries()) {
      for (const [pharmacy] of pharmacyIds.entries()) {
        const history = await types(offerStream(pharmacy, product));
        assert.equal(history.at(-1) === 'OfferWithdrawn', DISCONTINUED.includes(product), `${product}/${pharmacy}: ${history.join(', ')}`);
      }
    }
  });

  it('fails each delivery on its own: a message no handler can take is dead-lettered alone, a failed shared read is redelivered per message', async () => {
    const product = 3;
    assert.equal((await catalog('discontinueProduct', productIds[product])).status, 200);
    const stream = (pharmacy: number) => offerStream(pharmacy, product);
    const messages = pharmacyIds.map((_, pharmacy) => [...feedEvents].reverse().find((event) => event.streamId === stream(pharmacy) && event.type !== 'OfferWithdrawn')!);
    const poison = { ...messages[0], eventId: randomUUID(), data: { ...messages[0].data, productId: 'not-a-product' } };
    let failures = 1;
    const base = new AzureSqlEventStore(sql.pool);
    // The first shared read fails (the database away for a moment): every delivery in it fails.
    const store = new Proxy(base, {
      get(target, property) {
        if (property === 'loadStreams' && failures > 0) {
          return async () => {
            failures -= 1;
            throw new Error('the database is away');
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const bus = checkOn(store);
    await bus.publish([...messages, poison]);
    await bus.idle();
    assert.deepEqual(bus.deadLetters.map((letter) => [letter.event.eventId, letter.attempts]), [[poison.eventId, app.services.settings.bus.maxAttempts]]);
    for (const [pharmacy] of pharmacyIds.entries()) assert.equal((await types(stream(pharmacy))).at(-1), 'OfferWithdrawn');
    assert.equal(failures, 0);
  });
});
