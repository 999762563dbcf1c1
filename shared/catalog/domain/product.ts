import { sameValue, type Decider } from '../../kernel/decider';
import { Conflict, InvalidInput, NotFound } from '../../kernel/errors';
import { gtinProblem } from './gtin';

/** Pharmaceutical forms; the list is part of the API contract. */
export const PRODUCT_FORMS = [
  'tablet',
  'coated-tablet',
  'capsule',
  'syrup',
  'suspension',
  'solution',
  'drops',
  'cream',
  'ointment',
  'gel',
  'injection',
  'spray',
  'powder',
  'other',
] as const;

export const PRODUCT_CATEGORIES = [
  'medicines',
  'generics',
  'vitamins',
  'dermocosmetics',
  'hygiene',
  'baby',
  'first-aid',
  'other',
] as const;

/** none: over the counter; required: prescription; retained: the pharmacy keeps the prescription. */
export const PRESCRIPTION_RULES = ['none', 'required', 'retained'] as const;

export interface ProductDetails {
  name: string;
  brand: string;
  manufacturer: string;
  activeIngredients: string[];
  presentation: string;
  form: (typeof PRODUCT_FORMS)[number];
  category: (typeof PRODUCT_CATEGORIES)[number];
  prescription: (typeof PRESCRIPTION_RULES)[number];
  generic: boolean;
  anvisaRegistration?: string;
}

export type ProductChanges = Partial<ProductDetails>;

export type ProductEvent =
  | { type: 'ProductRegistered'; data: ProductDetails & { productId: string; gtin: string; registeredAt: string } }
  | { type: 'ProductChanged'; data: { productId: string; changes: ProductChanges; changedAt: string } }
  | { type: 'ProductDiscontinued'; data: { productId: string; discontinuedAt: string } }
  | { type: 'ProductReinstated'; data: { productId: string; reinstatedAt: string } };

export const PRODUCT_EVENT_TYPES: readonly ProductEvent['type'][] = [
  'ProductRegistered',
  'ProductChanged',
  'ProductDiscontinued',
  'ProductReinstated',
];

export type ProductCommand =
  | { type: 'RegisterProduct'; productId: string; gtin: string; details: ProductDetails; now: Date }
  | { type: 'ChangeProduct'; productId: string; changes: ProductChanges; now: Date }
  | { type: 'DiscontinueProduct'; productId: string; now: Date }
  | { type: 'ReinstateProduct'; productId: string; now: Date };

interface Registered {
  id: string;
  gtin: string;
  details: ProductDetails;
}

export type Product = { status: 'none' } | ({ status: 'active' } & Registered) | ({ status: 'discontinued' } & Registered);

export const initialState: Product = { status: 'none' };

export function evolve(state: Product, event: ProductEvent): Product {
  switch (event.type) {
    case 'ProductRegistered': {
      const { productId, gtin, registeredAt: _registeredAt, ...details } = event.data;
      return { status: 'active', id: productId, gtin, details };
    }
    case 'ProductChanged':
      return state.status === 'none' ? state : { ...state, details: { ...state.details, ...event.data.changes } };
    case 'ProductDiscontinued':
      return state.status === 'none' ? state : { ...state, status: 'discontinued' };
    case 'ProductReinstated':
      return state.status === 'none' ? state : { ...state, status: 'active' };
  }
}

/** A generic names at least one active ingredient. (The `generic` flag and the `generics` category are not tied: the category is where the catalogue shelves it.) */
function assertConsistent(details: ProductDetails): void {
  if (details.generic && details.activeIngredients.length === 0) {
    throw new InvalidInput('a generic medicine names its active ingredients', [
      { field: 'activeIngredients', message: 'list at least one active ingredient for a generic' },
    ]);
  }
}

function assertValidGtin(gtin: string): void {
  const reason = gtinProblem(gtin);
  if (reason) throw new InvalidInput('the GTIN is not valid', [{ field: 'gtin', message: reason }]);
}

export function decide(command: ProductCommand, state: Product): ProductEvent[] {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'RegisterProduct':
      if (state.status !== 'none') throw new Conflict('the product is already registered');
      assertValidGtin(command.gtin);
      assertConsistent(command.details);
      return [{ type: 'ProductRegistered', data: { productId: command.productId, gtin: command.gtin, ...command.details, registeredAt: at } }];
    case 'ChangeProduct': {
      // Catalogue corrections stay possible on discontinued products: the record outlives the sale.
      if (state.status === 'none') throw new NotFound('no such product');
      const changes = Object.fromEntries(
        Object.entries(command.changes).filter(([field, value]) => !sameValue(state.details[field as keyof ProductDetails], value)),
      ) as ProductChanges;
      if (Object.keys(changes).length === 0) return [];
      assertConsistent({ ...state.details, ...changes });
      return [{ type: 'ProductChanged', data: { productId: state.id, changes, changedAt: at } }];
    }
    case 'DiscontinueProduct':
      if (state.status === 'none') throw new NotFound('no such product');
      if (state.status === 'discontinued') throw new Conflict('the product is already discontinued');
      return [{ type: 'ProductDiscontinued', data: { productId: state.id, discontinuedAt: at } }];
    case 'ReinstateProduct':
      if (state.status === 'none') throw new NotFound('no such product');
      if (state.status === 'active') throw new Conflict('the product is not discontinued');
      return [{ type: 'ProductReinstated', data: { productId: state.id, reinstatedAt: at } }];
  }
}

export const productDecider: Decider<ProductCommand, ProductEvent, Product> = { initialState, evolve, decide };
