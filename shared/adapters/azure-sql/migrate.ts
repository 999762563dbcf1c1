import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionPool } from 'mssql';
import { projectRoot } from '../../kernel/project-root';

export const MIGRATIONS_DIR = join(projectRoot(), 'shared', 'adapters', 'azure-sql', 'migrations');

export interface Migration {
  version: number;
  name: string;
  /** The file's batches, split at `GO` lines as sqlcmd and SSMS split them. */
  batches: string[];
}

export function splitBatches(sql: string): string[] {
  return sql
    .split(/^\s*GO\s*;?\s*$/gim)
    .map((batch) => batch.trim())
    .filter((batch) => batch.replace(/--.*$/gm, '').trim().length > 0);
}

export function readMigrations(directory = MIGRATIONS_DIR): Migration[] {
  return readdirSync(directory)
    .map((name) => ({ name, version: Number(/^(\d+)_/.exec(name)?.[1]) }))
    .filter((file) => file.name.endsWith('.sql') && Number.isInteger(file.version))
    .sort((a, b) => a.version - b.version)
    .map((file) => ({ ...file, batches: splitBatches(readFileSync(join(directory, file.name), 'utf8')) }));
}

/**
 * Applies the migrations not yet recorded in es.schema_migrations, each in its own
 * transaction under an application lock, so two deployments racing apply each file once.
 * Answers the versions it applied (none on a second run).
 */
export async function migrate(pool: ConnectionPool, migrations = readMigrations()): Promise<number[]> {
  await pool.request().batch(
    `IF SCHEMA_ID('es') IS NULL EXEC('CREATE SCHEMA es');
     IF OBJECT_ID('es.schema_migrations') IS NULL
       CREATE TABLE es.schema_migrations (version INT NOT NULL PRIMARY KEY, name NVARCHAR(200) NOT NULL, applied_at DATETIME2(3) NOT NULL);`,
  );
  const applied: number[] = [];
  for (const migration of migrations) {
    const transaction = pool.transaction();
    await transaction.begin();
    try {
      await transaction.request().batch(
        "EXEC sp_getapplock @Resource = 'farmacias-migrations', @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 60000;",
      );
      const done = await transaction.request().input('version', migration.version).query('SELECT 1 AS done FROM es.schema_migrations WHERE version = @version');
      if (done.recordset.length === 0) {
        for (const batch of migration.batches) await transaction.request().batch(batch);
        await transaction
          .request()
          .input('version', migration.version)
          .input('name', migration.name)
          .query('INSERT INTO es.schema_migrations (version, name, applied_at) VALUES (@version, @name, SYSUTCDATETIME())');
        applied.push(migration.version);
      }
      await transaction.commit();
    } catch (error) {
      await transaction.rollback().catch(() => {});
      throw error;
    }
  }
  return applied;
}

/** A Microsoft Entra principal's display name: the Function App's name for its system-assigned identity. */
const PRINCIPAL_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,127}$/;

/**
 * Makes a Microsoft Entra identity (the Function App's) a database user in the
 * `farmacias_app` role, and nothing more. Idempotent. The name is checked and quoted by
 * QUOTENAME: identifiers cannot be bound as parameters.
 */
export async function grantAppUser(pool: ConnectionPool, principalName: string): Promise<void> {
  if (!PRINCIPAL_NAME.test(principalName)) throw new Error('the app user must be an Entra principal name (letters, digits, space . _ -)');
  await pool
    .request()
    .input('principal', principalName)
    .query(
      `IF DATABASE_PRINCIPAL_ID(@principal) IS NULL
       BEGIN
         DECLARE @create NVARCHAR(400) = N'CREATE USER ' + QUOTENAME(@principal) + N' FROM EXTERNAL PROVIDER';
         EXEC (@create);
       END;
       IF IS_ROLEMEMBER('farmacias_app', @principal) = 0
       BEGIN
         DECLARE @grant NVARCHAR(400) = N'ALTER ROLE farmacias_app ADD MEMBER ' + QUOTENAME(@principal);
         EXEC (@grant);
       END;`,
    );
}
