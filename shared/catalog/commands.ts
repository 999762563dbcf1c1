import Joi from 'joi';
import { commandHandler } from '../kernel/command';
import { roles } from '../kernel/policies';
import { matching, refuse, text } from '../kernel/schemas';
import type { ServiceProvider } from '../kernel/services';
import { gtin14, gtinProblem } from './domain/gtin';
import { PRODUCT_SNAPSHOTS, productStreamId } from './status';
import {
  PRESCRIPTION_RULES,
  PRODUCT_CATEGORIES,
  PRODUCT_FORMS,
  productDecider,
  type ProductChanges,
  type ProductDetails,
} from './domain/product';

export const gtinSchema = Joi.string()
  .max(14)
  .custom((value: string, helpers) => {
    const reason = gtinProblem(value);
    return reason === undefined ? value : refuse(helpers, '{#reason} (a GTIN-8, -12, -13 or -14 with a matching check digit)', { reason });
  });

const details = {
  name: text(200),
  brand: text(100),
  manufacturer: text(200),
  activeIngredients: Joi.array().items(text(120)).max(10).unique(),
  presentation: text(200),
  form: Joi.string().valid(...PRODUCT_FORMS),
  category: Joi.string().valid(...PRODUCT_CATEGORIES),
  prescription: Joi.string().valid(...PRESCRIPTION_RULES),
  generic: Joi.boolean(),
  anvisaRegistration: matching(/^\d{13}$/, 'anvisaRegistration must be 13 digits'),
};

const required = (keys: (keyof typeof details)[]) => Object.fromEntries(keys.map((key) => [key, details[key].required()]));

export const registerProductSchema = Joi.object<ProductDetails & { gtin: string }>({
  gtin: gtinSchema.required(),
  ...details,
  ...required(['name', 'brand', 'manufacturer', 'activeIngredients', 'presentation', 'form', 'category', 'prescription', 'generic']),
});

export const changeProductSchema = Joi.object<ProductChanges>(details)
  .min(1)
  .messages({ 'object.min': 'send at least one field to change' });

const streamId = productStreamId;
const snapshots = PRODUCT_SNAPSHOTS;
const catalogEditors = roles('catalog-editor');

export function productCommands(services: ServiceProvider) {
  return {
    register: commandHandler(services, {
      name: 'registerProduct',
      decider: productDecider,
      streamId,
      snapshots,
      authorize: catalogEditors,
      bodySchema: registerProductSchema,
      identity: { kind: 'new', location: (id) => `/api/products/${id}` },
      toCommand: ({ id, body: { gtin, ...rest }, now }) => ({ type: 'RegisterProduct' as const, productId: id, gtin, details: rest, now }),
      // One product per GTIN, whichever length it was written in.
      reservations: (events) =>
        events.flatMap((event) => (event.type === 'ProductRegistered' ? [{ scope: 'gtin', value: gtin14(event.data.gtin) }] : [])),
    }),
    change: commandHandler(services, {
      name: 'changeProduct',
      decider: productDecider,
      streamId,
      snapshots,
      authorize: catalogEditors,
      bodySchema: changeProductSchema,
      toCommand: ({ id, body, now }) => ({ type: 'ChangeProduct' as const, productId: id, changes: body, now }),
    }),
    discontinue: commandHandler(services, {
      name: 'discontinueProduct',
      decider: productDecider,
      streamId,
      snapshots,
      authorize: catalogEditors,
      toCommand: ({ id, now }) => ({ type: 'DiscontinueProduct' as const, productId: id, now }),
    }),
    reinstate: commandHandler(services, {
      name: 'reinstateProduct',
      decider: productDecider,
      streamId,
      snapshots,
      authorize: catalogEditors,
      toCommand: ({ id, now }) => ({ type: 'ReinstateProduct' as const, productId: id, now }),
    }),
  };
}
