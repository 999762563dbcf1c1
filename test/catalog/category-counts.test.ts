import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { demoProducts } from '../../local/demo-products';
import { PRODUCT_CATEGORIES } from '../../shared/catalog/domain/product';
import { activeProductsByCategory, CATALOG_SUMMARIES_CONTAINER, PRODUCTS_CONTAINER, productsProjection, type CategoryCounts, type ProductDocument } from '../../shared/catalog/projection';
import { productQueries } from '../../shared/catalog/queries';
import type { InProcessEventBus } from '../../shared/adapters/inprocess/event-bus';
import { project } from '../../shared/kernel/projection';
import type { ReadContainer, ReadDocument } from '../../shared/kernel/ports';
import type { Services } from '../../shared/kernel/services';
import { refreshSummary, type SummaryRecord } from '../../shared/kernel/summary';
import { testApp } from '../support/app';
import { countingReads } from '../support/counting-reads';
import { uniqueGtin } from '../support/fixtures';
import { invoke } from '../support/http';

type App = Awaited<ReturnType<typeof testApp>>;
type Category = (typeof PRODUCT_CATEGORIES)[number];

const none = (): CategoryCounts => Object.fromEntries(PRODUCT_CATEGORIES.map((category) => [category, 0])) as CategoryCounts;
const counted = (changes: Partial<CategoryCounts>): CategoryCounts => ({ ...none(), ...changes });

/** The same services with one read container's calls wrapped (a crash, a concurrent writer). */
function withContainer(services: Services, name: string, wrap: (real: ReadContainer<ReadDocument>) => Partial<ReadContainer<ReadDocument>>): Services {
  return {
    ...services,
    readStore: {
      ...services.readStore,
      container: <D extends ReadDocument>(wanted: string) => {
        const real = services.readStore.container<ReadDocument>(wanted);
        if (wanted !== name) return real as unknown as ReadContainer<D>;
        const bound = Object.fromEntries((['get', 'create', 'replace', 'upsert', 'delete', 'queryPage', 'count'] as const).map((method) => [method, real[method].bind(real)]));
        return { ...bound, ...wrap(real) } as unknown as ReadContainer<D>;
      },
    },
  };
}

