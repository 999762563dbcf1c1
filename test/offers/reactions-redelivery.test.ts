import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { InvocationContext } from '@azure/functions';
import { InvalidInput } from '../../shared/kernel/errors';
import type { EventStore, StoredEvent } from '../../shared/kernel/ports';
import type { Services } from '../../shared/kernel/services';
import { offerIdFor } from '../../shared/offers/commands';
import { expireOffersTimer, withdrawOfferPublishedForDiscontinuedProduct, withdrawOffersOfDiscontinuedProduct } from '../../shared/offers/reactions';
import { demoProducts } from '../../local/demo-products';
import { testApp } from '../support/app';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

/**
 * Reactions act on the world as it is when they run, never on the message alone: a
 * redelivered or replayed trigger (a lost acknowledgement, a dead-letter replay) after
 * the world changed does nothing, and one after it did not still does its work.
 */
const DAY = 86_400_000;
const context = () => new InvocationContext({ functionName: 'test', logHandler: () => {} });
const timerInfo = { isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

describe('Offer reactions redelivered', () => {
  let app: Awaited<ReturnType<typeof testApp>>;

  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const post = (name: string, body?: unknown, params: Record<string, string> = {}) => invoke(app.handler(name), { method: 'POST', body, params });
  const validFrom = new Date(Date.now() - DAY).toISOString();
  const offer = (pharmacyId: string, productId: string, priceCents: number, validUntil = new Date(Date.now() + 10 * DAY).toISOString()) => ({
    pharmacyId,
    productId,
    priceCents,
    validFrom,
    validUntil,
    stock: 'in_stock',
  });

  async function productWithOffers(name: string, count: number) {
    const registered = await post('registerProduct', { ...demoProducts()[0], name, gtin: uniqueGtin() });
    assert.equal(registered.status, 201);
    const productId = registered.body.id as string;
    const pharmacies: string[] = [];
    for (let i = 0; i < count; i++) {
      const pharmacy = await post('registerPharmacy', pharmacyBody({ tradeName: `${name} ${i}`, location: { lat: -23.56 - i / 1000, lon: -46.65 } }));
      pharmacies.push(pharmacy.body.id);
      assert.equal((await post('publishOffer', offer(pharmacy.body.id, productId, 300))).status, 201);
    }
    // The publications' own checks (the published check reaction) done before the test changes the product.
    await app.settle();
    return { productId, pharmacies, offerIds: pharmacies.map((pharmacyId) => offerIdFor(pharmacyId, productId)) };
  }
  const types = async (offerId: string) => (await app.services.eventStore.readStream(`offer-${offerId}`)).map((e) => e.type);
  const productEvents = (productId: string) => app.services.eventStore.readStream(`product-${productId}`);

  /** A discontinuation committed whose delivery was lost (the reaction never ran): as after a broker outage. */
  async function discontinueUndelivered(productId: string): Promise<StoredEvent> {
    const events = await productEvents(productId);
    const [discontinued] = await app.services.eventStore.append(`product-${productId}`, events[events.length - 1].version, [
      { eventId: randomUUID(), type: 'ProductDiscontinued', data: { productId, discontinuedAt: new Date().toISOString() }, metadata: { correlationId: 'lost' } },
    ]);
    return discontinued;
  }

  /**
   * The same services, whose event store runs `meanwhile` once just before the first
   * withdrawal is appended: the world changes between the reaction's reads and its write.
   */
  function changingBeforeWithdrawal(meanwhile: () => Promise<void>): Services {
    const store = app.services.eventStore;
    let done = false;
    const eventStore = new Proxy(store, {
      get(target, property) {
        if (property === 'append') {
          return async (...args: Parameters<EventStore['append']>) => {
            if (!done && args[2].some((event) => event.type === 'OfferWithdrawn')) {
              done = true;
              await meanwhile();
            }
            return target.append(...args);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { ...app.services, eventStore };
  }

  describe('ProductDiscontinued', () => {
    it('withdraws nothing when redelivered after the product was reinstated and its offers republished', async () => {
      const { productId, pharmacies, offerIds } = await productWithOffers('Reinstated', 3);
      assert.equal((await post('discontinueProduct', undefined, { id: productId })).status, 200);
      await app.settle();
      for (const offerId of offerIds) assert.deepEqual(await types(offerId), ['OfferPublished', 'OfferWithdrawn']);
      const discontinued = (await productEvents(productId)).find((e) => e.type === 'ProductDiscontinued')!;

      assert.equal((await post('reinstateProduct', undefined, { id: productId })).status, 200);
      for (const pharmacyId of pharmacies) assert.equal((await post('publishOffer', offer(pharmacyId, productId, 300))).status, 200);
      await app.settle();

      // The acknowledgement was lost: the broker delivers the discontinuation again (also as a dead-letter replay would, a string body).
      const reaction = withdrawOffersOfDiscontinuedProduct(async () => app.services);
      await reaction.handler(discontinued, context());
      await reaction.handler(JSON.stringify(discontinued), context());
      await app.settle();
      for (const offerId of offerIds) assert.deepEqual(await types(offerId), ['OfferPublished', 'OfferWithdrawn', 'OfferRevised'], 'the republished offer stays active');
      const listed = await invoke(app.handler('productOffersNear'), { path: `products/${productId}/offers?lat=-23.56&lon=-46.65&radiusKm=5`, params: { id: productId } });
      assert.equal(listed.body.items.length, 3);
    });

    it('still withdraws when delivered late while the product is still discontinued (nothing changed)', async () => {
      const { productId, offerIds } = await productWithOffers('Late', 2);
      const discontinued = await discontinueUndelivered(productId);
      for (const offerId of offerIds) assert.deepEqual(await types(offerId), ['OfferPublished'], 'not delivered yet');
      const reaction = withdrawOffersOfDiscontinuedProduct(async () => app.services);
      await reaction.handler(discontinued, context());
      await reaction.handler(discontinued, context());
      for (const offerId of offerIds) assert.deepEqual(await types(offerId), ['OfferPublished', 'OfferWithdrawn'], 'withdrawn once');
    });

    it('refuses a discontinuation whose data does not name its product (another version\'s shape) as poison, rather than completing it as stale', async () => {
      const { productId, offerIds } = await productWithOffers('Unnamed', 1);
      const discontinued = await discontinueUndelivered(productId);
      const reaction = withdrawOffersOfDiscontinuedProduct(async () => app.services);
      const logged: string[] = [];
      const watched = new InvocationContext({ functionName: 'test', logHandler: (_level, ...args) => void logged.push(args.join(' ')) });
      for (const data of [{ discontinuedAt: discontinued.occurredAt }, { productId: randomUUID(), discontinuedAt: discontinued.occurredAt }]) {
        await assert.rejects(reaction.handler({ ...discontinued, data }, watched), InvalidInput, JSON.stringify(data));
      }
      assert.deepEqual(logged, [], 'not reported as a stale discontinuation');
      assert.deepEqual(await types(offerIds[0]), ['OfferPublished'], 'nothing withdrawn on the wrong product');
      await reaction.handler(discontinued, context());
      assert.deepEqual(await types(offerIds[0]), ['OfferPublished', 'OfferWithdrawn']);
    });

    it('withdraws nothing when the product is reinstated and the offer revised between the reaction’s reads and its append', async () => {
      const { productId, pharmacies, offerIds } = await productWithOffers('Raced', 1);
      const discontinued = await discontinueUndelivered(productId);
      const services = changingBeforeWithdrawal(async () => {
        assert.equal((await post('reinstateProduct', undefined, { id: productId })).status, 200);
        assert.equal((await post('publishOffer', offer(pharmacies[0], productId, 250))).status, 200);
      });
      await withdrawOffersOfDiscontinuedProduct(async () => services).handler(discontinued, context());
      assert.deepEqual(await types(offerIds[0]), ['OfferPublished', 'OfferRevised'], 'the append conflicted; the retry saw the product active');
    });
  });

  describe('OfferPublished / OfferRevised (the published check)', () => {
    /** The race the check exists for: an offer committed after the discontinuation's reaction listed the offers. */
    async function offerOfDiscontinuedProduct(name: string) {
      const { productId } = await productWithOffers(name, 0);
      const pharmacyId = (await post('registerPharmacy', pharmacyBody({ tradeName: name, location: { lat: -23.56, lon: -46.65 } }))).body.id as string;
      assert.equal((await post('discontinueProduct', undefined, { id: productId })).status, 200);
      await app.settle();
      const offerId = offerIdFor(pharmacyId, productId);
      const [published] = await app.services.eventStore.append(`offer-${offerId}`, 0, [
        { eventId: randomUUID(), type: 'OfferPublished', data: { offerId, ...offer(pharmacyId, productId, 100), publishedAt: new Date().toISOString() }, metadata: { correlationId: 'race' } },
      ]);
      return { productId, pharmacyId, offerId, published };
    }

    it('withdraws nothing when redelivered after the product was reinstated and the offer republished', async () => {
      const { productId, pharmacyId, offerId, published } = await offerOfDiscontinuedProduct('Checked');
      const check = withdrawOfferPublishedForDiscontinuedProduct(async () => app.services);
      await check.handler(published, context());
      assert.deepEqual(await types(offerId), ['OfferPublished', 'OfferWithdrawn']);
      assert.equal((await post('reinstateProduct', undefined, { id: productId })).status, 200);
      assert.equal((await post('publishOffer', offer(pharmacyId, productId, 100))).status, 200);
      await app.settle();
      await check.handler(published, context());
      await check.handler(JSON.stringify(published), context());
      assert.deepEqual(await types(offerId), ['OfferPublished', 'OfferWithdrawn', 'OfferRevised']);
    });

    it('withdraws nothing when the product is reinstated and the offer revised between the check and its append', async () => {
      const { productId, pharmacyId, offerId, published } = await offerOfDiscontinuedProduct('Check raced');
      const services = changingBeforeWithdrawal(async () => {
        assert.equal((await post('reinstateProduct', undefined, { id: productId })).status, 200);
        assert.equal((await post('publishOffer', offer(pharmacyId, productId, 90))).status, 200);
      });
      await withdrawOfferPublishedForDiscontinuedProduct(async () => services).handler(published, context());
      assert.deepEqual(await types(offerId), ['OfferPublished', 'OfferRevised']);
    });
  });

  describe('the expiry timer', () => {
    it('does not expire an offer renewed in the event store that the read model still shows as ending', async () => {
      const registered = await post('registerProduct', { ...demoProducts()[0], name: 'Renewed', gtin: uniqueGtin() });
      const pharmacy = await post('registerPharmacy', pharmacyBody({ tradeName: 'Renewed', location: { lat: -23.56, lon: -46.65 } }));
      const [pharmacyId, productId] = [pharmacy.body.id as string, registered.body.id as string];
      const offerId = offerIdFor(pharmacyId, productId);
      await post('publishOffer', offer(pharmacyId, productId, 100, new Date(Date.now() + DAY).toISOString()));
      await app.settle();
      // Renewed, but its event not delivered yet: the read model lags.
      const renewed = offer(pharmacyId, productId, 100, new Date(Date.now() + 20 * DAY).toISOString());
      await app.services.eventStore.append(`offer-${offerId}`, 1, [
        { eventId: randomUUID(), type: 'OfferRevised', data: { offerId, priceCents: renewed.priceCents, validFrom: renewed.validFrom, validUntil: renewed.validUntil, stock: renewed.stock, revisedAt: new Date().toISOString() }, metadata: { correlationId: 'lag' } },
      ]);
      const later = { ...app.services, clock: { now: () => new Date(Date.now() + 2 * DAY) } };
      await expireOffersTimer(async () => later).handler(timerInfo, context());
      assert.deepEqual(await types(offerId), ['OfferPublished', 'OfferRevised']);
    });
  });
});
