import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { DataKeyStore } from '../../kernel/ports';

/**
 * Data keys in their own SQLite file, never beside the events. Each key is wrapped with
 * the master key (AES-256-GCM). `secure_delete` zeroes a destroyed key's bytes in the
 * file, and a rollback journal (not WAL) keeps no copy of them once the delete commits.
 */
export class SqliteDataKeyStore implements DataKeyStore {
  private readonly statements;

  constructor(
    private readonly db: Database.Database,
    private readonly masterKey: Buffer,
  ) {
    db.exec('CREATE TABLE IF NOT EXISTS data_keys (subject TEXT PRIMARY KEY, wrapped TEXT NOT NULL, created_at TEXT NOT NULL)');
    this.statements = {
      find: db.prepare('SELECT wrapped FROM data_keys WHERE subject = ?').pluck(),
      insert: db.prepare('INSERT OR IGNORE INTO data_keys (subject, wrapped, created_at) VALUES (?, ?, ?)'),
      destroy: db.prepare('DELETE FROM data_keys WHERE subject = ?'),
    };
  }

  static open(file: string, masterKey: Buffer): SqliteDataKeyStore {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = DELETE');
    db.pragma('secure_delete = ON');
    db.pragma('synchronous = FULL');
    return new SqliteDataKeyStore(db, masterKey);
  }

  private wrap(key: Buffer): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    const sealed = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
  }

  private unwrap(wrapped: string): Buffer {
    const bytes = Buffer.from(wrapped, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.masterKey, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]);
  }

  async keyFor(subject: string): Promise<Buffer> {
    this.statements.insert.run(subject, this.wrap(randomBytes(32)), new Date().toISOString());
    return this.unwrap(this.statements.find.get(subject) as string);
  }

  async find(subject: string): Promise<Buffer | undefined> {
    const wrapped = this.statements.find.get(subject) as string | undefined;
    return wrapped === undefined ? undefined : this.unwrap(wrapped);
  }

  async destroy(subject: string): Promise<void> {
    this.statements.destroy.run(subject);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
