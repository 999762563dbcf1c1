import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { deletePlatformTopology } from '../support/rabbitmq-topology';
import { it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { gtinCheckDigit } from '../../shared/catalog/domain/gtin';
import { flushPublishedMarks } from '../../shared/kernel/outbox-marks';
import { offerIdFor } from '../../shared/offers/commands';
import { demoProducts } from '../../local/demo-products';
import { testApp } from '../support/app';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';
import { skipUnlessReachable } from '../support/reachable';

const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const skip = skipUnlessReachable('RabbitMQ', 'RABBITMQ_URL', rabbitUrl) || skipUnlessReachable('Redis', 'REDIS_URL', redisUrl);

suiteNeeding('the services profile: RabbitMQ and Redis', skip, () => {
  it('carries commands to the read models and the offers reaction through RabbitMQ', async () => {
    const run = randomUUID().slice(0, 8);
    const env = { RABBITMQ_URL: rabbitUrl, RABBITMQ_EXCHANGE: `test-domain-events-${run}`, RABBITMQ_QUEUE_PREFIX: `test-${run}.`, REDIS_URL: redisUrl };
    const app = await testApp(env);
    try {
      const pharmacy = await invoke(app.handler('registerPharmacy'), { method: 'POST', body: pharmacyBody() });
      const read = await invoke(app.handler('getPharmacy'), { params: { id: pharmacy.body.id }, headers: { 'x-min-version': '1' } });
      assert.equal(read.body.version, 1, 'projected through RabbitMQ');

      const gtinBody = `7895${String(Date.now() % 1e8).padStart(8, '0')}`;
      const product = await invoke(app.handler('registerProduct'), { method: 'POST', body: { ...demoProducts()[0], gtin: gtinBody + gtinCheckDigit(gtinBody) } });
      await invoke(app.handler('publishOffer'), {
        method: 'POST',
        body: { pharmacyId: pharmacy.body.id, productId: product.body.id, priceCents: 999, validFrom: '2026-01-01T00:00:00Z', validUntil: '2099-01-01T00:00:00Z', stock: 'in_stock' },
      });
      await invoke(app.handler('discontinueProduct'), { method: 'POST', params: { id: product.body.id } });
      const offerId = offerIdFor(pharmacy.body.id, product.body.id);
      const offer = await invoke(app.handler('getOffer'), { params: { id: offerId }, headers: { 'x-min-version': '2' } });
      assert.deepEqual([offer.body.status, offer.body.withdrawalReason], ['withdrawn', 'product-discontinued'], 'the reaction ran through RabbitMQ');
      // Confirmed events are marked off the commands' path (within MARK_PUBLISHED_AFTER_MS): written now rather than waited for.
      await flushPublishedMarks(app.services.eventStore);
      assert.deepEqual((await app.services.eventStore.pendingOutbox(0, 100)).length, 0, 'every event confirmed by the broker');
    } finally {
      const names = app.modules.flatMap((m) => m.eventHandlers.map((h) => h.subscription));
      await app.services.dispose();
      await deletePlatformTopology(rabbitUrl, env, names);
    }
  });
});
