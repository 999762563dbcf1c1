import Joi from 'joi';
import { BRAZIL_EXTENT } from '../kernel/brazil';
import { productSummaries, productSummary } from '../catalog/published';
import { uuidSchema } from '../kernel/command';
import { NotFound } from '../kernel/errors';
import { jsonResponse, jsonTextResponse, queryObject, validate, withProblemDetails } from '../kernel/http';
import { collect, readThrough, worstOutcome } from '../kernel/query';
import { rememberingValidator } from '../kernel/remembered-validation';
import { byIdHandler, historyHandler, keysetPage, limitSchema, type DocumentView } from '../kernel/read-handlers';
import type { ServiceProvider } from '../kernel/services';
import { activePharmaciesNear, pharmacySummary } from '../pharmacies/published';
import { nearMeAnswerText, offerSummary } from './listing';
import { rankNearMe } from './near-me';
import { offerStreamId } from './commands';
import { OFFERS_BY_PHARMACY_CONTAINER, OFFERS_BY_PRODUCT_CONTAINER, OFFERS_CONTAINER, offerCacheKey, offersOfPharmacyGeneration, nearMeCells, nearMeGenerations, type OfferDocument } from './projection';

const offerView: DocumentView<OfferDocument> = {
  noun: 'offer',
  container: OFFERS_CONTAINER.name,
  cacheKey: offerCacheKey,
  // Validity is read-time: an offer past validUntil is no longer current even before its expiry event.
  variant: (offer, now) => (isCurrent(offer, now) ? 'current' : 'ended'),
  present: (offer, now) => ({ ...offer, current: isCurrent(offer, now) }),
};

/** Current: active, and now within [validFrom, validUntil). */
export function isCurrent(offer: OfferDocument, now: Date): boolean {
  const at = now.getTime();
  return offer.status === 'active' && Date.parse(offer.validFrom) <= at && at < Date.parse(offer.validUntil);
}

const nearSchema = Joi.object({
  lat: Joi.number().min(BRAZIL_EXTENT.minLat).max(BRAZIL_EXTENT.maxLat).required(),
  lon: Joi.number().min(BRAZIL_EXTENT.minLon).max(BRAZIL_EXTENT.maxLon).required(),
  radiusKm: Joi.number().greater(0).max(50).default(5),
  openNow: Joi.boolean(),
  sort: Joi.string().valid('price', 'distance').default('price'),
  limit: limitSchema(20, 100),
});

// The hottest query of the API, from a few positions per neighbourhood, on the products
// most searched: see rememberingValidator.
const validNearQuery = rememberingValidator(nearSchema, 'query');
const validProductId = rememberingValidator(uuidSchema, 'path');

const pharmacyOffersSchema = Joi.object({ limit: limitSchema(20, 100), cursor: Joi.string().max(512) });


export function offerQueries(services: ServiceProvider) {
  return {
    byId: byIdHandler(services, offerView),

    /**
     * "Where is this medicine cheapest near me": the active pharmacies near the point,
     * then this product's active offers at those pharmacies, joined at read time, so a
     * closed, reopened, renamed or relocated pharmacy shows as it is now.
     */
    cheapestNear: withProblemDetails(async (request) => {
      const s = await services();
      const productId = validProductId(request.params.id);
      const { lat, lon, radiusKm, openNow, sort, limit } = validNearQuery(queryObject(request));
      const product = await productSummary(s, productId);
      if (!product.value) throw new NotFound(`no product ${productId}`);
      const near = await activePharmaciesNear(s, { lat, lon }, radiusKm);
      const { key: area, pharmacyIds } = near.area;
      // Cached for the whole area, not this point's circle: everyone searching this product
      // from the same grid cell and radius shares the entry; the circle is cut below.
      const offers = pharmacyIds.length
        ? await readThrough(
            s,
            // The cells too: the generation is a sum over them, comparable only to the same cells' sum.
            `offers:product:${productId}:area:${area}:cells:${nearMeCells(near.area.bounds)}`,
            () =>
              collect(
                s.readStore.container<OfferDocument>(OFFERS_BY_PRODUCT_CONTAINER.name),
                {
                  query: "SELECT * FROM c WHERE c.productId = @product AND c.status = 'active' AND ARRAY_CONTAINS(@pharmacies, c.pharmacyId)",
                  parameters: [
                    { name: '@product', value: productId },
                    { name: '@pharmacies', value: pharmacyIds },
                  ],
                  partitionKey: productId,
                },
                pharmacyIds.length,
              ),
            nearMeGenerations(productId, near.area.bounds),
          )
        : { value: [] as OfferDocument[], cache: 'hit' as const };
      const ranked = rankNearMe(offers.value ?? [], near, { now: s.clock.now(), sort, openNow, limit });
      return jsonTextResponse(200, nearMeAnswerText(product.value, ranked), {
        'x-cache': worstOutcome([product.cache, near.cache, offers.cache ?? 'miss']),
      });
    }),

    /** A pharmacy's current offers, with each product's name, presentation and GTIN as they are now. */
    atPharmacy: withProblemDetails(async (request) => {
      const s = await services();
      const pharmacyId = validate(uuidSchema, request.params.id, 'path');
      const { limit, cursor } = validate(pharmacyOffersSchema, queryObject(request), 'query');
      const now = s.clock.now();
      const page = await keysetPage<OfferDocument>(s, {
        container: OFFERS_BY_PHARMACY_CONTAINER.name,
        cacheKey: `offers:pharmacy:${pharmacyId}`,
        generation: offersOfPharmacyGeneration(pharmacyId),
        query: (after) => ({
          query: "SELECT * FROM c WHERE c.pharmacyId = @pharmacy AND c.status = 'active' AND c.id > @after ORDER BY c.id",
          parameters: [
            { name: '@pharmacy', value: pharmacyId },
            { name: '@after', value: after },
          ],
          partitionKey: pharmacyId,
        }),
        keyOf: (offer) => offer.id,
        matches: (offer) => isCurrent(offer, now),
        limit,
        cursor,
      });
      // After the page, so that a bad cursor reads as such.
      const [pharmacy, products] = await Promise.all([pharmacySummary(s, pharmacyId), productSummaries(s, page.items.map((offer) => offer.productId))]);
      if (!pharmacy.value) throw new NotFound(`no pharmacy ${pharmacyId}`);
      // A closed pharmacy's offers leave its page as they leave the search, and come back as they were when it reopens.
      if (pharmacy.value.status === 'closed') return jsonResponse(200, { items: [] }, { 'x-cache': pharmacy.cache });
      const items = page.items.map((offer) => ({
        ...offerSummary(offer),
        product: products.summaries.get(offer.productId) ?? { id: offer.productId },
      }));
      const cache = worstOutcome([page.cache, pharmacy.cache, products.cache]);
      return jsonResponse(200, { items, nextCursor: page.nextCursor }, { 'x-cache': cache });
    }),

    history: historyHandler(services, 'offer', offerStreamId),
  };
}
