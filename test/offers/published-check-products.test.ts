import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { InvocationContext } from '@azure/functions';
import type { EventStore, StreamLoadRequest } from '../../shared/kernel/ports';
import { offerIdFor } from '../../shared/offers/commands';
import { withdrawOfferPublishedForDiscontinuedProduct } from '../../shared/offers/reactions';
import { demoProducts } from '../../local/demo-products';
import { testApp } from '../support/app';
import { offerBody, pharmacyBody, uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

const context = () => new InvocationContext({ functionName: 'test', logHandler: () => {} });

/** The published check learns an offer's product once per process: a product never changes for an offer. */
describe('the published check and the products of offers', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const post = (name: string, body?: unknown, params: Record<string, string> = {}) => invoke(app.handler(name), { method: 'POST', body, params });

  /** The app's event store, telling `loaded` the streams each load asked for. */
  function countingLoads(loaded: string[]): EventStore {
    const store = app.services.eventStore;
    return new Proxy(store, {
      get(target, property) {
        if (property === 'loadStreams') {
          return (requests: StreamLoadRequest[]) => (loaded.push(...requests.map(({ streamId }) => streamId)), target.loadStreams(requests));
        }
        if (property === 'loadStream') {
          return (streamId: string, ...rest: unknown[]) => (loaded.push(streamId), (target.loadStream as (...args: unknown[]) => unknown)(streamId, ...rest));
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  it('checks a revision of an offer whose publication it checked without loading the offer, and still withdraws it once its product is discontinued', async () => {
    const productId = (await post('registerProduct', { ...demoProducts()[0], name: 'Learnt', gtin: uniqueGtin() })).body.id as string;
    const pharmacyId = (await post('registerPharmacy', pharmacyBody({ tradeName: 'Learnt' }))).body.id as string;
    assert.equal((await post('publishOffer', offerBody(pharmacyId, productId, 300))).status, 201);
    assert.equal((await post('publishOffer', offerBody(pharmacyId, productId, 280))).status, 200);
    await app.settle();
    const streamId = `offer-${offerIdFor(pharmacyId, productId)}`;
    const [publication, revision] = await app.services.eventStore.readStream(streamId);
    assert.deepEqual([publication.type, revision.type], ['OfferPublished', 'OfferRevised']);

    // Each check on an instance of its own (an event store of its own, so nothing learnt yet).
    const loaded: string[] = [];
    const freshCheck = () => {
      const instance = { ...app.services, eventStore: countingLoads(loaded) };
      return withdrawOfferPublishedForDiscontinuedProduct(async () => instance);
    };
    const cold = freshCheck();
    await cold.handler(revision, context());
    assert.ok(loaded.includes(streamId), 'a revision first seen: the offer is loaded for its product');
    loaded.length = 0;
    await cold.handler(revision, context());
    assert.ok(!loaded.includes(streamId), `learnt from the first revision: ${loaded.join(', ')}`);

    const check = freshCheck();
    loaded.length = 0;
    await check.handler(publication, context());
    await check.handler(revision, context());
    assert.ok(loaded.includes(`product-${productId}`), 'the product is read as it is now');
    assert.ok(!loaded.includes(streamId), `the publication named the offer's product: ${loaded.join(', ')}`);

    // Discontinued, its delivery lost: a redelivered revision withdraws the offer all the same.
    const productEvents = await app.services.eventStore.readStream(`product-${productId}`);
    await app.services.eventStore.append(`product-${productId}`, productEvents.at(-1)!.version, [
      { eventId: randomUUID(), type: 'ProductDiscontinued', data: { productId, discontinuedAt: new Date().toISOString() }, metadata: { correlationId: 'lost' } },
    ]);
    await check.handler(JSON.stringify(revision), context());
    assert.equal((await app.services.eventStore.readStream(streamId)).at(-1)!.type, 'OfferWithdrawn');
  });
});
