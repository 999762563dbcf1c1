import type { ConnectionPool } from 'mssql';
import type { DataKeyStore } from '../../kernel/ports';
import { newDataKey, unwrapKey, wrapKey } from '../key-wrapping';
import { queryRows, transientRetry } from './connection';

/**
 * A person's data key, made if it is not there yet. One INSERT … SELECT … WHERE NOT EXISTS:
 * its range lock (UPDLOCK, HOLDLOCK) lasts as long as its statement, so two instances racing
 * for a new person's key insert one and both read it. Checked by an IF NOT EXISTS before the
 * INSERT, each statement committed on its own (no transaction is open), the lock was gone
 * before the INSERT and the second one failed on the key.
 */
export const DATA_KEY_FOR_BATCH = `INSERT INTO keys.data_keys (subject, wrapped, created_at)
  SELECT @subject, @wrapped, SYSUTCDATETIME()
  WHERE NOT EXISTS (SELECT 1 FROM keys.data_keys WITH (UPDLOCK, HOLDLOCK) WHERE subject = @subject);
SELECT wrapped FROM keys.data_keys WHERE subject = @subject;`;

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
    const [row] = await this.run<{ wrapped: string }>(DATA_KEY_FOR_BATCH, { subject, wrapped });
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
