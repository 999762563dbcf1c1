import type { Decider } from '../../kernel/decider';
import { Conflict, InvalidInput, NotFound, UnknownReference } from '../../kernel/errors';

export const STOCK_LEVELS = ['in_stock', 'low', 'out_of_stock'] as const;
export type Stock = (typeof STOCK_LEVELS)[number];

/** A price in integer cents of BRL; the list price is the "from" price that shows a discount. */
export interface Price {
  priceCents: number;
  listPriceCents?: number;
}

export interface OfferTerms extends Price {
  /** ISO-8601 UTC. */
  validFrom: string;
  validUntil: string;
  stock: Stock;
}

export type WithdrawalReason = 'withdrawn-by-pharmacy' | 'product-discontinued';

export type OfferEvent =
  | { type: 'OfferPublished'; data: OfferTerms & { offerId: string; pharmacyId: string; productId: string; publishedAt: string } }
  | { type: 'OfferRevised'; data: OfferTerms & { offerId: string; revisedAt: string } }
  | { type: 'OfferPriceChanged'; data: Price & { offerId: string; changedAt: string } }
  | { type: 'OfferWithdrawn'; data: { offerId: string; reason: WithdrawalReason; withdrawnAt: string } }
  | { type: 'OfferExpired'; data: { offerId: string; expiredAt: string } };

export const OFFER_EVENT_TYPES: readonly OfferEvent['type'][] = [
  'OfferPublished',
  'OfferRevised',
  'OfferPriceChanged',
  'OfferWithdrawn',
  'OfferExpired',
];

/** What the decision needs to know of the pharmacy and the product, read consistently. */
export interface References {
  pharmacy: 'none' | 'active' | 'closed';
  product: 'none' | 'active' | 'discontinued';
}

export type OfferCommand =
  | { type: 'PublishOffer'; offerId: string; pharmacyId: string; productId: string; terms: OfferTerms; references: References; now: Date }
  | { type: 'ChangeOfferPrice'; offerId: string; price: Price; now: Date }
  | { type: 'WithdrawOffer'; offerId: string; now: Date }
  /**
   * A reaction's withdrawal: `productId` is the product it acts for, `product` that
   * product's status read when deciding (after the offer was loaded), so a late or
   * redelivered discontinuation never withdraws the offer of a product active again.
   */
  | { type: 'WithdrawOfferOfDiscontinuedProduct'; offerId: string; productId: string; product: References['product']; now: Date }
  | { type: 'ExpireOffer'; offerId: string; now: Date };

interface Published {
  id: string;
  pharmacyId: string;
  productId: string;
  terms: OfferTerms;
}

export type Offer = { status: 'none' } | ({ status: 'active' | 'withdrawn' | 'expired' } & Published);

export const initialState: Offer = { status: 'none' };

export function evolve(state: Offer, event: OfferEvent): Offer {
  switch (event.type) {
    case 'OfferPublished': {
      const { offerId, pharmacyId, productId, publishedAt: _at, ...terms } = event.data;
      return { status: 'active', id: offerId, pharmacyId, productId, terms };
    }
    case 'OfferRevised': {
      if (state.status === 'none') return state;
      const { offerId: _id, revisedAt: _at, ...terms } = event.data;
      return { ...state, status: 'active', terms };
    }
    case 'OfferPriceChanged': {
      if (state.status === 'none') return state;
      const { priceCents, listPriceCents } = event.data;
      return { ...state, terms: { ...withoutListPrice(state.terms), priceCents, ...(listPriceCents === undefined ? {} : { listPriceCents }) } };
    }
    case 'OfferWithdrawn':
      return state.status === 'none' ? state : { ...state, status: 'withdrawn' };
    case 'OfferExpired':
      return state.status === 'none' ? state : { ...state, status: 'expired' };
  }
}

function withoutListPrice(terms: OfferTerms): OfferTerms {
  const { listPriceCents: _list, ...rest } = terms;
  return rest;
}

function assertValidPrice(price: Price): void {
  if (price.listPriceCents !== undefined && price.listPriceCents < price.priceCents) {
    throw new InvalidInput('the list price is below the price', [{ field: 'listPriceCents', message: 'listPriceCents must be at least priceCents' }]);
  }
}

