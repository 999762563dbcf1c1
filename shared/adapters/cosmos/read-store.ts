import { PartitionKeyDefinitionVersion, PartitionKeyKind, type Container, type CosmosClient, type Database, type JSONObject, type OperationInput, type OperationResponse, type RequestOptions } from '@azure/cosmos';
import { PreconditionFailed } from '../../kernel/errors';
import type {
  ConditionalWrite,
  ContainerDefinition,
  DocumentRef,
  QueryPage,
  QueryRecord,
  QuerySpec,
  ReadContainer,
  ReadDocument,
  ReadStore,
  VersionedDocument,
  WriteOutcome,
} from '../../kernel/ports';
import { partitionKeyOf } from '../../kernel/ports';

const SYSTEM_PROPERTIES = ['_rid', '_self', '_etag', '_attachments', '_ts'];

function withoutSystemProperties<D>(resource: Record<string, unknown>): D {
  const document = { ...resource };
  for (const key of SYSTEM_PROPERTIES) delete document[key];
  return document as D;
}

/** What one `items.bulk` call carries at most. */
const BULK_OPERATIONS = 100;

function statusOf(error: unknown): number | undefined {
  return (error as { code?: number }).code;
}

/**
 * A container of the read model. Most are partitioned by `/id` (by-id reads are their
 * hot path); lists that a query reads by one key (offers of a product, of a pharmacy) are
 * containers of their own partitioned by that key. A document's partition key never changes.
 */
class CosmosReadContainer<D extends ReadDocument> implements ReadContainer<D> {
  constructor(
    private readonly container: Container,
    private readonly definition: ContainerDefinition,
    private readonly record?: (query: QueryRecord) => void,
  ) {}

  async get(id: string, partitionKey = id): Promise<VersionedDocument<D> | undefined> {
    const response = await this.container.item(id, partitionKey).read();
    if (response.statusCode === 404 || !response.resource) return undefined;
    return { document: withoutSystemProperties<D>(response.resource), etag: response.etag };
  }

  async getMany(refs: readonly DocumentRef[]): Promise<(VersionedDocument<D> | undefined)[]> {
    const responses = await this.bulk(refs.map(({ id, partitionKey = id }) => ({ operationType: 'Read', id, partitionKey })));
    return Promise.all(
      responses.map(async (response, index) => {
        if (response.statusCode === 404) return undefined;
        if (response.statusCode === 200 && response.resourceBody) return { document: withoutSystemProperties<D>(response.resourceBody), etag: response.eTag! };
        // Throttled (429) or failed on the server: items.bulk retries no operation, a point read
        // waits out a throttle as the client's retry policy says. One such read must not fail
        // every delivery of the round.
        return this.get(refs[index].id, refs[index].partitionKey);
      }),
    );
  }

  async writeMany(writes: readonly ConditionalWrite<D>[]): Promise<WriteOutcome[]> {
    const operations = writes.map(({ document, etag }): OperationInput => {
      const resourceBody = document as unknown as JSONObject;
      const partitionKey = partitionKeyOf(this.definition, document);
      return etag === undefined
        ? { operationType: 'Create', partitionKey, resourceBody }
        : { operationType: 'Replace', id: document.id, partitionKey, ifMatch: etag, resourceBody };
    });
    // Only each write's status and etag are read: the documents need not come back over the
    // network to be parsed (`Prefer: return=minimal`). An answer without its etag is still
    // correct: the projector then does not remember the document and reads it next time.
    const responses = await this.bulk(operations, { contentResponseOnWriteEnabled: false });
    return responses.map(({ statusCode, eTag }): WriteOutcome => {
      if (statusCode === 200 || statusCode === 201) return { status: 'written', ...(eTag ? { etag: eTag } : {}) };
      // 409: created meanwhile; 412: replaced meanwhile; 404: deleted meanwhile (a repair).
      if (statusCode === 409 || statusCode === 412 || statusCode === 404) return { status: 'changed' };
      // Throttled (429) or failed on the server, and not retried by items.bulk: thrown, it would
      // fail the round after its other writes landed, and their caches would never be retired.
      return { status: 'failed' };
    });
  }

  /**
   * `items.bulk`, in chunks of its 100 operations, answers in the order asked. Not its
   * successor `executeBulkOperations`, which holds each call for its dispatch timer (about
   * 1 s measured here, for 16 reads): a projector waits on every call.
   */
  private async bulk(operations: OperationInput[], options: RequestOptions = {}): Promise<OperationResponse[]> {
    const responses: OperationResponse[] = [];
    for (let start = 0; start < operations.length; start += BULK_OPERATIONS) {
      // A copy per call: the SDK writes the container's id into the options it is given.
      responses.push(...(await this.container.items.bulk(operations.slice(start, start + BULK_OPERATIONS), { continueOnError: true }, { ...options })));
    }
    return responses;
  }

