import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { InvocationContext } from '@azure/functions';
import { BATCH_DECISIONS_PER_STREAM, runCommand } from '../../shared/kernel/command';
import { ConcurrencyConflict } from '../../shared/kernel/errors';
import { offerIdFor, offerStreamId } from '../../shared/offers/commands';
import { offerDecider } from '../../shared/offers/domain/offer';
import { appModules } from '../../shared/platform/app';
import { demoProducts } from '../../local/demo-products';
import { testApp } from '../support/app';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

const DAY = 86_400_000;

/**
 * runCommandBatch reads a round's facts and streams in one read and commits without waiting
 * for another turn of the event loop: on SQLite no other request runs between the read and
 * the commit. Here another writer commits to one offer at every turn of
 * the event loop, queuing its next change as soon as the one before is committed, while a
 * feed publishes that offer and a calm one. (When the offers were read before the facts,
 * a turn apart, the feed's first decision conflicted here.)
 */
describe('a feed over an offer another writer changes at every turn of the event loop', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  /** The feed's item on the busy offer, and one on a calm one, while `change` runs in a loop on the busy one. */
  async function feedWhileChanging(change: (stream: string, offerId: string, n: number) => Promise<unknown>, { mayKeepChanging = false } = {}) {
    const post = (name: string, body: unknown) => invoke(app.handler(name), { method: 'POST', body });
    const pharmacyId = (await post('registerPharmacy', pharmacyBody({ tradeName: 'Sempre mexida' }))).body.id as string;
    const [busy, calm] = [
      (await post('registerProduct', { ...demoProducts()[0], name: 'Mexida sempre', gtin: uniqueGtin() })).body.id as string,
      (await post('registerProduct', { ...demoProducts()[0], name: 'Calma', gtin: uniqueGtin() })).body.id as string,
    ];
    const offer = (productId: string, priceCents: number) => ({
      pharmacyId,
      productId,
      priceCents,
      validFrom: new Date(Date.now() - DAY).toISOString(),
      validUntil: new Date(Date.now() + DAY).toISOString(),
      stock: 'in_stock',
    });
    for (const productId of [busy, calm]) assert.equal((await post('publishOffer', offer(productId, 1000))).status, 201);

    let commits = 0;
    const store = app.services.eventStore;
    const counting = new Proxy(store, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver);
        if (property !== 'appendMany') return value;
        return (...args: unknown[]) => (commits++, value.apply(target, args));
      },
    });
    const feed = appModules(async () => ({ ...app.services, eventStore: counting })).flatMap((module) => module.routes).find((route) => route.name === 'publishOfferBatch')!;

    const offerId = offerIdFor(pharmacyId, busy);
    let changing = true;
    let changes = 0;
    const changer = (async () => {
      for (let n = 0; changing; n++) {
        try {
          await change(offerStreamId(offerId), offerId, n);
          changes += 1;
        } catch (error) {
          // The feed committed first.
          assert.ok(error instanceof ConcurrencyConflict, String(error));
        }
      }
    })();
    const response = await invoke(feed.handler, { method: 'POST', body: { items: [offer(busy, 800), offer(calm, 800)] }, headers: { authorization: `Bearer ${app.adminToken}` } });
    changing = false;
    await changer;

    assert.equal(response.status, 200);
    const results = response.body.results as { status: number; version?: number }[];
    assert.ok(changes > 0, 'the writer ran');
    const told = `${commits} commits (at most ${BATCH_DECISIONS_PER_STREAM + 1}), ${changes} changes; ${JSON.stringify(results)}`;
    assert.equal(results[1].status, 200, told);
    const stored = await store.readStream(offerStreamId(offerId));
    if (results[0].status === 409 && mayKeepChanging) {
      assert.equal(commits, BATCH_DECISIONS_PER_STREAM + 1, told);
      assert.ok(stored.every((event) => (event.data as { priceCents?: number }).priceCents !== 800), 'a refused item wrote nothing');
      return;
    }
    assert.equal(results[0].status, 200, told);
    assert.equal((stored[results[0].version! - 1].data as { priceCents: number }).priceCents, 800, 'the version answered holds the item');
  }

  it('takes its item in while the writer runs commands', async () => {
    const context = new InvocationContext({ functionName: 'test', logHandler: () => {} });
    const changePrice = { name: 'changeOfferPrice', decider: offerDecider, streamId: offerStreamId, snapshots: { schema: 'offer-v1', every: 50 } };
    await feedWhileChanging((_stream, offerId, n) =>
      runCommand(
        app.services,
        { ...changePrice, toCommand: ({ id, body, now }: { id: string; body: { priceCents: number }; now: Date }) => ({ type: 'ChangeOfferPrice' as const, offerId: id, price: body, now }) },
        { id: offerId, body: { priceCents: 500 + (n % 100) }, principal: 'system', metadata: { correlationId: 'elsewhere' }, context },
      ),
    );
  });

  // The batch's commit goes through the store's group commit, which first commits the appends queued before it and so
  // answers them inside the batch's turn: a writer appending straight to the store, a few microtasks a change, can queue
  // its next one between the batch's read and its commit every time. Then the item is refused (it kept changing), its
  // answer says so, and nothing of it is written; which side wins is a matter of microtask counts.
  it('answers its item as the store holds it while the writer appends straight to the store', async () => {
    await feedWhileChanging(
      async (stream, offerId, n) => {
        const version = (await app.services.eventStore.readStream(stream)).length;
        const data = { offerId, priceCents: 500 + (n % 100), changedAt: new Date().toISOString() };
        await app.services.eventStore.append(stream, version, [{ eventId: randomUUID(), type: 'OfferPriceChanged', data, metadata: { correlationId: 'elsewhere' } }]);
      },
      { mayKeepChanging: true },
    );
  });
});