function assertValidTerms(terms: OfferTerms, now: Date): void {
  assertValidPrice(terms);
  if (Date.parse(terms.validUntil) <= Date.parse(terms.validFrom)) {
    throw new InvalidInput('the offer ends before it starts', [{ field: 'validUntil', message: 'validUntil must be after validFrom' }]);
  }
  if (Date.parse(terms.validUntil) <= now.getTime()) {
    throw new InvalidInput('the offer has already ended', [{ field: 'validUntil', message: 'validUntil must be in the future' }]);
  }
}

function assertReferences(references: References): void {
  if (references.pharmacy === 'none') throw new UnknownReference('no such pharmacy', [{ field: 'pharmacyId', message: 'no pharmacy has this id' }]);
  if (references.product === 'none') throw new UnknownReference('no such product', [{ field: 'productId', message: 'no product has this id' }]);
  if (references.pharmacy === 'closed') throw new Conflict('the pharmacy is closed');
  if (references.product === 'discontinued') throw new Conflict('the product is discontinued');
}

/** Same price, field by field: an absent list price equals an undefined one, and key order never matters. */
const samePrice = (a: Price, b: Price) => a.priceCents === b.priceCents && a.listPriceCents === b.listPriceCents;

/**
 * Same terms by value. The state's terms are rebuilt by evolve (an `OfferPriceChanged`
 * moves `listPriceCents` to the end) or read from a snapshot, so their key order is not
 * the command's; instants compare as instants.
 */
const sameTerms = (a: OfferTerms, b: OfferTerms) =>
  samePrice(a, b) &&
  Date.parse(a.validFrom) === Date.parse(b.validFrom) &&
  Date.parse(a.validUntil) === Date.parse(b.validUntil) &&
  a.stock === b.stock;

function requireActive(state: Offer): asserts state is { status: 'active' } & Published {
  if (state.status === 'none') throw new NotFound('no such offer');
  if (state.status !== 'active') throw new Conflict(`the offer is ${state.status}; publish it again`);
}

export function decide(command: OfferCommand, state: Offer): OfferEvent[] {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'PublishOffer': {
      assertValidTerms(command.terms, command.now);
      assertReferences(command.references);
      if (state.status === 'none') {
        const { offerId, pharmacyId, productId, terms } = command;
        return [{ type: 'OfferPublished', data: { offerId, pharmacyId, productId, ...terms, publishedAt: at } }];
      }
      // Publishing the same terms again (a partner's feed repeats itself) changes nothing.
      if (state.status === 'active' && sameTerms(state.terms, command.terms)) return [];
      return [{ type: 'OfferRevised', data: { offerId: state.id, ...command.terms, revisedAt: at } }];
    }
    case 'ChangeOfferPrice': {
      requireActive(state);
      assertValidPrice(command.price);
      if (samePrice(state.terms, command.price)) return [];
      return [{ type: 'OfferPriceChanged', data: { offerId: state.id, ...command.price, changedAt: at } }];
    }
    case 'WithdrawOffer':
      requireActive(state);
      return [{ type: 'OfferWithdrawn', data: { offerId: state.id, reason: 'withdrawn-by-pharmacy', withdrawnAt: at } }];
    case 'WithdrawOfferOfDiscontinuedProduct':
      // A reaction: it acts on the world as it is now. Repeated or late deliveries find
      // nothing more to do, and nothing at all once the product is active again.
      if (state.status !== 'active' || state.productId !== command.productId || command.product !== 'discontinued') return [];
      return [{ type: 'OfferWithdrawn', data: { offerId: state.id, reason: 'product-discontinued', withdrawnAt: at } }];
    case 'ExpireOffer':
      if (state.status !== 'active' || Date.parse(state.terms.validUntil) > command.now.getTime()) return [];
      return [{ type: 'OfferExpired', data: { offerId: state.id, expiredAt: at } }];
  }
}

export const offerDecider: Decider<OfferCommand, OfferEvent, Offer> = { initialState, evolve, decide };
