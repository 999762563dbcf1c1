import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { findLocalReadStore, publishLocalReadStore } from '../../shared/adapters/cosmos/local-server';
import { project } from '../../shared/kernel/projection';
import type { ReadDocument } from '../../shared/kernel/ports';
import { repairReadModels, repairSummaries, verifyReadModels, verifySummaries } from '../../shared/kernel/rebuild';
import type { SummaryRecord } from '../../shared/kernel/summary';
import { activeProductsByCategory, CATALOG_SUMMARIES_CONTAINER, type CategoryCounts } from '../../shared/catalog/projection';
import type { Services } from '../../shared/kernel/services';
import { READ_PROJECTIONS, READ_SUMMARIES } from '../../shared/platform/app';
import { pharmaciesProjection } from '../../shared/pharmacies/projection';
import { DIFFERENCES_FOUND, main as rebuildProjections } from '../../tools/rebuild-projections';
import { testApp } from '../support/app';
import { pharmacyBody, uniqueGtin } from '../support/fixtures';
import { demoProducts } from '../../local/demo-products';
import { OFFERS_BY_PRODUCT_CONTAINER, offersByProductProjection } from '../../shared/offers/projection';
import { invoke } from '../support/http';

type App = Awaited<ReturnType<typeof testApp>>;
const pharmacies = () => READ_PROJECTIONS.filter((projection) => projection.name === pharmaciesProjection.name);

async function registerPharmacies(app: App, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await invoke(app.handler('registerPharmacy'), { method: 'POST', body: pharmacyBody() })).body.id);
  await app.settle();
  return ids;
}

/** Damages the pharmacies container three ways, behind the projector's back. */
async function damage(app: App, [lost, edited]: string[]) {
  const container = app.services.readStore.container<ReadDocument & { tradeName: string }>('pharmacies');
  const gone = await container.get(lost);
  await container.delete(lost, gone!.etag);
  const changed = await container.get(edited);
  await container.replace({ ...changed!.document, tradeName: 'Falsificada' }, changed!.etag);
  const stray = randomUUID();
  await container.upsert({ ...changed!.document, id: stray });
  return stray;
}

