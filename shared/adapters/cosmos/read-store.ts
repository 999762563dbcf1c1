import type { Container, CosmosClient, Database } from '@azure/cosmos';
import { PreconditionFailed } from '../../kernel/errors';
import type {
  ContainerDefinition,
  QueryPage,
  QueryRecord,
  QuerySpec,
  ReadContainer,
  ReadDocument,
  ReadStore,
  VersionedDocument,
} from '../../kernel/ports';
import { partitionKeyOf } from '../../kernel/ports';

const SYSTEM_PROPERTIES = ['_rid', '_self', '_etag', '_attachments', '_ts'];

function withoutSystemProperties<D>(resource: Record<string, unknown>): D {
  const document = { ...resource };
  for (const key of SYSTEM_PROPERTIES) delete document[key];
  return document as D;
}

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
        partitionKey: { paths: [definition.partitionKeyPath] },
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
