import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CATALOG_SUMMARIES_CONTAINER, PRODUCTS_CONTAINER } from '../../shared/catalog/projection';
import { refreshSummaryAfterWrite, type SummaryDocument, type SummaryRecord } from '../../shared/kernel/summary';
import { testServices } from '../support/services';

describe('a summary refreshed after each write to its source', () => {
  let services: Awaited<ReturnType<typeof testServices>>;
  before(async () => {
    services = await testServices();
  });
  after(() => services.dispose());

  it('given writes that come while a refresh runs, then they share one refresh that starts after them, and each resolves only once it landed', async () => {
    let source = 0;
    let computes = 0;
    const summary: SummaryDocument<number> = {
      name: 'writesSeen',
      container: CATALOG_SUMMARIES_CONTAINER,
      id: 'test-writes-seen',
      source: PRODUCTS_CONTAINER,
      generation: 'gen:test:writes-seen',
      compute: async () => {
        computes += 1;
        const seen = source;
        await new Promise((resolve) => setTimeout(resolve, 30));
        return seen;
      },
    };
    const stored = async () => (await services.readStore.container<SummaryRecord<number>>(CATALOG_SUMMARIES_CONTAINER.name).get(summary.id))?.document.summary;

    // Given a refresh running after the first write
    const first = refreshSummaryAfterWrite(services, summary);
    // When 20 more writes land meanwhile, each followed by its refresh
    source = 21;
    const later = Array.from({ length: 20 }, () => refreshSummaryAfterWrite(services, summary).then(stored));
    // Then each of them sees all 21 writes, the first one's refresh counted before them, and two counts in all
    await first;
    assert.deepEqual(await Promise.all(later), Array.from({ length: 20 }, () => 21));
    assert.equal(computes, 2);
  });
});