describe('verify and repair a live read store against the event store', () => {
  let app: App;
  before(async () => {
    app = await testApp();
  });
  after(async () => {
    await app.services.dispose();
  });

  it('lists what is missing, extra and different, repairs exactly those, and then finds nothing', async () => {
    const [lost, edited, intact] = await registerPharmacies(app, 3);
    const stray = await damage(app, [lost, edited]);

    const [report] = await verifyReadModels(app.services, pharmacies());
    const byKind = Object.fromEntries(report.differences.map((difference) => [difference.kind, difference]));
    assert.equal(report.differences.length, 3);
    assert.deepEqual(byKind.missing, { id: lost, kind: 'missing', expectedVersion: 1 });
    assert.deepEqual(byKind.extra, { id: stray, kind: 'extra', actualVersion: 1 });
    assert.deepEqual(byKind.different, { id: edited, kind: 'different', expectedVersion: 1, actualVersion: 1 });
    assert.equal(report.expected, report.actual, 'one lost, one stray');

    const before = (await app.services.readStore.container('pharmacies').get(intact))!.etag;
    const [repair] = await repairReadModels(app.services, pharmacies());
    assert.equal(repair.repaired, 3);
    assert.equal((await app.services.readStore.container('pharmacies').get(intact))!.etag, before, 'a matching document is not rewritten');
    assert.equal((await app.services.readStore.container('pharmacies').get(stray)), undefined);
    for (const verified of await verifyReadModels(app.services, READ_PROJECTIONS)) assert.deepEqual(verified.differences, [], verified.container);
  });

  it('in a container partitioned by product: finds and repairs each damage in its own partition (the migration that fills a new container)', async () => {
    const [pharmacyId] = await registerPharmacies(app, 1);
    const products = [];
    for (let i = 0; i < 3; i++) {
      const product = await invoke(app.handler('registerProduct'), { method: 'POST', body: { ...demoProducts()[0], name: `Reparotol ${i}`, gtin: uniqueGtin() } });
      products.push(product.body.id as string);
    }
    const validity = { validFrom: '2026-01-01T00:00:00Z', validUntil: '2099-01-01T00:00:00Z' };
    const offers = [];
    for (const productId of products) {
      offers.push((await invoke(app.handler('publishOffer'), { method: 'POST', body: { pharmacyId, productId, priceCents: 990, stock: 'in_stock', ...validity } })).body.id as string);
    }
    await app.settle();
    const byProduct = app.services.readStore.container<ReadDocument & { priceCents: number; productId: string }>(OFFERS_BY_PRODUCT_CONTAINER.name);
    const [lost, edited] = offers;
    await byProduct.delete(lost, (await byProduct.get(lost, products[0]))!.etag, products[0]);
    const changed = (await byProduct.get(edited, products[1]))!;
    await byProduct.replace({ ...changed.document, priceCents: 1 }, changed.etag);
    const onlyByProduct = READ_PROJECTIONS.filter((projection) => projection.name === offersByProductProjection.name);

    const [report] = await verifyReadModels(app.services, onlyByProduct);
    assert.deepEqual(
      report.differences.sort((a, b) => a.kind.localeCompare(b.kind)),
      [
        { id: edited, kind: 'different', expectedVersion: 1, actualVersion: 1, partitionKey: products[1] },
        { id: lost, kind: 'missing', expectedVersion: 1, partitionKey: products[0] },
      ],
    );
    const [repair] = await repairReadModels(app.services, onlyByProduct);
    assert.equal(repair.repaired, 2);
    assert.equal((await byProduct.get(lost, products[0]))?.document.productId, products[0]);
    assert.equal((await byProduct.get(edited, products[1]))?.document.priceCents, 990);
    assert.deepEqual((await verifyReadModels(app.services, onlyByProduct))[0].differences, []);
  });

  it('checks the category counts against a recount of the products, and repairs them (the first fill of the document after an upgrade)', async () => {
    for (let i = 0; i < 2; i++) {
      await invoke(app.handler('registerProduct'), { method: 'POST', body: { ...demoProducts()[0], name: `Contagem ${i}`, gtin: uniqueGtin(), category: 'vitamins' } });
    }
    await app.settle();
    const summaries = app.services.readStore.container<SummaryRecord<CategoryCounts>>(CATALOG_SUMMARIES_CONTAINER.name);
    const { id } = activeProductsByCategory;
    const right = (await summaries.get(id))!;
    assert.deepEqual((await verifySummaries(app.services, READ_SUMMARIES))[0].differences, []);

    await summaries.replace({ ...right.document, summary: { ...right.document.summary, vitamins: 99 } }, right.etag);
    const [different] = await verifySummaries(app.services, READ_SUMMARIES);
    assert.deepEqual(different, {
      projection: 'activeProductsByCategory',
      container: 'catalog-summaries',
      expected: 1,
      actual: 1,
      differences: [{ id, kind: 'different', actualVersion: right.document.version }],
      countedFrom: 'products',
    });
    await summaries.delete(id, (await summaries.get(id))!.etag);
    const [missing] = await verifySummaries(app.services, READ_SUMMARIES);
    assert.deepEqual([missing.actual, missing.differences], [0, [{ id, kind: 'missing' }]]);

    const [repair] = await repairSummaries(app.services, READ_SUMMARIES);
    assert.equal(repair.repaired, 1);
    assert.deepEqual((await summaries.get(id))!.document.summary, right.document.summary);
    assert.deepEqual((await verifySummaries(app.services, READ_SUMMARIES))[0].differences, []);
    const [nothing] = await repairSummaries(app.services, READ_SUMMARIES);
    assert.equal(nothing.repaired, 0, 'a matching summary is not rewritten');
  });

  it('a projector writing during the verify is no difference; one writing during the repair wins, and the repair compares again', async () => {
    const [id] = await registerPharmacies(app, 1);
    // An event appended and projected after the replay read the last batch: the scan sees a newer document than the replay.
    const close = async () => {
      const [closed] = await app.services.eventStore.append(`pharmacy-${id}`, 1, [
        { eventId: randomUUID(), type: 'PharmacyClosed', data: { pharmacyId: id, closedAt: new Date().toISOString() }, metadata: { correlationId: 'test' } },
      ]);
      await project(app.services, pharmaciesProjection as never, closed);
    };
    let appended = false;
    const racing: Services = {
      ...app.services,
      eventStore: Object.assign(Object.create(app.services.eventStore), {
        readAll: async (after: number, limit: number) => {
          const batch = await app.services.eventStore.readAll(after, limit);
          if (batch.length === 0 && !appended) {
            appended = true;
            await close();
          }
          return batch;
        },
      }),
    };
    const [report] = await verifyReadModels(racing, pharmacies());
    assert.ok(appended);
    assert.deepEqual(report.differences, []);

    // Damage it, then let a projector write between the repair's read and its write.
    const container = app.services.readStore.container<ReadDocument & { tradeName: string }>('pharmacies');
    const current = await container.get(id);
    await container.replace({ ...current!.document, tradeName: 'Falsificada' }, current!.etag);
    let raced = 0;
    const contested: Services = {
      ...app.services,
      readStore: {
        ...app.services.readStore,
        container: <D extends ReadDocument>(name: string) => {
          const real = app.services.readStore.container<D>(name);
          return {
            ...real,
            get: real.get.bind(real),
            queryPage: real.queryPage.bind(real),
            replace: async (document: D, etag: string) => {
              if (raced++ === 0) {
                const latest = await real.get(document.id);
                await real.replace({ ...latest!.document }, latest!.etag);
              }
              return real.replace(document, etag);
            },
          };
        },
      },
    };
    const [repair] = await repairReadModels(contested, pharmacies());
    assert.equal(repair.repaired, 1);
    assert.equal(raced, 2, 'the first write lost to the projector, the second one landed');
    assert.equal((await container.get(id))!.document.tradeName, ((await app.services.eventStore.readStream(`pharmacy-${id}`))[0].data as { tradeName: string }).tradeName);
  });
});

