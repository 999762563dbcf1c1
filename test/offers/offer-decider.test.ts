import { describe, it } from 'node:test';
import { Conflict, InvalidInput, NotFound, UnknownReference } from '../../shared/kernel/errors';
import { offerDecider, type OfferCommand, type OfferEvent, type OfferTerms, type References } from '../../shared/offers/domain/offer';
import { specification } from '../support/decider';

const given = specification(offerDecider);
const now = new Date('2026-11-27T12:00:00Z');
const at = now.toISOString();
const offerId = '5d0d6a8e-4a51-5a5e-9f7f-3c2f7a0b9d11';
const pharmacyId = '1b0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11';
const productId = '2b0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11';
const terms: OfferTerms = {
  priceCents: 1299,
  listPriceCents: 1599,
  validFrom: '2026-11-01T00:00:00.000Z',
  validUntil: '2026-12-31T00:00:00.000Z',
  stock: 'in_stock',
};
const ok: References = { pharmacy: 'active', product: 'active' };
const publish = (overrides: Partial<OfferTerms> = {}, references: References = ok): OfferCommand => ({
  type: 'PublishOffer',
  offerId,
  pharmacyId,
  productId,
  terms: { ...terms, ...overrides },
  references,
  now,
});
const published: OfferEvent = { type: 'OfferPublished', data: { offerId, pharmacyId, productId, ...terms, publishedAt: at } };
const withdrawn: OfferEvent = { type: 'OfferWithdrawn', data: { offerId, reason: 'withdrawn-by-pharmacy', withdrawnAt: at } };
const expired: OfferEvent = { type: 'OfferExpired', data: { offerId, expiredAt: at } };

