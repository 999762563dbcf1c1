import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CosmosClient } from '@azure/cosmos';
import { startLocalCosmos, type LocalCosmos } from '../../shared/adapters/cosmos/local-server';
import { CosmosReadStore } from '../../shared/adapters/cosmos/read-store';
import { productsProjection } from '../../shared/catalog/projection';
import { project, type DocumentProjection } from '../../shared/kernel/projection';
import type { ReadDocument, StoredEvent } from '../../shared/kernel/ports';
import type { Services } from '../../shared/kernel/services';
import type { SummaryRecord } from '../../shared/kernel/summary';
import { offersByPharmacyProjection, offersByProductProjection, offersProjection } from '../../shared/offers/projection';
import { READ_SUMMARIES } from '../../shared/platform/app';
import { testServices } from '../support/services';
import { shuffled } from '../support/shuffle';

const at = '2026-11-27T12:00:00.000Z';

/** A history per projection that touches every event type it handles. */
function histories(id: string): [DocumentProjection<ReadDocument>, { type: string; data: object }[]][] {
  const terms = { priceCents: 1000, listPriceCents: 1200, validFrom: at, validUntil: '2099-01-01T00:00:00.000Z', stock: 'in_stock' };
  const product = {
    name: 'Dipirona', brand: 'EMS', manufacturer: 'EMS', activeIngredients: ['dipirona'], presentation: '500 mg',
    form: 'tablet', category: 'generics', prescription: 'none', generic: true,
  };
  return [
    [
      productsProjection as unknown as DocumentProjection<ReadDocument>,
      [
        { type: 'ProductRegistered', data: { productId: id, gtin: '7891000315507', ...product, registeredAt: at } },
        { type: 'ProductChanged', data: { productId: id, changes: { name: 'Dipirona Sódica' }, changedAt: at } },
        { type: 'ProductDiscontinued', data: { productId: id, discontinuedAt: at } },
        { type: 'ProductReinstated', data: { productId: id, reinstatedAt: at } },
        { type: 'ProductChanged', data: { productId: id, changes: { brand: 'Medley', activeIngredients: ['dipirona sódica'] }, changedAt: at } },
      ],
    ],
    // The offers' three projections, the two partitioned by product and by pharmacy too: an event
    // that arrives before the stream's first learns its partition from the stream.
    ...[offersProjection, offersByProductProjection, offersByPharmacyProjection].map(
      (projection): [DocumentProjection<ReadDocument>, { type: string; data: object }[]] => [
        projection as unknown as DocumentProjection<ReadDocument>,
        [
          { type: 'OfferPublished', data: { offerId: id, pharmacyId: randomUUID(), productId: randomUUID(), ...terms, publishedAt: at } },
          { type: 'OfferPriceChanged', data: { offerId: id, priceCents: 900, changedAt: at } },
          { type: 'OfferWithdrawn', data: { offerId: id, reason: 'withdrawn-by-pharmacy', withdrawnAt: at } },
          { type: 'OfferRevised', data: { offerId: id, ...terms, priceCents: 950, stock: 'low', revisedAt: at } },
          { type: 'OfferPriceChanged', data: { offerId: id, priceCents: 800, listPriceCents: 1000, changedAt: at } },
          { type: 'OfferExpired', data: { offerId: id, expiredAt: at } },
        ],
      ],
    ),
  ];
}

describe('every projection converges under duplicates and reordering', () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  let local: LocalCosmos;
  let client: CosmosClient;

  before(async () => {
    services = await testServices();
    local = await startLocalCosmos();
    client = new CosmosClient({ endpoint: local.endpoint, key: local.key, connectionPolicy: { enableEndpointDiscovery: false } });
  });
  after(async () => {
    client.dispose();
    await local.stop();
    await services.dispose();
  });

  for (const [projection] of histories('x')) {
    it(`${projection.name}: any order with duplicates gives the in-order document`, async () => {
      const id = randomUUID();
      const [, events] = histories(id).find(([p]) => p.name === projection.name)!;
      const stored: StoredEvent[] = [];
      for (const [index, event] of events.entries()) {
        stored.push(...(await services.eventStore.append(`${projection.streamPrefix}${id}`, index, [{ eventId: randomUUID(), ...event, metadata: { correlationId: 'c' } }])));
      }
      const readSide = async (): Promise<Services> => ({
        ...services,
        // The summaries' containers too: a projection may keep one (the catalogue's counts) beside its documents.
        readStore: await CosmosReadStore.open(client, `converge-${randomUUID()}`, [projection.container, ...READ_SUMMARIES.map((summary) => summary.container)], { createContainers: true }),
      });
      const deliver = async (target: Services, deliveries: StoredEvent[]) => {
        for (const event of deliveries) await project(target, projection, event);
        const summaries = await Promise.all(READ_SUMMARIES.map(async (summary) => (await target.readStore.container<SummaryRecord<unknown>>(summary.container.name).get(summary.id))?.document.summary));
        const partitionKey = projection.partitionKeyOf?.(stored[0]);
        return { document: (await target.readStore.container(projection.container.name).get(id, partitionKey))?.document, summaries };
      };
      const expected = await deliver(await readSide(), stored);
      assert.equal(expected.document?.version, events.length);
      for (let seed = 1; seed <= 8; seed++) {
        const deliveries = shuffled([...stored, ...shuffled(stored, seed * 7).slice(0, 3)], seed);
        assert.deepEqual(await deliver(await readSide(), deliveries), expected, `seed ${seed}`);
      }
    });
  }
});
