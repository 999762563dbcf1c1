import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { InvocationContext } from '@azure/functions';
import type { StoredEvent } from '../../shared/kernel/ports';
import { verifyReadModels } from '../../shared/kernel/rebuild';
import { verifySummary } from '../../shared/kernel/summary';
import { activeProductsByCategory } from '../../shared/catalog/projection';
import { offerIdFor } from '../../shared/offers/commands';
import { expireOffersTimer } from '../../shared/offers/reactions';
import { appModules, READ_PROJECTIONS } from '../../shared/platform/app';
import { demoProducts } from '../../local/demo-products';
import { testApp } from '../support/app';
import { offerBody, pharmacyBody, uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

/**
 * Issue 12's fault suite, redelivery: a broker redelivers whatever it delivered without
 * an acknowledgement (a crash, a lost connection) and an operator replays dead letters,
 * in any order and long after. Once the world has moved on (a product reinstated and its
 * offers republished, an offer renewed, a pharmacy moved and reopened), every handler the
 * app declares is given every event it subscribes to again, newest first, twice, as the
 * bus hands it over and as a replayed body: nothing may be appended, and every read model
 * must still equal a rebuild. test/offers/reactions-redelivery covers each reaction's
 * cases (and its races) one by one; this is the sweep over all of them.
 */
const DAY = 86_400_000;
const context = () => new InvocationContext({ functionName: 'redelivery', logHandler: () => {} });
const timerInfo = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

/** Every handler of an event the app declares, by name: a new one fails this test until its redelivery is thought through here. */
const SWEPT_HANDLERS = ['pharmaciesProjector', 'productsProjector', 'offersProjector', 'offersByProductProjector', 'offersByPharmacyProjector', 'withdrawOffersOfDiscontinuedProduct', 'withdrawOfferPublishedForDiscontinuedProduct'];
/** Timers: the expiry reacts to the offers' state (swept below); the outbox relay and the idempotency purge act on no event. */
const TIMERS = ['outboxRelay', 'purgeIdempotencyRecords', 'expireOffers', 'recountActiveProductsByCategory'];

describe('Every handler given its triggers again after the world changed', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  const world = {
    pharmacies: [] as string[],
    /** Discontinued (its offers withdrawn by the reaction), reinstated, two of its three offers republished. */
    reinstated: '',
    /** Discontinued and left so: its offer stays withdrawn. */
    discontinued: '',
    /** Offers of a third product: renewed (validity extended), expired then republished, repriced. */
    other: '',
  };

  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const command = async (name: string, body?: unknown, id?: string, method = 'POST') => {
    const answer = await invoke(app.handler(name), { method, body, params: id ? { id } : {} });
    assert.ok(answer.status >= 200 && answer.status < 300, `${name}: ${answer.status} ${JSON.stringify(answer.body)}`);
    await app.settle();
    return answer.body as { id: string; version: number };
  };
  const offer = (pharmacyId: string, productId: string, priceCents: number, validDays = 10) => offerBody(pharmacyId, productId, priceCents, validDays);
  const lastType = async (streamId: string) => (await app.services.eventStore.readStream(streamId)).at(-1)?.type;
  const offerStream = (pharmacy: number, productId: string) => `offer-${offerIdFor(world.pharmacies[pharmacy], productId)}`;
  const allEvents = async () => {
    const events: StoredEvent[] = [];
    for (let batch = await app.services.eventStore.readAll(0, 1000); batch.length; batch = await app.services.eventStore.readAll(batch.at(-1)!.position, 1000)) events.push(...batch);
    return events;
  };
  const later = (ms: number) => ({ ...app.services, clock: { now: () => new Date(Date.now() + ms) } });

  it('builds a world that moved on: reinstatements, republications, renewals, expiries, relocations', async () => {
    for (let i = 0; i < 3; i++) world.pharmacies.push((await command('registerPharmacy', pharmacyBody({ tradeName: `Drogaria Reentrega ${i}` }))).id);
    const product = async (i: number) => (await command('registerProduct', { ...demoProducts()[i], gtin: uniqueGtin() })).id;
    [world.reinstated, world.discontinued, world.other] = [await product(0), await product(1), await product(2)];

    for (const pharmacyId of world.pharmacies) await command('publishOffer', offer(pharmacyId, world.reinstated, 300));
    await command('discontinueProduct', undefined, world.reinstated);
    for (let i = 0; i < 3; i++) assert.equal(await lastType(offerStream(i, world.reinstated)), 'OfferWithdrawn', 'the reaction withdrew the offers');
    await command('reinstateProduct', undefined, world.reinstated);
    await command('changeProduct', { name: 'Dipirona Reentregue 500 mg' }, world.reinstated, 'PATCH');
    for (const pharmacyId of world.pharmacies.slice(0, 2)) await command('publishOffer', offer(pharmacyId, world.reinstated, 280));

    await command('publishOffer', offer(world.pharmacies[0], world.discontinued, 500));
    await command('discontinueProduct', undefined, world.discontinued);
    assert.equal(await lastType(offerStream(0, world.discontinued)), 'OfferWithdrawn');

    // Renewed: valid 1 day, then 30 (an expiry run after the first day must not touch it).
    await command('publishOffer', offer(world.pharmacies[0], world.other, 900, 1));
    await command('publishOffer', offer(world.pharmacies[0], world.other, 900, 30));
    // Expired by the timer two days on, then republished.
    await command('publishOffer', offer(world.pharmacies[1], world.other, 800, 1));
    await expireOffersTimer(async () => later(2 * DAY)).handler(timerInfo, context());
    await app.settle();
    assert.equal(await lastType(offerStream(1, world.other)), 'OfferExpired');
    await command('publishOffer', offer(world.pharmacies[1], world.other, 790, 30));
    // Repriced three times.
    const repriced = await command('publishOffer', offer(world.pharmacies[2], world.other, 700));
    for (const priceCents of [690, 680, 670]) await command('changeOfferPrice', { priceCents }, repriced.id);

    const moved = world.pharmacies[0];
    await command('changePharmacyProfile', { tradeName: 'Drogaria Reentrega Nova' }, moved, 'PATCH');
    const address = { street: 'Rua da Bahia', number: '1', district: 'Centro', city: 'Belo Horizonte', state: 'MG', postalCode: '30160011' };
    await command('relocatePharmacy', { address, location: { lat: -19.92, lon: -43.94 } }, moved);
    await command('closePharmacy', undefined, moved);
    await command('reopenPharmacy', undefined, moved);
  });

  it('covers every event handler and timer the app declares', () => {
    const modules = appModules(async () => app.services);
    assert.deepEqual(modules.flatMap((module) => module.eventHandlers.map((handler) => handler.name)).sort(), [...SWEPT_HANDLERS].sort());
    assert.deepEqual(modules.flatMap((module) => module.timers.map((timer) => timer.name)).sort(), [...TIMERS].sort());
  });

  it('every handler given every event it subscribes to again, newest first, twice: nothing appended, read models = rebuild', async () => {
    const before = await allEvents();
    const handlers = appModules(async () => app.services).flatMap((module) => module.eventHandlers);
    let deliveries = 0;
    for (const handler of handlers) {
      for (const event of [...before].reverse().filter((stored) => handler.eventTypes.includes(stored.type))) {
        // As the bus hands it over, and as a dead-letter replay's body.
        await handler.handler(event, context());
        await handler.handler(JSON.stringify(event), context());
        deliveries += 2;
      }
    }
    await app.settle();
    const afterwards = await allEvents();
    assert.deepEqual(afterwards.slice(before.length).map((event) => `${event.streamId} ${event.type}`), [], `${deliveries} redeliveries appended events`);

    // The world as it was: the reinstated product's republished offers active, the third one withdrawn, the discontinued product's withdrawn.
    assert.deepEqual(
      await Promise.all([0, 1, 2].map((i) => lastType(offerStream(i, world.reinstated)))),
      ['OfferRevised', 'OfferRevised', 'OfferWithdrawn'],
    );
    assert.equal(await lastType(offerStream(0, world.discontinued)), 'OfferWithdrawn');
    const reports = await verifyReadModels(app.services, READ_PROJECTIONS);
    assert.deepEqual(reports.flatMap((report) => report.differences), [], 'read models equal a rebuild');
    for (const report of reports) assert.ok(report.actual > 0 && report.actual === report.expected, `${report.container}: ${report.actual} of ${report.expected}`);
  });

  it('the expiry timer, run again past the first validity of renewed and republished offers, expires none of them', async () => {
    const before = (await allEvents()).length;
    // Past the first day of validity, well before the renewed thirty.
    await expireOffersTimer(async () => later(2 * DAY)).handler(timerInfo, context());
    await app.settle();
    assert.equal((await allEvents()).length, before, 'no offer expired');
    for (const i of [0, 1]) assert.equal(await lastType(offerStream(i, world.other)), 'OfferRevised');
    const reports = await verifyReadModels(app.services, READ_PROJECTIONS);
    assert.deepEqual(reports.flatMap((report) => report.differences), []);
  });

  it('the category recount, run twice after the world changed, appends nothing and leaves the counts equal to a recount', async () => {
    const before = (await allEvents()).length;
    const recount = appModules(async () => app.services).flatMap((module) => module.timers).find((timer) => timer.name === 'recountActiveProductsByCategory')!;
    await recount.handler(timerInfo, context());
    await recount.handler(timerInfo, context());
    assert.equal((await allEvents()).length, before);
    assert.equal(await verifySummary(app.services, activeProductsByCategory, 0), undefined);
  });
});