describe('npm run rebuild-projections', () => {
  it('verifies and repairs the store of the host running on DATA_DIR, and refuses to check an empty one of its own', async () => {
    const app = await testApp();
    const lines: string[] = [];
    const print = (line: string) => lines.push(line);
    const env = { DATA_DIR: app.services.settings.dataDir, REQUEST_LOG: 'false' };
    try {
      assert.equal(await rebuildProjections(['verify'], env, print), 2, 'no host publishes its store yet');
      assert.match(lines.pop()!, /no read store to check: start the platform/);
      const unpublish = publishLocalReadStore(app.services.settings.dataDir, app.services.ephemeralReadStore!);
      assert.deepEqual(findLocalReadStore(app.services.settings.dataDir), app.services.ephemeralReadStore);

      const [lost, edited] = await registerPharmacies(app, 2);
      await damage(app, [lost, edited]);
      assert.equal(await rebuildProjections(['verify', '--only', 'pharmacies', '--show', '1'], env, print), DIFFERENCES_FOUND);
      assert.match(lines[0], /^pharmacies: 2 expected from the events, 2 in the store; 3 difference\(s\) \(1 missing, 1 extra, 1 different\)$/);
      assert.equal(lines.length, 3, 'one shown, the rest counted');
      assert.match(lines[2], /and 2 more/);

      lines.length = 0;
      assert.equal(await rebuildProjections([], env, print), 0, 'repair is the default');
      assert.ok(lines.includes('  repaired 3 document(s)'));
      lines.length = 0;
      assert.equal(await rebuildProjections(['verify'], env, print), 0);
      assert.deepEqual(lines.filter((line) => !/ 0 difference\(s\)/.test(line)), []);
      lines.length = 0;
      assert.equal(await rebuildProjections(['verify', '--only', 'products'], env, print), 0, 'the repair filled the counts too (no product yet: all zero)');
      assert.deepEqual(lines, [
        'products: 0 expected from the events, 0 in the store; 0 difference(s) (0 missing, 0 extra, 0 different)',
        'catalog-summaries: 1 expected from a recount of products, 1 in the store; 0 difference(s) (0 missing, 0 extra, 0 different)',
      ], 'a summary goes with the container it counts');

      assert.equal(await rebuildProjections(['verify', '--only', 'nothing'], env, print), 2);
      assert.equal(await rebuildProjections(['rebuild'], env, print), 2);
      unpublish();
      assert.equal(findLocalReadStore(app.services.settings.dataDir), undefined);
    } finally {
      await app.services.dispose();
    }
  });
});