describe('Offer decider', () => {
  describe('publishing', () => {
    it('publishes a new offer', () => given([]).when(publish()).then([published]));
    it('changes nothing when the same terms come again', () => given([published]).when(publish()).then([]));
    it('revises an offer whose terms change', () =>
      given([published])
        .when(publish({ priceCents: 1199 }))
        .then([{ type: 'OfferRevised', data: { offerId, ...terms, priceCents: 1199, revisedAt: at } }]));
    describe('after a price change (terms compared by value, not by key order)', () => {
      const priceChanged: OfferEvent = { type: 'OfferPriceChanged', data: { offerId, priceCents: 999, listPriceCents: 1299, changedAt: at } };
      it('changes nothing when the current terms are published again', () =>
        given([published, priceChanged]).when(publish({ priceCents: 999, listPriceCents: 1299 })).then([]));
      it('changes nothing when the terms come in another key order', () =>
        given([published, priceChanged])
          .when({
            type: 'PublishOffer',
            offerId,
            pharmacyId,
            productId,
            terms: { stock: 'in_stock', validUntil: terms.validUntil, validFrom: terms.validFrom, listPriceCents: 1299, priceCents: 999 },
            references: ok,
            now,
          })
          .then([]));
      it('still revises what did change', () =>
        given([published, priceChanged])
          .when(publish({ priceCents: 999, listPriceCents: 1299, stock: 'low' }))
          .then([{ type: 'OfferRevised', data: { offerId, ...terms, priceCents: 999, listPriceCents: 1299, stock: 'low', revisedAt: at } }]));
      it('revises when the list price was dropped and is sent again', () =>
        given([published, { type: 'OfferPriceChanged', data: { offerId, priceCents: 999, changedAt: at } }])
          .when(publish({ priceCents: 999 }))
          .then([{ type: 'OfferRevised', data: { offerId, ...terms, priceCents: 999, revisedAt: at } }]));
    });
    it('brings a withdrawn offer back', () =>
      given([published, withdrawn]).when(publish()).then([{ type: 'OfferRevised', data: { offerId, ...terms, revisedAt: at } }]));
    it('brings an expired offer back', () =>
      given([published, expired]).when(publish()).then([{ type: 'OfferRevised', data: { offerId, ...terms, revisedAt: at } }]));
    it('refuses a list price below the price', () => given([]).when(publish({ listPriceCents: 1000 })).thenThrows(InvalidInput, /list price/));
    it('refuses an offer that ends before it starts', () =>
      given([]).when(publish({ validUntil: '2026-10-01T00:00:00.000Z' })).thenThrows(InvalidInput, /ends before/));
    it('refuses an offer that has already ended', () =>
      given([]).when(publish({ validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2026-11-27T11:59:59.000Z' })).thenThrows(InvalidInput, /already ended/));
    it('refuses an unknown pharmacy or product', () => {
      given([]).when(publish({}, { pharmacy: 'none', product: 'active' })).thenThrows(UnknownReference, /pharmacy/);
      given([]).when(publish({}, { pharmacy: 'active', product: 'none' })).thenThrows(UnknownReference, /product/);
    });
    it('refuses a closed pharmacy and a discontinued product', () => {
      given([]).when(publish({}, { pharmacy: 'closed', product: 'active' })).thenThrows(Conflict, /closed/);
      given([published]).when(publish({}, { pharmacy: 'active', product: 'discontinued' })).thenThrows(Conflict, /discontinued/);
    });
    it('judges bad terms before references', () =>
      given([]).when(publish({ listPriceCents: 1 }, { pharmacy: 'none', product: 'none' })).thenThrows(InvalidInput));
  });

  describe('prices', () => {
    const price = (priceCents: number, listPriceCents?: number): OfferCommand => ({
      type: 'ChangeOfferPrice',
      offerId,
      price: { priceCents, ...(listPriceCents === undefined ? {} : { listPriceCents }) },
      now,
    });
    it('changes the price and the list price', () =>
      given([published]).when(price(999, 1299)).then([{ type: 'OfferPriceChanged', data: { offerId, priceCents: 999, listPriceCents: 1299, changedAt: at } }]));
    it('removes the list price when none is sent', () =>
      given([published]).when(price(1299)).then([{ type: 'OfferPriceChanged', data: { offerId, priceCents: 1299, changedAt: at } }]));
    it('changes nothing for the same price', () => given([published]).when(price(1299, 1599)).then([]));
    it('refuses a list price below the price', () => given([published]).when(price(1299, 999)).thenThrows(InvalidInput));
    it('refuses a withdrawn offer', () => given([published, withdrawn]).when(price(999)).thenThrows(Conflict, /withdrawn/));
    it('refuses an offer that does not exist', () => given([]).when(price(999)).thenThrows(NotFound));
  });

  describe('withdrawal and expiry', () => {
    const withdraw: OfferCommand = { type: 'WithdrawOffer', offerId, now };
    const discontinued: OfferCommand = { type: 'WithdrawOfferOfDiscontinuedProduct', offerId, productId, product: 'discontinued', now };
    it('withdraws an active offer', () => given([published]).when(withdraw).then([withdrawn]));
    it('refuses to withdraw twice', () => given([published, withdrawn]).when(withdraw).thenThrows(Conflict));
    it('withdraws for a discontinued product, naming the reason', () =>
      given([published])
        .when(discontinued)
        .then([{ type: 'OfferWithdrawn', data: { offerId, reason: 'product-discontinued', withdrawnAt: at } }]));
    it('finds nothing more to do on a repeated discontinuation', () =>
      given([published, { type: 'OfferWithdrawn', data: { offerId, reason: 'product-discontinued', withdrawnAt: at } }]).when(discontinued).then([]));
    it('withdraws nothing for a product active again (a redelivered discontinuation after reinstatement and republishing)', () =>
      given([published, { type: 'OfferWithdrawn', data: { offerId, reason: 'product-discontinued', withdrawnAt: at } }, { type: 'OfferRevised', data: { offerId, ...terms, revisedAt: at } }])
        .when({ ...discontinued, product: 'active' })
        .then([]));
    it('withdraws nothing for another product than the offer’s', () =>
      given([published]).when({ ...discontinued, productId: '3b0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11' }).then([]));
    it('expires an offer past validUntil', () =>
      given([published]).when({ type: 'ExpireOffer', offerId, now: new Date('2027-01-01T00:00:00Z') }).then([
        { type: 'OfferExpired', data: { offerId, expiredAt: '2027-01-01T00:00:00.000Z' } },
      ]));
    it('does not expire an offer still valid (a stale read model asked)', () =>
      given([published]).when({ type: 'ExpireOffer', offerId, now }).then([]));
    it('does not expire a withdrawn offer', () =>
      given([published, withdrawn]).when({ type: 'ExpireOffer', offerId, now: new Date('2027-01-01T00:00:00Z') }).then([]));
  });
});
