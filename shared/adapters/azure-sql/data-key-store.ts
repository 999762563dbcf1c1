import type { ConnectionPool } from 'mssql';
import type { DataKeyStore } from '../../kernel/ports';
import { newDataKey, unwrapKey, wrapKey } from '../key-wrapping';
import { queryRows, transientRetry } from './connection';

/**
 * Data keys in Azure SQL (schema `keys`), shared by every instance: a key made on one
 * instance must open the data on all of them. Wrapped by the master key from Key Vault,
 * so a database backup alone opens nothing; destroying a key deletes its row.
 */
export class AzureSqlDataKeyStore implements DataKeyStore {
  private readonly retry = transientRetry();

  constructor(
    private readonly pool: ConnectionPool,
    private readonly masterKey: Buffer,
  ) {}

  async keyFor(subject: string): Promise<Buffer> {
    const wrapped = wrapKey(this.masterKey, newDataKey());
    // Two instances racing for a new person's key both read the one that was stored first.
    const [row] = await this.run<{ wrapped: string }>(
      `IF NOT EXISTS (SELECT 1 FROM keys.data_keys WITH (UPDLOCK, HOLDLOCK) WHERE subject = @subject)
         INSERT INTO keys.data_keys (subject, wrapped, created_at) VALUES (@subject, @wrapped, SYSUTCDATETIME());
       SELECT wrapped FROM keys.data_keys WHERE subject = @subject;`,
      { subject, wrapped },
    );
    return unwrapKey(this.masterKey, row.wrapped);
  }

  async find(subject: string): Promise<Buffer | undefined> {
    const [row] = await this.run<{ wrapped: string }>('SELECT wrapped FROM keys.data_keys WHERE subject = @subject', { subject });
    return row && unwrapKey(this.masterKey, row.wrapped);
  }

  async destroy(subject: string): Promise<void> {
    await this.run('DELETE FROM keys.data_keys WHERE subject = @subject', { subject });
  }

  /** The pool is shared with the event store, which closes it. */
  async close(): Promise<void> {}

  private run<R>(sql: string, parameters: Record<string, string>): Promise<R[]> {
    return this.retry.execute(() => queryRows<R>(this.pool, sql, parameters));
  }
}
