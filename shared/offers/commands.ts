import { createHash } from 'node:crypto';
import type { HttpHandler, HttpRequest, InvocationContext } from '@azure/functions';
import Joi from 'joi';
import { productStatus } from '../catalog/published';
import {
  commandHandler,
  idempotencyOf,
  metadataOf,
  publishAfterCommit,
  runCommandBatch,
  type BatchOutcome,
  type CommandResult,
  type CommandRun,
  type CommandSpec,
  type SnapshotPolicy,
} from '../kernel/command';
import { authenticate, type Principal } from '../kernel/auth';
import { DomainError, IdempotencyKeyReused, PreconditionFailed } from '../kernel/errors';
import { answerOfKeyHolder, claimOrReplay, idempotencyRecord, releaseClaim, type IdempotentRequest } from '../kernel/idempotency';
import { pharmacyStaff } from '../kernel/policies';
import { instantSchema } from '../kernel/schemas';
import { jsonResponse, MAX_BATCH_BODY_BYTES, preconditionOf, readJsonBody, validate, withProblemDetails } from '../kernel/http';
import type { StoredEvent } from '../kernel/ports';
import type { ServiceProvider, Services } from '../kernel/services';
import { pharmacyStatus } from '../pharmacies/published';
import { offerDecider, STOCK_LEVELS, type Offer, type OfferCommand, type OfferEvent, type OfferTerms, type Price, type References } from './domain/offer';

/** Fixed namespace of offer ids (UUID v5): one id per pharmacy and product, forever. */
const OFFER_NAMESPACE = Buffer.from('6f9c1d2a4b7e4c5f8a3d0e1b2c4d5e6f', 'hex');