describe('active products per category: one document the products projector recounts (issue 14, item 1)', () => {
  let app: App;
  before(async () => {
    app = await testApp();
  });
  after(() => app.services.dispose());

  const summaries = () => app.services.readStore.container<SummaryRecord<CategoryCounts>>(CATALOG_SUMMARIES_CONTAINER.name);
  const stored = async () => (await summaries().get(activeProductsByCategory.id))?.document;
  const answered = async (services: Services = app.services) => {
    const response = await invoke(productQueries(async () => services).categories, { path: 'categories' });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return Object.fromEntries(response.body.items.map((item: { category: string; activeProducts: number }) => [item.category, item.activeProducts])) as CategoryCounts;
  };
  async function register(category: Category): Promise<string> {
    const response = await invoke(app.handler('registerProduct'), { method: 'POST', body: { ...demoProducts()[0], name: `Contatol ${randomUUID().slice(0, 8)}`, gtin: uniqueGtin(), category } });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    return response.body.id;
  }
  /** The counts the products container holds now, one product at a time (what the summary must equal). */
  async function recountedByHand(): Promise<CategoryCounts> {
    const counts = none();
    let continuation: string | undefined;
    do {
      const page = await app.services.readStore.container<ProductDocument>(PRODUCTS_CONTAINER.name).queryPage({ query: 'SELECT * FROM c' }, 1000, continuation);
      for (const product of page.items) if (product.status === 'active') counts[product.category] += 1;
      continuation = page.continuation;
    } while (continuation);
    return counts;
  }
  const events = (id: string) => app.services.eventStore.readStream(`product-${id}`);

  it('given an empty catalogue, when products are registered, discontinued, reinstated and moved, then the document and the answer follow each step', async () => {
    assert.equal(await stored(), undefined, 'no product event yet: no document');
    assert.deepEqual(await answered(), none());

    const [vitamin, baby] = [await register('vitamins'), await register('baby')];
    await register('vitamins');
    await app.settle();
    assert.deepEqual((await stored())?.summary, counted({ vitamins: 2, baby: 1 }));
    assert.deepEqual(await answered(), counted({ vitamins: 2, baby: 1 }));

    assert.equal((await invoke(app.handler('discontinueProduct'), { method: 'POST', params: { id: vitamin } })).status, 200);
    await app.settle();
    assert.deepEqual(await answered(), counted({ vitamins: 1, baby: 1 }), 'a discontinued product counts no more');

    assert.equal((await invoke(app.handler('reinstateProduct'), { method: 'POST', params: { id: vitamin } })).status, 200);
    await app.settle();
    assert.deepEqual(await answered(), counted({ vitamins: 2, baby: 1 }));

    const moved = await invoke(app.handler('changeProduct'), { method: 'PATCH', params: { id: baby }, body: { category: 'hygiene' } });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    await app.settle();
    assert.deepEqual(await answered(), counted({ vitamins: 2, hygiene: 1 }), 'the category it left counts it no more');
    assert.deepEqual(await answered(), await recountedByHand());
  });

  it('given a redelivered event, when it is projected again, then the counts stay as they are', async () => {
    const id = await register('first-aid');
    await app.settle();
    const before = (await stored())!;
    for (const event of await events(id)) assert.equal(await project(app.services, productsProjection, event), 'duplicate');
    const afterwards = (await stored())!;
    assert.deepEqual(afterwards.summary, before.summary);
    assert.ok(afterwards.version > before.version, 'a duplicate recounts too (what repairs a crash)');
  });

  it('given a crash after the product is written but before the recount, when the event is delivered again, then the counts are right', async () => {
    const id = await register('dermocosmetics');
    await app.settle();
    const before = (await stored())!.summary;
    const [discontinued] = await app.services.eventStore.append(`product-${id}`, 1, [
      { eventId: randomUUID(), type: 'ProductDiscontinued', data: { productId: id, discontinuedAt: new Date().toISOString() }, metadata: { correlationId: 'test' } },
    ]);
    const crashing = withContainer(app.services, CATALOG_SUMMARIES_CONTAINER.name, () => ({
      get: async () => {
        throw new Error('the process died');
      },
    }));
    await assert.rejects(project(crashing, productsProjection, discontinued), /the process died/);
    assert.equal((await app.services.readStore.container<ProductDocument>(PRODUCTS_CONTAINER.name).get(id))?.document.status, 'discontinued', 'the product was written');
    assert.deepEqual((await stored())!.summary, before, 'the counts were not');

    assert.equal(await project(app.services, productsProjection, discontinued), 'duplicate');
    assert.deepEqual((await stored())!.summary, { ...before, dermocosmetics: before.dermocosmetics - 1 });
    assert.deepEqual(await answered(), await recountedByHand());
  });

  it('given 50 products registered at once through the commands and the projector, then the counts are exact', async () => {
    const before = await recountedByHand();
    const categories = Array.from({ length: 50 }, (_, index) => PRODUCT_CATEGORIES[index % PRODUCT_CATEGORIES.length]);
    await Promise.all(categories.map((category) => register(category)));
    await app.settle();
    assert.deepEqual((app.services.bus as InProcessEventBus).deadLetters, [], 'every delivery landed, after retries at most');
    const expected = { ...before };
    for (const category of categories) expected[category] += 1;
    assert.deepEqual((await stored())!.summary, expected);
    assert.deepEqual(await answered(), expected);
  });

  it('given a concurrent recount that lands between the read and the write, when the write is refused, then it reads and counts again', async () => {
    const before = (await stored())!;
    let replaces = 0;
    const contested = withContainer(app.services, CATALOG_SUMMARIES_CONTAINER.name, (real) => ({
      replace: async (document, etag) => {
        if (replaces++ === 0) {
          // Another product lands and its projector's recount writes first: this write's etag is old now.
          await register('other');
          await app.settle();
        }
        return real.replace(document, etag);
      },
    }));
    const written = await refreshSummary(contested, activeProductsByCategory);
    assert.equal(replaces, 2, 'the first write was refused, the second landed');
    assert.deepEqual(written.summary, { ...before.summary, other: before.summary.other + 1 });
    assert.deepEqual((await stored())!.summary, written.summary);
    assert.equal((await stored())!.version, written.version);
  });

  it('answers from one point read, cached until the projector writes; without the document (before the rebuild), from one COUNT per category', async () => {
    await app.settle();
    const expected = await recountedByHand();
    const reads = countingReads(app.services);
    await answered(reads.services);
    await answered(reads.services);
    assert.deepEqual(reads.counts, { 'catalog-summaries.get': 1 }, 'one point read, then the cache');

    const current = (await summaries().get(activeProductsByCategory.id))!;
    await summaries().delete(activeProductsByCategory.id, current.etag);
    await app.services.cache.increment(activeProductsByCategory.generation);
    reads.reset();
    assert.deepEqual(await answered(reads.services), expected);
    assert.deepEqual(reads.counts, { 'catalog-summaries.get': 1, 'products.count': PRODUCT_CATEGORIES.length }, 'counted, never read product by product');
  });
});
