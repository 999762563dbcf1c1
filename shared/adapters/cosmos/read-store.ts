import type { Container, CosmosClient, Database } from '@azure/cosmos';
import { PreconditionFailed } from '../../kernel/errors';
import type {
  ContainerDefinition,
  QueryPage,
  QuerySpec,
  ReadContainer,
  ReadDocument,
  ReadStore,
  VersionedDocument,
} from '../../kernel/ports';

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
 * A container partitioned by `/id`: by-id reads are the hot path, and a document's
 * partition key must never change (a pharmacy may move to another city).
 */
class CosmosReadContainer<D extends ReadDocument> implements ReadContainer<D> {
  constructor(private readonly container: Container) {}

  async get(id: string): Promise<VersionedDocument<D> | undefined> {
    const response = await this.container.item(id, id).read();
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
      await this.container.item(document.id, document.id).replace(document, {
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

  async delete(id: string, etag: string): Promise<void> {
    try {
      await this.container.item(id, id).delete({ accessCondition: { type: 'IfMatch', condition: etag } });
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) throw new PreconditionFailed(`document ${id} changed`);
      throw error;
    }
  }

  async queryPage(spec: QuerySpec, pageSize: number, continuation?: string): Promise<QueryPage<D>> {
    const page = await this.container.items
      .query<Record<string, unknown>>(spec, { maxItemCount: pageSize, continuationToken: continuation })
      .fetchNext();
    return {
      items: page.resources.map((resource) => withoutSystemProperties<D>(resource)),
      ...(page.hasMoreResults && page.continuationToken ? { continuation: page.continuationToken } : {}),
    };
  }
}

export class CosmosReadStore implements ReadStore {
  private readonly containers = new Map<string, ReadContainer<ReadDocument>>();

  constructor(
    private readonly client: CosmosClient,
    private readonly database: Database,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {}

  /**
   * Opens the database. With `createContainers` (the local server) it creates what the
   * modules declare; in Azure the Bicep owns the containers and the app only has data access.
   */
  static async open(
    client: CosmosClient,
    databaseId: string,
    containers: ContainerDefinition[],
    options: { createContainers: boolean; onClose?: () => Promise<void> },
  ): Promise<CosmosReadStore> {
    if (!options.createContainers) return new CosmosReadStore(client, client.database(databaseId), options.onClose);
    const { database } = await client.databases.createIfNotExists({ id: databaseId });
    for (const definition of containers) {
      await database.containers.createIfNotExists({
        id: definition.name,
        partitionKey: { paths: [definition.partitionKeyPath] },
      });
    }
    return new CosmosReadStore(client, database, options.onClose);
  }

  container<D extends ReadDocument>(name: string): ReadContainer<D> {
    let container = this.containers.get(name);
    if (!container) {
      container = new CosmosReadContainer(this.database.container(name));
      this.containers.set(name, container);
    }
    return container as ReadContainer<D>;
  }

  async ping(): Promise<void> {
    await this.database.read();
  }

  async close(): Promise<void> {
    this.client.dispose();
    await this.onClose();
  }
}
