import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startLocalHost, type LocalHost } from '../../local/host';
import { demoProducts } from '../../local/demo-products';
import { offerIdFor } from '../../shared/offers/commands';
import { appModules } from '../../shared/platform/app';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { testServices } from '../support/services';
import { ADMIN, tokenFor } from '../support/tokens';

const DAY = 86_400_000;
const FEEDS = 10;
const OFFERS = 40;
const ITEMS = 250;

/**
 * Partner feeds sent at once over the same offers, over HTTP to a local host, while single
 * price changes race them. A feed commits all or nothing, so while any of its offers moved
 * between its decision and its commit, the batch is decided and committed again. The fault
 * run that found this (10 and 30 keyed feeds at once, 50-500 items over 159 offers) saw
 * 54-57 % of the items refused 409 when a moved stream was decided once more only, after a
 * turn of the event loop, and 2 % when such items ran alone after the batch (ae5c7e7). Here
 * (one process, one event loop) that was 1 588 and 358 of 2 500. Now a round reads its facts
 * and its offers in one read, and no other request runs between that read and its commit
 * on SQLite: none is refused. The 409s are
 * stored in each key's answer and replayed for 24 hours: the partner must send those items
 * again under a new key.
 */
const MOST_REFUSED = 0.02;

describe('partner feeds at once over the same offers', () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  let host: LocalHost;
  let token: string;
  before(async () => {
    services = await testServices();
    host = await startLocalHost({ modules: appModules(async () => services), services, port: 0, requestLog: false, log: () => {} });
    token = await tokenFor(services, ADMIN);
  });
  after(async () => {
    await host.stop();
    await services.dispose();
  });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${host.url}/${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const validFrom = new Date(Date.now() - DAY).toISOString();
  const validUntil = new Date(Date.now() + 10 * DAY).toISOString();
  const offer = (pharmacyId: string, productId: string, priceCents: number) => ({ pharmacyId, productId, priceCents, validFrom, validUntil, stock: 'in_stock' });

  it(`take most of their valid items in while single price changes race them (${FEEDS} keyed feeds of ${ITEMS} items over the same ${OFFERS} offers)`, async () => {
    const pharmacyId = (await post('pharmacies', pharmacyBody({ tradeName: 'Disputada' }))).body.id as string;
    const products: string[] = [];
    for (let n = 0; n < OFFERS; n++) products.push((await post('products', { ...demoProducts()[0], name: `Disputado ${n}`, gtin: uniqueGtin() })).body.id as string);
    for (const productId of products) assert.equal((await post('offers', offer(pharmacyId, productId, 900))).status, 201);

    const feeds = Array.from({ length: FEEDS }, (_, feed) => ({ items: Array.from({ length: ITEMS }, (_, n) => offer(pharmacyId, products[n % OFFERS], 1000 + feed * 1000 + n)) }));
    // Single price changes racing the feeds, one after another on each of four loops, until the feeds are answered.
    let feedsAnswered = false;
    let changes = 0;
    const changing = Array.from({ length: 4 }, async (_, loop) => {
      for (let n = loop; !feedsAnswered; n += 4) {
        const changed = await post(`offers/${offerIdFor(pharmacyId, products[n % OFFERS])}/price`, { priceCents: 500 + (n % 100) });
        if (changed.status === 200) changes += 1;
      }
    });
    const answers = await Promise.all(feeds.map((body) => post('offers/batch', body, { 'idempotency-key': `contention-${randomUUID()}` })));
    feedsAnswered = true;
    await Promise.all(changing);

    type Result = { index: number; status: number; version?: number; error?: { detail: string } };
    // What each answer says is stored: the item's version holds the item's price.
    for (const [feed, answer] of answers.entries()) {
      assert.equal(answer.status, 200);
      for (const result of answer.body.results as Result[]) {
        if (result.status !== 200) continue;
        const item = feeds[feed].items[result.index];
        const [event] = await services.eventStore.readStream(`offer-${offerIdFor(pharmacyId, item.productId)}`, { afterVersion: result.version! - 1, limit: 1 });
        assert.equal((event.data as { priceCents: number }).priceCents, item.priceCents);
      }
    }
    const refused = answers.flatMap((answer) => (answer.body.results as Result[]).filter((result) => result.status !== 200));
    assert.ok(refused.length <= MOST_REFUSED * FEEDS * ITEMS, `${refused.length} of ${FEEDS * ITEMS} items refused (${changes} single price changes raced them): ${refused[0]?.error?.detail}`);
  });
});
