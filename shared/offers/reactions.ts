import type { InvocationContext, Timer } from '@azure/functions';
import Joi from 'joi';
import { productStatus, productStreamId } from '../catalog/published';
import { sharedBatchingLoads } from '../kernel/batched-loads';
import { loadAggregate, metadataCausedBy, runCommand, uuidSchema } from '../kernel/command';
import { ConcurrencyConflict, InvalidInput } from '../kernel/errors';
import { validate } from '../kernel/http';
import { LearntOnce } from '../kernel/learnt-once';
import type { EventStore, StoredEvent } from '../kernel/ports';
import { toStoredEvent } from '../kernel/projection';
import type { EventHandlerDeclaration, TimerDeclaration } from '../kernel/routes';
import type { ServiceProvider, Services } from '../kernel/services';
import { expireOfferSpec, OFFERS_BY_PRODUCT, offerStreamId, withdrawOfDiscontinuedProductSpec } from './commands';
import { OFFERS_CONTAINER, type OfferDocument } from './projection';

const ACTOR = 'system:offers';
const ATTEMPTS = 5;

/**
 * Runs a reaction's withdrawal; a concurrent write to the same offer is simply tried
 * again. Each attempt reads the offer and the product's status anew (the command's
 * facts), so it withdraws nothing once the product is active again.
 */
async function withdrawOffer(services: Services, offerId: string, productId: string, cause: StoredEvent, context: InvocationContext) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runCommand(services, withdrawOfDiscontinuedProductSpec, {
        id: offerId,
        body: { productId },
        principal: 'system',
        metadata: metadataCausedBy(cause, ACTOR),
        context,
      });
    } catch (error) {
      if (!(error instanceof ConcurrencyConflict) || attempt >= ATTEMPTS) throw error;
    }
  }
}

/**
 * What the withdrawal reads of a discontinuation: the product it names, which must be its
 * stream's. A message without one (another version's shape) is refused as poison, to be
 * dead-lettered and seen: read as `undefined`, it was completed as a stale discontinuation
 * of a product that does not exist, and the offers stayed active.
 */
const discontinuedDataSchema = Joi.object({ productId: uuidSchema.required() }).unknown();

/**
 * Product discontinued → each of its active offers is withdrawn, an event in the offer's
 * own stream that names the reason. The offers are found through the write side's index,
 * committed with each offer, so none is missed however far the read models lag.
 *
 * It acts on the product as it is when it runs, not on the message: a redelivered or
 * replayed discontinuation of a product reinstated since does nothing (its offers may
 * have been republished). Each withdrawal checks the product again against the offer's
 * current version (see withdrawOfDiscontinuedProductSpec).
 */
export function withdrawOffersOfDiscontinuedProduct(services: ServiceProvider): EventHandlerDeclaration {
  return {
    name: 'withdrawOffersOfDiscontinuedProduct',
    subscription: 'offers-product-discontinued',
    eventTypes: ['ProductDiscontinued'],
    handler: async (message, context) => {
      const s = await services();
      const event = toStoredEvent(message);
      const { productId } = validate(discontinuedDataSchema, event.data, 'body');
      // A product named in its data but not its stream's is no discontinuation of ours either.
      if (productStreamId(productId) !== event.streamId) {
        throw new InvalidInput('the body is not valid', [{ field: 'data.productId', message: 'does not name the product of the event\'s stream' }]);
      }
      const status = await productStatus(s.eventStore, productId);
      if (status !== 'discontinued') {
        context.log(`product ${productId} is ${status} now: ${event.type} (version ${event.version}) is stale, no offer withdrawn`);
        return;
      }
      for (const streamId of await s.eventStore.readIndex(OFFERS_BY_PRODUCT, productId)) {
        await withdrawOffer(s, streamId.slice(offerStreamId('').length), productId, event, context);
      }
    },
  };
}

/** What the published check reads of its message: the offer's stream and, in a publication, its product. */
const checkedEventSchema = Joi.object({
  streamId: Joi.string().pattern(/^offer-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/).required(),
  type: Joi.string().valid('OfferPublished', 'OfferRevised').required(),
  data: Joi.when('type', { is: 'OfferPublished', then: Joi.object({ productId: uuidSchema.required() }).unknown(), otherwise: Joi.object() }),
}).unknown();

