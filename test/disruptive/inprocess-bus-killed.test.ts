// The app on its default, in-process bus (`npm start` without RABBITMQ_URL), killed while a reaction runs, and restarted.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { productStatus } from '../../shared/catalog/published';
import { compose } from '../../shared/kernel/composition';
import type { Services } from '../../shared/kernel/services';
import { loadSettings } from '../../shared/kernel/settings';
import { offerIdFor } from '../../shared/offers/commands';
import { READ_CONTAINERS } from '../../shared/platform/app';
import { demoProducts } from '../../local/demo-products';
import { AppProcess } from '../support/app-process';
import { request, until } from '../support/fault-load';
import { offerBody, pharmacyBody, uniqueGtin } from '../support/fixtures';
import { freePort } from '../support/free-port';
import { ADMIN, tokenFor } from '../support/tokens';

/**
 * The in-process bus holds its deliveries in memory: what it was handed is gone with the
 * process. A discontinuation whose reaction (withdrawing the product's offers, one command
 * each) is cut off by a SIGKILL must still complete after the restart: its event may not be
 * marked published in the outbox before its deliveries are done, or the restart's relay
 * leaves it, and the offers stay active for good.
 */
const PHARMACIES = 1000;

describe('The app on the in-process bus, killed while a reaction runs', () => {
  let dataDir: string;
  let app: AppProcess;
  let services: Services;
  let base: string;
  let token: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'farmacias-inprocess-killed-'));
    const port = await freePort();
    const shared = { DATA_DIR: dataDir, REQUEST_LOG: 'false', SEED_DEMO_DATA: 'false', PASSWORD_SCRYPT_LOG2_N: '14' };
    // The test's own view of the event store (and keys, for the token); its bus and read store are its own and unused.
    services = await compose(loadSettings(shared), READ_CONTAINERS);
    token = await tokenFor(services, ADMIN);
    base = `http://127.0.0.1:${port}/api`;
    app = new AppProcess({ ...shared, LOCAL_HOST_PORT: String(port) }, base);
    await app.start();
  });
  after(async () => {
    await app?.kill();
    await services?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** The product's offers whose last event in the event store is not a withdrawal. */
  async function activeOffers(productId: string, pharmacies: string[]): Promise<number> {
    let active = 0;
    for (const pharmacyId of pharmacies) {
      const events = await services.eventStore.readStream(`offer-${offerIdFor(pharmacyId, productId)}`);
      if (events[events.length - 1]?.type !== 'OfferWithdrawn') active += 1;
    }
    return active;
  }

  it('a discontinuation cut off mid-reaction withdraws every offer of the product after the restart', async (t) => {
    const api = (method: string, path: string, body?: unknown) => request(base, token, method, path, body);
    const product = await api('POST', 'products', { ...demoProducts()[0], gtin: uniqueGtin() });
    assert.equal(product.status, 201);
    const productId = product.body!.id as string;
    const pharmacies: string[] = [];
    for (let i = 0; i < PHARMACIES; i++) {
      const answer = await api('POST', 'pharmacies', pharmacyBody({ tradeName: `Drogaria Reação ${i}` }));
      assert.equal(answer.status, 201);
      pharmacies.push(answer.body!.id as string);
    }
    for (let from = 0; from < PHARMACIES; from += 500) {
      const feed = await api('POST', 'offers/batch', { items: pharmacies.slice(from, from + 500).map((pharmacyId) => offerBody(pharmacyId, productId, 1500)) });
      assert.equal(feed.status, 200);
    }
    assert.equal(await activeOffers(productId, pharmacies), PHARMACIES);

    const discontinued = await api('POST', `products/${productId}/discontinuation`);
    assert.equal(discontinued.status, 200);
    // Killed mid-reaction: once the discontinuation is marked published, or (marked only once its deliveries are done) once
    // most offers are withdrawn. The reaction withdraws them in the index's order, the streams' ids.
    const [discontinuation] = (await services.eventStore.readStream(`product-${productId}`)).slice(-1);
    assert.equal(discontinuation.type, 'ProductDiscontinued');
    const streams = pharmacies.map((pharmacyId) => `offer-${offerIdFor(pharmacyId, productId)}`).sort();
    const late = streams[Math.floor(streams.length * 0.8)];
    const deadline = Date.now() + 10_000;
    for (;;) {
      const marked = !(await services.eventStore.pendingOutbox(0, 100_000)).some((event) => event.eventId === discontinuation.eventId);
      const [last] = (await services.eventStore.readStream(late)).slice(-1);
      if (marked || last.type === 'OfferWithdrawn') break;
      assert.ok(Date.now() < deadline, 'the reaction did not get far within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await app.kill();
    const leftActive = await activeOffers(productId, pharmacies);
    assert.ok(leftActive > 0, 'the reaction finished before the kill: nothing was cut off, so this run proves nothing');

    await app.start();
    assert.equal(await productStatus(services.eventStore, productId), 'discontinued');
    const ms = await until('every offer of the discontinued product withdrawn after the restart', 20_000, async () => (await activeOffers(productId, pharmacies)) === 0).catch(
      async (error: Error) => assert.fail(`${error.message}: ${await activeOffers(productId, pharmacies)} of ${PHARMACIES} still active\n${app.output.slice(-3000)}`),
    );
    t.diagnostic(`killed with ${leftActive} of ${PHARMACIES} offers still active; all withdrawn ${ms} ms after the restart served`);
  });
});
