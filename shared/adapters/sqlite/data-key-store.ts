import Database from 'better-sqlite3';
import type { DataKeyStore } from '../../kernel/ports';
import { newDataKey, unwrapKey, wrapKey } from '../key-wrapping';
import { LockWaits } from './busy';
import { preparePrivateDatabaseFile } from './private-file';

/**
 * Data keys in their own SQLite file, never beside the events. Each key is wrapped with
 * the master key (AES-256-GCM). `secure_delete` zeroes a destroyed key's bytes in the
 * file, and a rollback journal (not WAL) keeps no copy of them once the delete commits.
 */
const KEY_STORE = 'the data key store';

export class SqliteDataKeyStore implements DataKeyStore {
  private readonly statements;
  /** Another process's lock is waited out once, then only a moment until a call gets it: each call would stand the process still. */
  private readonly lockWaits: LockWaits;

  constructor(
    private readonly db: Database.Database,
    private readonly masterKey: Buffer,
  ) {
    this.lockWaits = new LockWaits(db, KEY_STORE);
    db.exec('CREATE TABLE IF NOT EXISTS data_keys (subject TEXT PRIMARY KEY, wrapped TEXT NOT NULL, created_at TEXT NOT NULL)');
    this.statements = {
      find: db.prepare('SELECT wrapped FROM data_keys WHERE subject = ?').pluck(),
      insert: db.prepare('INSERT OR IGNORE INTO data_keys (subject, wrapped, created_at) VALUES (?, ?, ?)'),
      destroy: db.prepare('DELETE FROM data_keys WHERE subject = ?'),
    };
  }

  static open(file: string, masterKey: Buffer): SqliteDataKeyStore {
    preparePrivateDatabaseFile(file);
    const db = new Database(file);
    db.pragma('journal_mode = DELETE');
    db.pragma('secure_delete = ON');
    db.pragma('synchronous = FULL');
    return new SqliteDataKeyStore(db, masterKey);
  }

  async keyFor(subject: string): Promise<Buffer> {
    const wrapped = this.lockWaits.run(() => {
      this.statements.insert.run(subject, wrapKey(this.masterKey, newDataKey()), new Date().toISOString());
      return this.statements.find.get(subject) as string;
    });
    return unwrapKey(this.masterKey, wrapped);
  }

  // With a rollback journal, a read waits out another process's write lock too.
  async find(subject: string): Promise<Buffer | undefined> {
    const wrapped = this.lockWaits.run(() => this.statements.find.get(subject) as string | undefined);
    return wrapped === undefined ? undefined : unwrapKey(this.masterKey, wrapped);
  }

  async destroy(subject: string): Promise<void> {
    this.lockWaits.run(() => this.statements.destroy.run(subject));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
