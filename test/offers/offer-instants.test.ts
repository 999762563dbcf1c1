import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { demoProducts } from '../../local/demo-products';
import { offerIdFor } from '../../shared/offers/commands';
import { testApp } from '../support/app';
import { offerBody, pharmacyBody, uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

/**
 * An offer's validFrom and validUntil are instants (`format: date-time`, RFC 3339). A partner's
 * feed that writes a day that does not exist, or a time without its offset, is told so:
 * taken as JavaScript's parser takes it, the offer would run to a day the partner never
 * wrote (1 March for 29 February), or end hours apart depending on the clock of the
 * host that read it.
 */
describe('Offer validity instants', () => {
  let app: Awaited<ReturnType<typeof testApp>>;
  let pharmacyId: string;
  let productId: string;
  const zone = process.env.TZ;

  before(async () => {
    app = await testApp();
    pharmacyId = (await invoke(app.handler('registerPharmacy'), { method: 'POST', body: pharmacyBody() })).body.id;
    productId = (await invoke(app.handler('registerProduct'), { method: 'POST', body: { ...demoProducts()[0], gtin: uniqueGtin() } })).body.id;
    // A host on Brasília's clock, as a developer's machine is: a time without an offset would be read on it.
    process.env.TZ = 'America/Sao_Paulo';
  });
  after(() => {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
    return app.services.dispose();
  });

  const publish = (validUntil: string) => invoke(app.handler('publishOffer'), { method: 'POST', body: { ...offerBody(pharmacyId, productId, 1000), validUntil } });
  const batch = (validUntil: string) =>
    invoke(app.handler('publishOfferBatch'), { method: 'POST', body: { items: [{ ...offerBody(pharmacyId, productId, 1000), validUntil }] } });

  for (const [validUntil, why] of [
    ['2031-02-29T12:00:00Z', '29 February of a common year'],
    ['2031-04-31T12:00:00Z', '31 April'],
    ['2031-06-01T12:00:00', 'no offset'],
    ['2031-06-01T12:00', 'no seconds, no offset'],
    ['2031-06-01', 'a date alone'],
    ['2031-06-01T12:00:60Z', 'a leap second no instant here can hold'],
    ['2031-06-01T12:00:00+24:00', 'an offset past 23 hours'],
    // Year 10000 in UTC: stored as "+010000-…", which sorts before every four-digit year, so the
    // expiry query (validUntil <= now, compared as text) would pick the offer on every run.
    ['9999-12-31T23:59:59-23:59', 'an instant past year 9999 in UTC'],
  ]) {
    it(`refuses validUntil ${validUntil} (${why}) with a 400 naming the field, alone and in the feed`, async () => {
      const single = await publish(validUntil);
      assert.equal(single.status, 400, JSON.stringify(single.body));
      assert.deepEqual(single.body.errors.map((error: { field: string }) => error.field), ['validUntil']);
      const fed = await batch(validUntil);
      assert.equal(fed.status, 200);
      assert.equal(fed.body.results[0].status, 400, JSON.stringify(fed.body.results[0]));
      assert.equal(fed.body.results[0].error.errors[0].field, 'validUntil');
    });
  }

  it('takes an instant with its offset as the instant it names, on any host clock', async () => {
    const published = await publish('2031-06-01T12:00:00-03:00');
    assert.equal(published.status < 300, true, JSON.stringify(published.body));
    await app.settle();
    const id = offerIdFor(pharmacyId, productId);
    const read = await invoke(app.handler('getOffer'), { path: `offers/${id}`, params: { id } });
    assert.equal(read.body.validUntil, '2031-06-01T15:00:00.000Z');
    assert.equal((await publish('2032-02-29T23:59:59.999Z')).status < 300, true, '29 February of a leap year is a day');
    assert.equal((await publish('9999-12-31T23:59:59Z')).status < 300, true, 'the last instant of year 9999 in UTC');
  });
});
