import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { HttpHandler } from '@azure/functions';
import { AzureSqlEventStore } from '../../shared/adapters/azure-sql/event-store';
import { flushPublishedMarks } from '../../shared/kernel/outbox-marks';
import type { EventBus, StoredEvent } from '../../shared/kernel/ports';
import { MAX_BATCH_ITEMS, offerIdFor } from '../../shared/offers/commands';
import { appModules } from '../../shared/platform/app';
import { demoProducts } from '../../local/demo-products';
import { testApp } from '../support/app';
import { CountingSqlPool } from '../support/counting-sql-pool';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

/** Issue 14 item 3: a 500-item partner feed costs at most this many Azure SQL round trips. */
const MOST_ROUND_TRIPS = 10;
const DAY = 86_400_000;

/**
 * The round trips of the partner feed (POST /offers/batch, through the HTTP handler and
 * runCommandBatch) on the Azure SQL adapter, counted by the pool that answers its batches
 * from memory (test/support/counting-sql-pool). Before the feed ran as one batch, each
 * item cost its own loads and append: about 5 000 round trips for 500 items.
 */
describe('Azure SQL round trips of a 500-item partner feed', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  let sql: CountingSqlPool;
  let store: AzureSqlEventStore;
  let feed: HttpHandler;
  const published: StoredEvent[][] = [];
  let pharmacyId: string;
  const productIds: string[] = [];

  before(async () => {
    app = await testApp();
    const post = (name: string, body: unknown) => invoke(app.handler(name), { method: 'POST', body });
    pharmacyId = (await post('registerPharmacy', pharmacyBody({ tradeName: 'Feed em lote' }))).body.id as string;
    for (let n = 0; n < MAX_BATCH_ITEMS; n++) {
      productIds.push((await post('registerProduct', { ...demoProducts()[0], name: `Lote ${n} 500 mg`, gtin: uniqueGtin() })).body.id as string);
    }
    // The pharmacy and products as committed earlier on the server; the feed's reads and writes go through the adapter.
    sql = new CountingSqlPool();
    sql.seed(await app.services.eventStore.readAll(0, 100_000));
    store = new AzureSqlEventStore(sql.pool);
    const bus: EventBus = {
      publish: async (events) => void published.push(events),
      subscribe: () => {},
      ping: async () => {},
      close: async () => {},
    };
    feed = appModules(async () => ({ ...app.services, eventStore: store, bus }))
      .flatMap((module) => module.routes)
      .find((candidate) => candidate.name === 'publishOfferBatch')!.handler;
  });
  after(() => app.services.dispose());

  const validFrom = new Date(Date.now() - DAY).toISOString();
  const validUntil = new Date(Date.now() + 10 * DAY).toISOString();
  const items = (priceOf: (n: number) => number) =>
    productIds.map((productId, n) => ({
      pharmacyId,
      productId,
      priceCents: priceOf(n),
      validFrom,
      validUntil,
      stock: 'in_stock',
    }));
  const send = (body: unknown, key = `feed-${randomUUID()}`) =>
    invoke(feed, { method: 'POST', body, headers: { 'idempotency-key': key, authorization: `Bearer ${app.adminToken}` } });

  it(`costs at most ${MOST_ROUND_TRIPS} round trips for ${MAX_BATCH_ITEMS} items, new or updated: the key, one load (the offers, their pharmacies and products), one append carrying the answer`, async (t) => {
    sql.take();
    const started = performance.now();
    const first = await send({ items: items(() => 1000) });
    const firstMs = performance.now() - started;
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(new Set(first.body.results.map((result: { status: number }) => result.status)), new Set([201]));
    const created = sql.take();

    // Half the prices change, half stay: 200 for all, new versions only where something changed.
    const again = performance.now();
    const key = `feed-${randomUUID()}`;
    const second = await send({ items: items((n) => (n % 2 === 0 ? 900 : 1000)) }, key);
    const secondMs = performance.now() - again;
    assert.deepEqual(
      second.body.results.map((result: { index: number; status: number; version: number }) => [result.index, result.status, result.version]),
      productIds.map((_, n) => [n, 200, n % 2 === 0 ? 2 : 1]),
    );
    const updated = sql.take();
    t.diagnostic(`round trips: new ${created.length} (${created.join(', ')}) in ${firstMs.toFixed(0)} ms; updated ${updated.length} (${updated.join(', ')}) in ${secondMs.toFixed(0)} ms`);
    // The published events' marks go off the request path, gathered: they may land during a feed, and are counted too.
    for (const trips of [created, updated]) {
      assert.ok(trips.length <= MOST_ROUND_TRIPS, trips.join(', '));
      assert.deepEqual(
        trips.filter((trip) => trip !== 'mark published'),
        ['claim idempotency', 'load many', 'append many'],
      );
    }

    // The events of each feed went to the bus in one call, and their marks in one round trip each at most.
    assert.deepEqual(published.map((events) => events.length), [MAX_BATCH_ITEMS, MAX_BATCH_ITEMS / 2]);
    await flushPublishedMarks(store);
    const marks = [...created, ...updated, ...sql.take()].filter((trip) => trip === 'mark published');
    assert.ok(marks.length >= 1 && marks.length <= 2, marks.join(', '));
    assert.deepEqual(sql.pending(), []);

    // The answer went in with the items: a retry is answered it in the one round trip of its claim.
    const retried = await send({ items: items((n) => (n % 2 === 0 ? 900 : 1000)) }, key);
    assert.equal(retried.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(retried.body, second.body);
    assert.deepEqual(sql.take(), ['claim idempotency']);
  });

  it('decides an item whose offer changed meanwhile again, its facts and offer read again in one read, and commits the whole batch with its answer in one more append', async () => {
    const stream = `offer-${offerIdFor(pharmacyId, productIds[1])}`;
    sql.beforeNextAppendMany = () =>
      sql.seed([{ eventId: randomUUID(), streamId: stream, version: 2, position: 0, type: 'OfferPriceChanged', data: { offerId: offerIdFor(pharmacyId, productIds[1]), priceCents: 1, changedAt: new Date().toISOString() }, metadata: { correlationId: 'elsewhere' }, occurredAt: new Date().toISOString() }]);
    sql.take();
    const response = await send({ items: items(() => 700).slice(0, 3) });
    assert.deepEqual(
      response.body.results.map((result: { status: number; version: number }) => [result.status, result.version]),
      [[200, 3], [200, 3], [200, 3]],
    );
    assert.deepEqual(
      sql.take().filter((trip) => trip !== 'mark published'),
      ['claim idempotency', 'load many', 'append many', 'load many', 'append many'],
    );
  });

  it('decides every item again when the store could not take the batch (a stream busy), with the same answers', async () => {
    sql.beforeNextAppendMany = () => {
      throw Object.assign(new Error('a stream is busy'), { name: 'RequestError', number: 50004 });
    };
    sql.take();
    const response = await send({ items: items(() => 650).slice(0, 2) });
    assert.deepEqual(
      response.body.results.map((result: { status: number; version: number }) => [result.status, result.version]),
      [[200, 4], [200, 4]],
    );
    assert.deepEqual(
      sql.take().filter((trip) => trip !== 'mark published'),
      ['claim idempotency', 'load many', 'append many', 'load many', 'append many'],
    );
  });

  it('answers the items a batch committed when its answer was lost (the transient retry finds them), writing and publishing them once, the answer stored with them', async () => {
    sql.afterNextAppendMany = () => {
      throw Object.assign(new Error('Connection lost - read ECONNRESET'), { code: 'ECONNRESET' });
    };
    const key = `feed-${randomUUID()}`;
    const body = { items: items(() => 610).slice(0, 3) };
    sql.take();
    published.length = 0;
    const response = await send(body, key);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.headers.get('idempotent-replayed'), null);
    assert.deepEqual(
      sql.take().filter((trip) => trip !== 'mark published'),
      ['claim idempotency', 'load many', 'append many', 'append many'],
      'the lost answer, then the retry',
    );
    for (const [n, result] of (response.body.results as { status: number; version: number; unchanged?: true }[]).entries()) {
      const versions = (await store.loadStream(`offer-${offerIdFor(pharmacyId, productIds[n])}`, 'no-snapshots', 0)).events.map((event) => event.version);
      assert.deepEqual(versions, [...new Set(versions)], 'no event twice');
      assert.deepEqual([result.status, result.version, result.unchanged], [200, versions.at(-1), undefined], `item ${n}: accepted, not unchanged`);
    }
    assert.equal(published.flat().length, 3, 'the committed events published once');
    const replayed = await send(body, key);
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replayed.body, response.body);
  });

  it('decides an item on the offer a refused or unchanged item before it left, without loading the offer again', async () => {
    const n = 3;
    const again = { ...items(() => 1000)[n] };
    const current = (await store.loadStream(`offer-${offerIdFor(pharmacyId, productIds[n])}`, 'no-snapshots', 0)).events;
    const price = (current.at(-1)!.data as { priceCents: number }).priceCents;
    sql.take();
    const response = await send({ items: [{ ...again, listPriceCents: 1 }, { ...again, priceCents: price }, { ...again, priceCents: price - 1 }] });
    assert.deepEqual(
      response.body.results.map((result: { status: number; version: number; unchanged?: true }) => [result.status, result.version, result.unchanged]),
      [[400, undefined, undefined], [200, current.length, true], [200, current.length + 1, undefined]],
    );
    assert.deepEqual(sql.take().filter((trip) => trip !== 'mark published'), ['claim idempotency', 'load many', 'append many']);
  });

  // A lock not granted in time says nothing about the streams: no item's offer moved. Refusing every item 409 ("changed
  // twice") in a 200 stored under the key would replay those refusals to every retry for a day; SQLite's busy lock is a 503.
  it('answers 503, nothing written and the key given up, when the store could not take the batch twice (a stream busy)', async () => {
    const busy = () => {
      throw Object.assign(new Error('a stream is busy'), { name: 'RequestError', number: 50004 });
    };
    sql.beforeNextAppendMany = () => {
      sql.beforeNextAppendMany = busy;
      busy();
    };
    const key = `feed-${randomUUID()}`;
    const body = { items: items(() => 640).slice(5, 7) };
    const before = await Promise.all([5, 6].map(async (n) => (await store.loadStream(`offer-${offerIdFor(pharmacyId, productIds[n])}`, 'no-snapshots', 0)).events.length));
    sql.take();
    const response = await send(body, key);
    assert.equal(response.status, 503, JSON.stringify(response.body));
    assert.ok(response.headers.get('retry-after'));
    assert.deepEqual(
      sql.take().filter((trip) => trip !== 'mark published'),
      ['claim idempotency', 'load many', 'append many', 'load many', 'append many', 'release idempotency'],
    );
    const retried = await send(body, key);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.headers.get('idempotent-replayed'), null, 'the retry ran');
    assert.deepEqual(
      retried.body.results.map((result: { status: number; version: number }) => [result.status, result.version]),
      before.map((version) => [200, version + 1]),
    );
  });

  it('stores the answer of a feed that changes nothing in the same statement, under its claim’s check', async () => {
    const body = { items: items(() => 640).slice(5, 7) };
    const key = `feed-${randomUUID()}`;
    sql.take();
    const response = await send(body, key);
    assert.deepEqual(response.body.results.map((result: { unchanged?: true }) => result.unchanged), [true, true]);
    assert.equal(response.headers.get('idempotent-replayed'), null, 'the first answer is no replay');
    // The test before published events: their marks go off the request path and may land during this feed.
    assert.deepEqual(sql.take().filter((trip) => trip !== 'mark published'), ['claim idempotency', 'load many', 'append many']);
    const replayed = await send(body, key);
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replayed.body, response.body);
  });

  // The statement's retry finds a committed first attempt by a stream's first event: a feed that changes nothing has none
  // (008076d sends it through APPEND_MANY_BATCH), so the retry meets its claim replaced by its own answer (50003), and the
  // handler answers it as another attempt's: the right body, but marked Idempotent-Replayed on its first answer.
  it('answers a feed that changes nothing, whose committed answer was lost, with that answer, as a first answer', async () => {
    const body = { items: items(() => 640).slice(5, 7) };
    const key = `feed-${randomUUID()}`;
    sql.afterNextAppendMany = () => {
      throw Object.assign(new Error('Connection lost - read ECONNRESET'), { code: 'ECONNRESET' });
    };
    sql.take();
    const response = await send(body, key);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body.results.map((result: { unchanged?: true }) => result.unchanged), [true, true]);
    assert.equal(response.headers.get('idempotent-replayed'), null, 'the first answer is no replay');
    assert.deepEqual(sql.take().filter((trip) => trip !== 'mark published').slice(0, 3), ['claim idempotency', 'load many', 'append many']);
    const replayed = await send(body, key);
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(replayed.body, response.body);
  });
});
