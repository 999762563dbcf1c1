import { describe, it } from 'node:test';
import { productDecider, type ProductCommand, type ProductDetails, type ProductEvent } from '../../shared/catalog/domain/product';
import { Conflict, InvalidInput, NotFound } from '../../shared/kernel/errors';
import { specification } from '../support/decider';

const given = specification(productDecider);
const now = new Date('2026-11-27T12:00:00Z');
const at = now.toISOString();
const productId = '9b0d6a8e-4a51-4a5e-9f7f-3c2f7a0b9d11';
const details: ProductDetails = {
  name: 'Dipirona Sódica 500 mg',
  brand: 'EMS Genérico',
  manufacturer: 'EMS',
  activeIngredients: ['dipirona sódica'],
  presentation: '500 mg, 10 comprimidos',
  form: 'tablet',
  category: 'generics',
  prescription: 'none',
  generic: true,
};
const registered: ProductEvent = { type: 'ProductRegistered', data: { productId, gtin: '7891000315507', ...details, registeredAt: at } };
const discontinued: ProductEvent = { type: 'ProductDiscontinued', data: { productId, discontinuedAt: at } };
const register = (overrides: Partial<ProductDetails> = {}, gtin = '7891000315507'): ProductCommand => ({
  type: 'RegisterProduct',
  productId,
  gtin,
  details: { ...details, ...overrides },
  now,
});
const discontinue: ProductCommand = { type: 'DiscontinueProduct', productId, now };
const reinstate: ProductCommand = { type: 'ReinstateProduct', productId, now };

describe('Product decider', () => {
  it('registers a product', () => given([]).when(register()).then([registered]));
  it('refuses a GTIN whose check digit does not match', () => given([]).when(register({}, '7891000315508')).thenThrows(InvalidInput, /GTIN/));
  it('refuses a generic without an active ingredient', () =>
    given([]).when(register({ activeIngredients: [] })).thenThrows(InvalidInput, /generic/));
  it('registers a non-medicine without active ingredients', () =>
    given([])
      .when(register({ activeIngredients: [], generic: false, category: 'hygiene' }))
      .then([{ type: 'ProductRegistered', data: { productId, gtin: '7891000315507', ...details, activeIngredients: [], generic: false, category: 'hygiene', registeredAt: at } }]));
  it('refuses registering twice', () => given([registered]).when(register()).thenThrows(Conflict));

  it('records only the fields that change', () =>
    given([registered])
      .when({ type: 'ChangeProduct', productId, changes: { name: 'Dipirona 500 mg', brand: 'EMS Genérico' }, now })
      .then([{ type: 'ProductChanged', data: { productId, changes: { name: 'Dipirona 500 mg' }, changedAt: at } }]));
  it('records nothing when nothing changes', () =>
    given([registered]).when({ type: 'ChangeProduct', productId, changes: { generic: true }, now }).then([]));
  it('refuses a change that leaves a generic without active ingredients', () =>
    given([registered]).when({ type: 'ChangeProduct', productId, changes: { activeIngredients: [] }, now }).thenThrows(InvalidInput));
  it('accepts corrections to a discontinued product', () =>
    given([registered, discontinued])
      .when({ type: 'ChangeProduct', productId, changes: { presentation: '500 mg, 20 comprimidos' }, now })
      .then([{ type: 'ProductChanged', data: { productId, changes: { presentation: '500 mg, 20 comprimidos' }, changedAt: at } }]));
  it('refuses a product that does not exist', () => given([]).when(discontinue).thenThrows(NotFound));

  it('discontinues an active product', () => given([registered]).when(discontinue).then([discontinued]));
  it('refuses to discontinue twice', () => given([registered, discontinued]).when(discontinue).thenThrows(Conflict, /already/));
  it('reinstates a discontinued product', () =>
    given([registered, discontinued]).when(reinstate).then([{ type: 'ProductReinstated', data: { productId, reinstatedAt: at } }]));
  it('refuses to reinstate an active product', () => given([registered]).when(reinstate).thenThrows(Conflict, /not discontinued/));
});