/** The offer of a product at a pharmacy: publishing it twice updates it instead of duplicating it. */
export function offerIdFor(pharmacyId: string, productId: string): string {
  const hash = createHash('sha1').update(OFFER_NAMESPACE).update(`${pharmacyId.toLowerCase()}:${productId.toLowerCase()}`).digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const offerStreamId = (id: string) => `offer-${id}`;
/** Bump the schema when the Offer state or evolve changes. */
const snapshots: SnapshotPolicy = { schema: 'offer-v1', every: 50 };
export const OFFERS_BY_PRODUCT = 'offers-by-product';
/** The largest price accepted: R$ 1 000 000,00 (a typo guard, not a business limit). */
const MAX_CENTS = 100_000_000;
export const MAX_BATCH_ITEMS = 500;

const cents = Joi.number().integer().min(1).max(MAX_CENTS);
const reference = Joi.string().guid({ version: ['uuidv4', 'uuidv5', 'uuidv7'] });
const instant = instantSchema;

export interface PublishBody extends OfferTerms {
  pharmacyId: string;
  productId: string;
}

export const publishSchema = Joi.object<PublishBody>({
  pharmacyId: reference.required(),
  productId: reference.required(),
  priceCents: cents.required(),
  listPriceCents: cents,
  validFrom: instant.required(),
  validUntil: instant.required(),
  stock: Joi.string().valid(...STOCK_LEVELS).required(),
});

export const priceSchema = Joi.object<Price>({ priceCents: cents.required(), listPriceCents: cents });

const batchSchema = Joi.object<{ items: unknown[] }>({
  items: Joi.array().items(Joi.any()).min(1).max(MAX_BATCH_ITEMS).required(),
});

type OfferSpec<Body, Facts = undefined> = CommandSpec<Body, OfferCommand, OfferEvent, Offer, Facts>;

function terms(body: PublishBody): OfferTerms {
  return {
    priceCents: body.priceCents,
    ...(body.listPriceCents === undefined ? {} : { listPriceCents: body.listPriceCents }),
    validFrom: new Date(body.validFrom).toISOString(),
    validUntil: new Date(body.validUntil).toISOString(),
    stock: body.stock,
  };
}

async function references(services: Services, body: PublishBody): Promise<References> {
  const [pharmacy, product] = await Promise.all([
    pharmacyStatus(services.eventStore, body.pharmacyId.toLowerCase()),
    productStatus(services.eventStore, body.productId.toLowerCase()),
  ]);
  return { pharmacy, product };
}

/** The staff of the offer's pharmacy (and admins); partners need offers:write. */
const staffOfOfferPharmacy = pharmacyStaff<{ state: Offer }>('offers:write', ({ state }) => (state.status === 'none' ? undefined : state.pharmacyId));

export const publishOfferSpec: OfferSpec<PublishBody, References> = {
  name: 'publishOffer',
  decider: offerDecider,
  streamId: offerStreamId,
  snapshots,
  authorize: pharmacyStaff('offers:write', ({ body }) => body.pharmacyId),
  bodySchema: publishSchema,
  identity: { kind: 'from-body', id: (body) => offerIdFor(body.pharmacyId, body.productId), location: (id) => `/api/offers/${id}` },
  // Checked against the event store, not the read models: a pharmacy registered a
  // millisecond ago can already publish, and a discontinued product cannot.
  facts: references,
  toCommand: ({ id, body, now, facts }) => ({
    type: 'PublishOffer',
    offerId: id,
    pharmacyId: body.pharmacyId.toLowerCase(),
    productId: body.productId.toLowerCase(),
    terms: terms(body),
    references: facts,
    now,
  }),
  indexes: (events) =>
    events.flatMap((event) => (event.type === 'OfferPublished' ? [{ name: OFFERS_BY_PRODUCT, key: event.data.productId }] : [])),
};

/** The product a reaction withdraws an offer for (the discontinued one). */
export interface DiscontinuedProductBody {
  productId: string;
}

/**
 * A reaction's withdrawal. The product's status is read through the catalog's published
 * module after the offer is loaded and is part of the decision; the append expects the
 * offer's loaded version. So it withdraws only if the product is discontinued now and
 * the offer was not republished meanwhile (a republish makes the append conflict, and
 * the retry reads the product again).
 */
export const withdrawOfDiscontinuedProductSpec: OfferSpec<DiscontinuedProductBody, References['product']> = {
  name: 'withdrawOfferOfDiscontinuedProduct',
  decider: offerDecider,
  streamId: offerStreamId,
  snapshots,
  facts: (services, body) => productStatus(services.eventStore, body.productId.toLowerCase()),
  toCommand: ({ id, body, now, facts }) => ({
    type: 'WithdrawOfferOfDiscontinuedProduct',
    offerId: id,
    productId: body.productId.toLowerCase(),
    product: facts,
    now,
  }),
};

export const expireOfferSpec: OfferSpec<void> = {
  name: 'expireOffer',
  decider: offerDecider,
  streamId: offerStreamId,
  snapshots,
  toCommand: ({ id, now }) => ({ type: 'ExpireOffer', offerId: id, now }),
};

/**
 * The partner price feed: each item is its own publish and fails on its own, but the items
 * run together (runCommandBatch): their offers, and the pharmacies and products they name,
 * loaded in one read, and every change committed in one transaction, so a
 * 500-item feed costs a handful of round trips instead of thousands. The whole answer is
 * what an Idempotency-Key replays. The key is claimed before the items run, so a retry sent
 * while they still run (the client gave up waiting) is answered 409 with Retry-After rather
 * than running alongside and reporting them unchanged. The answer is stored in the items'
 * transaction, in place of the claim: a process that dies after that commit leaves the
 * answer to replay, and one that dies before it leaves nothing written and a claim that
 * lapses. That transaction commits only while this attempt's claim holds the key: an
 * attempt that outlived its lease, its key taken by a retry, writes nothing and answers
 * what the retry answers (or 409 while it runs).
 */
function publishBatchHandler(services: ServiceProvider): HttpHandler {
  return withProblemDetails(async (request, context) => {
    const s = await services();
    const principal = await authenticate(request, s);
    refuseIfMatch(request);
    const { items } = validate(batchSchema, await readJsonBody(request, MAX_BATCH_BODY_BYTES), 'body');
    const idempotency = idempotencyOf(s, request, `publishOfferBatch:${principal.subject}`, { items }, principal.subject);
    if (!idempotency) return jsonResponse(200, await publishItems(s, principal, items, request, context));
    const earlier = await claimOrReplay(s, idempotency);
    if (earlier) return jsonResponse(earlier.status, earlier.body, { 'idempotent-replayed': 'true' });
    try {
      return jsonResponse(200, await publishItems(s, principal, items, request, context, idempotency));
    } catch (error) {
      // A dependency away fails the whole feed (503, nothing written, nothing recorded under its key): a retry must run, not replay a 503.
      await releaseClaim(s, idempotency);
      if (!(error instanceof IdempotencyKeyReused)) throw error;
      const answered = await answerOfKeyHolder(s, idempotency);
      return jsonResponse(answered.status, answered.body, { 'idempotent-replayed': 'true' });
    }
  });
}

/**
 * RFC 9110 §13.1.1 has If-Match evaluated, and false where the target has no current
 * representation: a feed has none, so no If-Match holds on it. Ignoring the header would run
 * items the caller meant to be conditional.
 */
function refuseIfMatch(request: HttpRequest): void {
  const header = request.headers.get('if-match');
  if (header === null) return;
  preconditionOf(header, 'If-Match'); // a malformed header is a 400, as on a single command
  throw new PreconditionFailed('a feed has no version for If-Match to match: send an item alone to its offer with If-Match to make it conditional');
}

/** An item's line in the feed's answer. */
type ItemResult = { index: number; status: number; id?: string; version?: number; unchanged?: true; error?: { title: string; detail: string; errors?: unknown[] } };

/**
 * The most bytes of field errors (as JSON in UTF-8) a feed's answer lists, over all its items
 * (each item's, in item order, while they fit): the answer is stored under its
 * Idempotency-Key for a day, and errors repeat names the caller chose (an escaped control
 * character is 6 bytes). 500 items of 20 errors each made it four times the largest body the
 * feed takes; with this budget the whole answer stays under that body's limit.
 */
export const MOST_LISTED_FEED_ERROR_BYTES = 96 * 1024;

/** A refused item's line; its field errors only while `budget` (bytes left of MOST_LISTED_FEED_ERROR_BYTES) holds them all. */
function refusedItem(index: number, error: DomainError, budget: { left: number }): ItemResult {
  const size = error.errors.length ? Buffer.byteLength(JSON.stringify(error.errors)) : 0;
  const listed = size <= budget.left;
  if (listed) budget.left -= size;
  const detail = listed ? error.message : `${error.message}; its field errors are not listed (the feed's answer has no room left for them)`;
  return { index, status: error.status, error: { title: error.title, detail, ...(listed && error.errors.length ? { errors: error.errors } : {}) } };
}

/** The feed's items run as one batch; the answer reports each item's outcome (and is what a keyed feed stores with them). */
async function publishItems(s: Services, principal: Principal, items: unknown[], request: HttpRequest, context: InvocationContext, claim?: IdempotentRequest) {
  // Many items name the same pharmacies and products: read each once per decision round (each round brings its own
  // services, and reads them anew: a product discontinued since the last round is seen).
  const seen = new WeakMap<Services, Map<string, Promise<string>>>();
  const once = <T extends string>(services: Services, key: string, load: () => Promise<T>) => {
    const round = seen.get(services) ?? seen.set(services, new Map()).get(services)!;
    if (!round.has(key)) round.set(key, load());
    return round.get(key)! as Promise<T>;
  };
  const spec: OfferSpec<PublishBody, References> = {
    ...publishOfferSpec,
    // Both at once, as `references` does: the batch's loads gather them into one read.
    facts: async (services, body) => {
      const [pharmacy, product] = await Promise.all([
        once(services, `pharmacy:${body.pharmacyId}`, () => pharmacyStatus(services.eventStore, body.pharmacyId.toLowerCase())),
        once(services, `product:${body.productId}`, () => productStatus(services.eventStore, body.productId.toLowerCase())),
      ]);
      return { pharmacy, product };
    },
  };
  const metadata = metadataOf(request, context, principal.subject);
  const invalid: { index: number; error: DomainError }[] = [];
  const runs: { index: number; run: CommandRun<PublishBody> }[] = [];
  const committed: StoredEvent[] = [];
  for (const [index, item] of items.entries()) {
    try {
      runs.push({ index, run: { body: validate(publishSchema, item, 'body'), principal, metadata, context, publishLater: committed } });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      invalid.push({ index, error });
    }
  }
  const report = (outcomes: readonly BatchOutcome[]) => {
    const lines: ({ index: number; error: DomainError } | { index: number; result: CommandResult })[] = [...invalid];
    for (const [k, outcome] of outcomes.entries()) lines.push({ index: runs[k].index, ...outcome });
    const budget = { left: MOST_LISTED_FEED_ERROR_BYTES };
    const results = lines.sort((a, b) => a.index - b.index).map((line): ItemResult => {
      if ('error' in line) return refusedItem(line.index, line.error, budget);
      const { status, body, events } = line.result;
      // Unchanged: the offer already had these terms; nothing was written (a feed's report tells these apart).
      return { index: line.index, status, id: body.id, version: body.version, ...(events?.length ? {} : { unchanged: true as const }) };
    });
    return { results };
  };
  try {
    // Each item is authorised on its own: items for pharmacies the caller is not bound to fail with 403.
    const keyed = claim && {
      claim: { key: claim.key, owner: claim.owner },
      answer: (outcomes: readonly BatchOutcome[]) => idempotencyRecord(s, claim, { status: 200, body: report(outcomes), headers: {} }),
    };
    return report(await runCommandBatch(s, spec, runs.map(({ run }) => run), keyed));
  } finally {
    if (committed.length > 0) await publishAfterCommit(s, committed, context);
  }
}

export function offerCommands(services: ServiceProvider) {
  return {
    publish: commandHandler(services, publishOfferSpec),
    publishBatch: publishBatchHandler(services),
    changePrice: commandHandler(services, {
      name: 'changeOfferPrice',
      decider: offerDecider,
      streamId: offerStreamId,
      snapshots,
      authorize: staffOfOfferPharmacy,
      bodySchema: priceSchema,
      toCommand: ({ id, body, now }) => ({ type: 'ChangeOfferPrice' as const, offerId: id, price: body, now }),
    }),
    withdraw: commandHandler(services, {
      name: 'withdrawOffer',
      decider: offerDecider,
      streamId: offerStreamId,
      snapshots,
      authorize: staffOfOfferPharmacy,
      toCommand: ({ id, now }) => ({ type: 'WithdrawOffer' as const, offerId: id, now }),
    }),
  };
}