  async create(document: D): Promise<void> {
    try {
      await this.container.items.create(document);
    } catch (error) {
      if (statusOf(error) === 409) throw new PreconditionFailed(`document ${document.id} exists`);
      throw error;
    }
  }

  async replace(document: D, etag: string): Promise<void> {
    try {
      await this.container.item(document.id, partitionKeyOf(this.definition, document)).replace(document, {
        accessCondition: { type: 'IfMatch', condition: etag },
      });
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) {
        throw new PreconditionFailed(`document ${document.id} changed`);
      }
      throw error;
    }
  }

  async upsert(document: D): Promise<void> {
    await this.container.items.upsert(document);
  }

  async delete(id: string, etag: string, partitionKey = id): Promise<void> {
    try {
      await this.container.item(id, partitionKey).delete({ accessCondition: { type: 'IfMatch', condition: etag } });
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) throw new PreconditionFailed(`document ${id} changed`);
      throw error;
    }
  }

  async queryPage(spec: QuerySpec, pageSize: number, continuation?: string): Promise<QueryPage<D>> {
    const { partitionKey, ...query } = spec;
    this.record?.({ container: this.definition.name, ...(partitionKey === undefined ? {} : { partitionKey }) });
    const page = await this.container.items
      .query<Record<string, unknown>>(query, { maxItemCount: pageSize, continuationToken: continuation, ...(partitionKey === undefined ? {} : { partitionKey }) })
      .fetchNext();
    return {
      items: page.resources.map((resource) => withoutSystemProperties<D>(resource)),
      ...(page.hasMoreResults && page.continuationToken ? { continuation: page.continuationToken } : {}),
    };
  }

  async count(spec: QuerySpec): Promise<number> {
    const { partitionKey, ...query } = spec;
    this.record?.({ container: this.definition.name, ...(partitionKey === undefined ? {} : { partitionKey }) });
    // Across partitions the SDK may hand back one partial count per partition: their sum is the count.
    const { resources } = await this.container.items.query<number>(query, partitionKey === undefined ? {} : { partitionKey }).fetchAll();
    return resources.reduce((sum, value) => sum + value, 0);
  }
}

export class CosmosReadStore implements ReadStore {
  private readonly containers = new Map<string, ReadContainer<ReadDocument>>();
  private readonly definitions: Map<string, ContainerDefinition>;

  constructor(
    private readonly client: CosmosClient,
    private readonly database: Database,
    definitions: ContainerDefinition[],
    private readonly options: { onClose?: () => Promise<void>; onQuery?: (query: QueryRecord) => void } = {},
  ) {
    this.definitions = new Map(definitions.map((definition) => [definition.name, definition]));
  }

  /**
   * Opens the database. With `createContainers` (the local server) it creates what the
   * modules declare; in Azure the Bicep owns the containers and the app only has data access.
   * `onQuery` hears of every query: its container and the partition it was confined to.
   */
  static async open(
    client: CosmosClient,
    databaseId: string,
    containers: ContainerDefinition[],
    options: { createContainers: boolean; onClose?: () => Promise<void>; onQuery?: (query: QueryRecord) => void },
  ): Promise<CosmosReadStore> {
    const { createContainers, ...hooks } = options;
    if (!createContainers) return new CosmosReadStore(client, client.database(databaseId), containers, hooks);
    const { database } = await client.databases.createIfNotExists({ id: databaseId });
    for (const definition of containers) {
      await database.containers.createIfNotExists({
        id: definition.name,
        // Hash version 2, as infra/modules/cosmos.bicep declares: the SDK hashes every bulk
        // operation's key by the container's version, and V1's hash costs it ~40 % more CPU.
        partitionKey: { paths: [definition.partitionKeyPath], kind: PartitionKeyKind.Hash, version: PartitionKeyDefinitionVersion.V2 },
      });
    }
    return new CosmosReadStore(client, database, containers, hooks);
  }

  container<D extends ReadDocument>(name: string): ReadContainer<D> {
    let container = this.containers.get(name);
    if (!container) {
      const definition = this.definitions.get(name) ?? { name, partitionKeyPath: '/id' };
      container = new CosmosReadContainer(this.database.container(name), definition, this.options.onQuery);
      this.containers.set(name, container);
    }
    return container as ReadContainer<D>;
  }

  async ping(): Promise<void> {
    await this.database.read();
  }

  async close(): Promise<void> {
    this.client.dispose();
    await this.options.onClose?.();
  }
}
