import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CosmosClient, Items, type OperationInput, type OperationResponse } from '@azure/cosmos';
import { startLocalCosmos, type LocalCosmos } from '../../shared/adapters/cosmos/local-server';
import { CosmosReadStore } from '../../shared/adapters/cosmos/read-store';
import { PreconditionFailed } from '../../shared/kernel/errors';
import type { QueryRecord, ReadDocument, WriteOutcome } from '../../shared/kernel/ports';

interface Doc extends ReadDocument {
  name: string;
  tags: string[];
}

describe('Cosmos read store (the SDK against the local server)', () => {
  let local: LocalCosmos;
  let store: CosmosReadStore;
  const queries: QueryRecord[] = [];

  before(async () => {
    local = await startLocalCosmos();
    const client = new CosmosClient({ endpoint: local.endpoint, key: local.key, connectionPolicy: { enableEndpointDiscovery: false } });
    store = await CosmosReadStore.open(
      client,
      'test',
      [
        { name: 'docs', partitionKeyPath: '/id' },
        { name: 'by-owner', partitionKeyPath: '/owner' },
      ],
      { createContainers: true, onClose: local.stop, onQuery: (query) => queries.push(query) },
    );
  });
  after(() => store.close());

  it('creates, reads with an etag, and refuses a second create', async () => {
    const docs = store.container<Doc>('docs');
    await docs.create({ id: 'a', version: 1, name: 'A', tags: [] });
    const read = await docs.get('a');
    assert.deepEqual(read?.document, { id: 'a', version: 1, name: 'A', tags: [] }, 'no system properties');
    assert.ok(read?.etag);
    await assert.rejects(docs.create({ id: 'a', version: 1, name: 'A', tags: [] }), PreconditionFailed);
    assert.equal(await docs.get('missing'), undefined);
  });

  it('in a container partitioned by another path: reads, replaces and deletes by id and partition key, and asks a query with its partition key (the local server does not confine a query to it: the WHERE on the key does, here as in the app)', async () => {
    const owned = store.container<Doc & { owner: string }>('by-owner');
    await owned.create({ id: 'x', version: 1, name: 'X', tags: [], owner: 'ana' });
    await owned.create({ id: 'y', version: 1, name: 'Y', tags: [], owner: 'bia' });
    const read = (await owned.get('x', 'ana'))!;
    assert.equal(read.document.name, 'X');
    assert.equal(await owned.get('x', 'bia'), undefined, 'another partition holds no x');
    await owned.replace({ ...read.document, version: 2, name: 'X2' }, read.etag);
    assert.equal((await owned.get('x', 'ana'))?.document.name, 'X2');
    queries.length = 0;
    const page = await owned.queryPage({ query: 'SELECT * FROM c WHERE c.owner = @owner', parameters: [{ name: '@owner', value: 'bia' }], partitionKey: 'bia' }, 10);
    assert.deepEqual(page.items.map((doc) => doc.id), ['y']);
    await owned.queryPage({ query: 'SELECT * FROM c' }, 10);
    assert.deepEqual(queries, [{ container: 'by-owner', partitionKey: 'bia' }, { container: 'by-owner' }], 'each query told with its partition, or none');
    const y = (await owned.get('y', 'bia'))!;
    await owned.delete('y', y.etag, 'bia');
    assert.equal(await owned.get('y', 'bia'), undefined);
  });

  it('replaces only while the etag still matches', async () => {
    const docs = store.container<Doc>('docs');
    await docs.create({ id: 'b', version: 1, name: 'B', tags: [] });
    const first = (await docs.get('b'))!;
    await docs.replace({ ...first.document, version: 2 }, first.etag);
    await assert.rejects(docs.replace({ ...first.document, version: 3 }, first.etag), PreconditionFailed);
    assert.equal((await docs.get('b'))?.document.version, 2);
  });

  it('pages a query with continuations and parameters', async () => {
    const docs = store.container<Doc>('docs');
    for (let i = 0; i < 7; i++) await docs.upsert({ id: `q${i}`, version: 1, name: `Q${i}`, tags: i % 2 ? ['odd'] : [] });
    const spec = {
      query: 'SELECT * FROM c WHERE STARTSWITH(c.id, @prefix) AND ARRAY_CONTAINS(c.tags, @tag) ORDER BY c.id',
      parameters: [{ name: '@prefix', value: 'q' }, { name: '@tag', value: 'odd' }],
    };
    const first = await docs.queryPage(spec, 2);
    assert.deepEqual(first.items.map((d) => d.id), ['q1', 'q3']);
    const second = await docs.queryPage(spec, 2, first.continuation);
    assert.deepEqual(second.items.map((d) => d.id), ['q5']);
    assert.equal(second.continuation, undefined);
  });

  it('counts with SELECT VALUE COUNT(1), across partitions or confined to one, and tells each count as a query', async () => {
    const owned = store.container<Doc & { owner: string }>('by-owner');
    for (const [id, owner, name] of [['c1', 'caio', 'Contado'], ['c2', 'caio', 'Contado'], ['c3', 'dora', 'Contado'], ['c4', 'dora', 'Outro']]) {
      await owned.create({ id, version: 1, name, tags: [], owner });
    }
    queries.length = 0;
    const named = (name: string) => ({ query: 'SELECT VALUE COUNT(1) FROM c WHERE c.name = @name', parameters: [{ name: '@name', value: name }] });
    assert.equal(await owned.count(named('Contado')), 3, 'the partitions summed');
    assert.equal(await owned.count({ query: 'SELECT VALUE COUNT(1) FROM c WHERE c.owner = @owner AND c.name = @name', parameters: [...named('Contado').parameters, { name: '@owner', value: 'dora' }], partitionKey: 'dora' }), 1);
    assert.equal(await owned.count(named('Ninguém')), 0);
    assert.deepEqual(queries, [{ container: 'by-owner' }, { container: 'by-owner', partitionKey: 'dora' }, { container: 'by-owner' }]);
  });

  it('a throttled operation of a bulk request fails no other: its read is made again on its own, its write answers failed', async () => {
    const docs = store.container<Doc>('docs');
    await docs.create({ id: 'bulk-a', version: 1, name: 'A', tags: [] });
    await docs.create({ id: 'bulk-b', version: 1, name: 'B', tags: [] });
    // items.bulk answers a throttled operation with 429 among the others' statuses, and retries none of them.
    const bulk = Items.prototype.bulk;
    Items.prototype.bulk = async function (this: Items, operations: OperationInput[], ...rest: unknown[]) {
      const answered = await (bulk as (...args: unknown[]) => Promise<OperationResponse[]>).call(this, operations.slice(1), ...rest);
      return Object.assign([{ statusCode: 429, requestCharge: 0 }, ...answered], { diagnostics: (answered as { diagnostics?: unknown }).diagnostics });
    } as typeof bulk;
    let outcomes: WriteOutcome[] = [];
    try {
      const [a, b] = await docs.getMany([{ id: 'bulk-a' }, { id: 'bulk-b' }]);
      assert.deepEqual([a?.document.name, b?.document.name], ['A', 'B']);
      outcomes = await docs.writeMany([
        { document: { ...a!.document, version: 2 }, etag: a!.etag },
        { document: { ...b!.document, version: 2 }, etag: b!.etag },
      ]);
      assert.deepEqual(outcomes.map(({ status }) => status), ['failed', 'written']);
    } finally {
      Items.prototype.bulk = bulk;
    }
    assert.equal((await docs.get('bulk-a'))?.document.version, 1, 'the throttled write did not land');
    const written = await docs.get('bulk-b');
    assert.equal(written?.document.version, 2);
    assert.equal(outcomes[1].status === 'written' && outcomes[1].etag, written?.etag, 'a write answers the etag its document has now');
  });

  it('asks the bulk writes for no documents back (only their status and etag are read), and the bulk reads for theirs', async () => {
    const docs = store.container<Doc>('docs');
    const asked: { operations: string[]; contentResponseOnWriteEnabled: unknown }[] = [];
    const bulk = Items.prototype.bulk;
    Items.prototype.bulk = async function (this: Items, operations: OperationInput[], bulkOptions?: unknown, options?: { contentResponseOnWriteEnabled?: boolean }) {
      asked.push({ operations: operations.map((operation) => operation.operationType), contentResponseOnWriteEnabled: options?.contentResponseOnWriteEnabled });
      return (bulk as (...args: unknown[]) => Promise<OperationResponse[]>).call(this, operations, bulkOptions, options);
    } as typeof bulk;
    try {
      const [created] = await docs.writeMany([{ document: { id: 'minimal-a', version: 1, name: 'A', tags: [] } }]);
      assert.ok(created.status === 'written' && created.etag, 'a result carries its etag; return=minimal leaves out only the document (the local server ignores it)');
      await docs.getMany([{ id: 'minimal-a' }]);
    } finally {
      Items.prototype.bulk = bulk;
    }
    assert.deepEqual(asked, [
      { operations: ['Create'], contentResponseOnWriteEnabled: false },
      { operations: ['Read'], contentResponseOnWriteEnabled: undefined },
    ]);
  });

  it('reads more documents than one bulk request carries (100), in the order asked, unknown ids undefined and duplicates answered each', async () => {
    const docs = store.container<Doc>('docs');
    const ids = Array.from({ length: 120 }, (_, index) => `many-${index}`);
    await docs.writeMany(ids.map((id) => ({ document: { id, version: 1, name: id, tags: [] } })));
    const refs = [...ids, 'many-unknown', ...ids.slice(0, 90), ids[0]].map((id) => ({ id }));
    const read = await docs.getMany(refs);
    assert.deepEqual(
      read.map((entry) => entry?.document.name),
      refs.map(({ id }) => (id === 'many-unknown' ? undefined : id)),
    );
    assert.ok(read.every((entry) => entry === undefined || entry.etag));
  });

  it('answers a ping', async () => {
    await store.ping();
  });
});
