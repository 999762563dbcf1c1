import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { InvocationContext } from '@azure/functions';
import { demoProducts } from '../../local/demo-products';
import { catalogModule } from '../../shared/catalog/module';
import { PRODUCT_CATEGORIES } from '../../shared/catalog/domain/product';
import { activeProductsByCategory, CATALOG_SUMMARIES_CONTAINER, PRODUCTS_CONTAINER, type CategoryCounts, type ProductDocument } from '../../shared/catalog/projection';
import type { ReadContainer, ReadDocument, VersionedDocument } from '../../shared/kernel/ports';
import type { Services } from '../../shared/kernel/services';
import { refreshSummary, type SummaryRecord } from '../../shared/kernel/summary';
import { testApp } from '../support/app';
import { uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

type App = Awaited<ReturnType<typeof testApp>>;

/**
 * The counts document (issue 14 item 1), found by review. The read store runs at Session
 * consistency: a point read by one instance of a document another instance wrote may be
 * served by a replica that has not caught up. The etag-conditional write makes such a
 * stale read harmless (the write is refused and the loop reads again); an early exit that
 * trusted that first read's version as a clock ("two writes landed since, so the second
 * writer counted after my source write") returned without counting a product when the read
 * was stale. The recount has no such shortcut; the periodic recount bounds what is left.
 */
describe('the counts recount after a stale first read of the summary document', () => {
  let app: App;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const summaries = () => app.services.readStore.container<SummaryRecord<CategoryCounts>>(CATALOG_SUMMARIES_CONTAINER.name);
  const products = () => app.services.readStore.container<ProductDocument>(PRODUCTS_CONTAINER.name);

  async function recountedByHand(): Promise<CategoryCounts> {
    const counts = Object.fromEntries(PRODUCT_CATEGORIES.map((category) => [category, 0])) as CategoryCounts;
    const page = await products().queryPage({ query: 'SELECT * FROM c' }, 1000);
    for (const product of page.items) if (product.status === 'active') counts[product.category] += 1;
    return counts;
  }

  /** The services with the summary container's first `get` answered from a lagging replica. */
  function firstReadStale(stale: VersionedDocument<ReadDocument>): Services {
    let served = false;
    return {
      ...app.services,
      readStore: {
        ...app.services.readStore,
        container: <D extends ReadDocument>(name: string) => {
          const real = app.services.readStore.container<ReadDocument>(name);
          if (name !== CATALOG_SUMMARIES_CONTAINER.name) return real as unknown as ReadContainer<D>;
          const bound = Object.fromEntries((['get', 'create', 'replace', 'upsert', 'delete', 'queryPage', 'count'] as const).map((method) => [method, real[method].bind(real)]));
          const get = async (id: string, partitionKey?: string) => {
            if (served) return real.get(id, partitionKey);
            served = true;
            return stale;
          };
          return { ...bound, get } as unknown as ReadContainer<D>;
        },
      },
    };
  }

  it('given two recounts that landed before a product write, when that write\'s recount first reads a stale version, then the counts still include the product', async () => {
    const registered = await invoke(app.handler('registerProduct'), {
      method: 'POST',
      body: { ...demoProducts()[0], name: `Lagged ${randomUUID().slice(0, 8)}`, gtin: uniqueGtin(), category: 'vitamins' },
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    await app.settle();
    const stale = (await summaries().get(activeProductsByCategory.id))!;

    // Instance 2: two recounts land (both count before the product below exists).
    await refreshSummary(app.services, activeProductsByCategory);
    await refreshSummary(app.services, activeProductsByCategory);

    // Instance 1: a product is written to the read model; its projector's recount follows,
    // and its first read of the summary is served by a replica that missed both writes.
    const template = (await products().get(registered.body.id as string))!.document;
    await products().create({ ...template, id: randomUUID(), category: 'baby', version: 1 });
    await refreshSummary(firstReadStale(stale as unknown as VersionedDocument<ReadDocument>), activeProductsByCategory);

    assert.deepEqual((await summaries().get(activeProductsByCategory.id))!.document.summary, await recountedByHand());
  });

  it('given counts that no event will correct, when the periodic recount runs, then they are right again and cached answers retire', async () => {
    const current = (await summaries().get(activeProductsByCategory.id))!;
    await summaries().replace({ ...current.document, summary: { ...current.document.summary, vitamins: 999 } }, current.etag);
    const timer = catalogModule(async () => app.services).timers.find((candidate) => candidate.name === 'recountActiveProductsByCategory')!;
    assert.equal(timer.schedule, '0 */10 * * * *');
    const generation = await app.services.cache.counter(activeProductsByCategory.generation);
    await timer.handler({ isPastDue: false, schedule: { adjustForDST: true }, scheduleStatus: { last: '', next: '', lastUpdated: '' } }, new InvocationContext({ functionName: timer.name, logHandler: () => {} }));
    assert.deepEqual((await summaries().get(activeProductsByCategory.id))!.document.summary, await recountedByHand());
    assert.notEqual(await app.services.cache.counter(activeProductsByCategory.generation), generation);
  });
});
