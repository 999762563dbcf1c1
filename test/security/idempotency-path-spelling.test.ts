import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoProducts } from '../../local/demo-products';
import { testApp } from '../support/app';
import { invoke } from '../support/http';
import { offerBody, pharmacyBody, uniqueGtin } from '../support/fixtures';

/**
 * Attack review: the idempotency fingerprint hashed the request's path as it was spelled,
 * while the routes match it ignoring case and ids are read in lower case. A client (or a
 * proxy) that retries `/api/offers/<ID>/price` with another spelling of the same path (its
 * id in upper case, the route's words capitalised) reached the same resource with the same
 * body and key, and was told 422 "used with another request" instead of the first answer.
 */
describe('attack: an idempotent retry to the same resource spelled another way', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  it('replays the first answer, whatever the case of the path', async () => {
    const post = async (name: string, body: unknown) => {
      const response = await invoke(app.handler(name), { method: 'POST', body });
      assert.equal(response.status, 201, JSON.stringify(response.body));
      return response.body.id as string;
    };
    const pharmacyId = await post('registerPharmacy', pharmacyBody());
    const productId = await post('registerProduct', { ...demoProducts()[0], gtin: uniqueGtin() });
    const offerId = (await invoke(app.handler('publishOffer'), { method: 'POST', body: offerBody(pharmacyId, productId, 1000) })).body.id as string;
    const reprice = (path: string, id: string) =>
      invoke(app.handler('changeOfferPrice'), { method: 'POST', path, params: { id }, body: { priceCents: 900 }, headers: { 'idempotency-key': 'reprice-1' } });
    const first = await reprice(`offers/${offerId}/price`, offerId);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    for (const [path, id] of [
      [`offers/${offerId.toUpperCase()}/price`, offerId.toUpperCase()],
      [`Offers/${offerId}/Price`, offerId],
    ]) {
      const retry = await reprice(path, id);
      assert.equal(retry.status, 200, `${path}: ${retry.status} ${JSON.stringify(retry.body)}`);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(retry.body, first.body);
    }
  });
});