/**
 * Offers' products, learnt once per event store (one per process): an offer's product never
 * changes (its id derives from it).
 */
const productsOfOffers = new WeakMap<EventStore, LearntOnce<string>>();

function learntProducts(eventStore: EventStore): LearntOnce<string> {
  let learnt = productsOfOffers.get(eventStore);
  if (!learnt) productsOfOffers.set(eventStore, (learnt = new LearntOnce<string>(50_000)));
  return learnt;
}

/**
 * The offer's product. A publication names it, a revision does not, so the first revision
 * of an offer this process has not seen loads its aggregate (the kept state and its tail,
 * in the shared batched read). An offer the store does not hold has none.
 */
async function productOfOffer(eventStore: EventStore, event: StoredEvent): Promise<string | undefined> {
  if (event.type === 'OfferPublished') {
    const { productId } = event.data as { productId: string };
    learntProducts(eventStore).set(event.streamId, productId);
    return productId;
  }
  return learntProducts(eventStore).get(event.streamId, async () => {
    const { decider, snapshots } = withdrawOfDiscontinuedProductSpec;
    const { state } = await loadAggregate(eventStore, decider, snapshots, event.streamId);
    return state.status === 'none' ? undefined : state.productId;
  });
}

/**
 * An offer published (or republished) while its product was being discontinued: the
 * check before publishing saw the product active, the discontinuation's reaction may have
 * listed the offers before this one was committed. Checking again after the commit closes
 * that window. The withdrawal itself checks the product again (a redelivery after the
 * product was reinstated and the offer republished withdraws nothing).
 *
 * A partner feed publishes hundreds of these at once, and the bus runs several of them at
 * a time: their reads go through the process's shared batched view of the event store
 * (sharedBatchingLoads), so the deliveries in flight cost one read per step together
 * instead of one each. Each is still its own delivery, settled, retried and dead-lettered
 * on its own; the reads are the event store's own (the kept states are only a starting
 * point for the tail), so a product is checked as it is now. The rare withdrawal runs as
 * its own command, on the store itself.
 */
export function withdrawOfferPublishedForDiscontinuedProduct(services: ServiceProvider): EventHandlerDeclaration {
  return {
    name: 'withdrawOfferPublishedForDiscontinuedProduct',
    subscription: 'offers-published-check',
    eventTypes: ['OfferPublished', 'OfferRevised'],
    handler: async (message, context) => {
      const s = await services();
      // Checked before any read: a message no handler can take must not fail the reads it would share.
      const event = validate(checkedEventSchema, toStoredEvent(message), 'body') as StoredEvent;
      const loads = sharedBatchingLoads(s.eventStore);
      const productId = await productOfOffer(loads, event);
      if (productId && (await productStatus(loads, productId)) === 'discontinued') {
        await withdrawOffer(s, event.streamId.slice(offerStreamId('').length), productId, event, context);
      }
    },
  };
}

/** How many expired offers one run handles; the next run takes the rest. */
const EXPIRY_BATCH = 1000;

/**
 * Offers past validUntil get an expiry event (queries already hide them: this keeps the
 * state and the audit trail true). Candidates come from the read model; the decider
 * checks each against the event store, so a renewed offer is never expired.
 */
export function expireOffersTimer(services: ServiceProvider): TimerDeclaration {
  return {
    name: 'expireOffers',
    schedule: '0 * * * * *',
    handler: async (_timer: Timer, context: InvocationContext) => {
      const s = await services();
      const now = s.clock.now().toISOString();
      const page = await s.readStore.container<OfferDocument>(OFFERS_CONTAINER.name).queryPage(
        { query: "SELECT * FROM c WHERE c.status = 'active' AND c.validUntil <= @now", parameters: [{ name: '@now', value: now }] },
        EXPIRY_BATCH,
      );
      for (const offer of page.items) {
        await runCommand(s, expireOfferSpec, {
          id: offer.id,
          body: undefined,
          principal: 'system',
          metadata: { correlationId: context.invocationId, causationId: context.invocationId, actor: ACTOR },
          context,
        }).catch((error) => context.warn(`offer ${offer.id} not expired this run`, error instanceof Error ? error.message : ''));
      }
      if (page.items.length) context.log(`expiry checked ${page.items.length} offer(s) past validUntil`);
    },
  };
}
