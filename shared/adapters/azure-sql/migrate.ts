import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Joi from 'joi';
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
const CLIENT_ID = Joi.string().guid({ separator: '-' }).required();

/**
 * The security identifier Azure SQL gives a Microsoft Entra application (a managed identity):
 * its client id as a uniqueidentifier's bytes, the same as T-SQL's
 * `CAST(CAST(@clientId AS uniqueidentifier) AS varbinary(16))` (.NET Guid.ToByteArray order:
 * the first three groups little-endian, the last two as written).
 */
export function clientIdSid(clientId: string): Buffer {
  const { value, error } = CLIENT_ID.validate(clientId);
  if (error) throw new Error('the app client id must be a GUID (the managed identity\'s client id)');
  const bytes = Buffer.from((value as string).replace(/[^0-9a-f]/gi, ''), 'hex');
  return Buffer.concat([bytes.subarray(0, 4).reverse(), bytes.subarray(4, 6).reverse(), bytes.subarray(6, 8).reverse(), bytes.subarray(8)]);
}

/** Checks the app user's name and client id (before any connection), and answers its SID. */
export function checkAppUser(principalName: string, clientId: string): Buffer {
  if (!PRINCIPAL_NAME.test(principalName)) throw new Error('the app user must be an Entra principal name (letters, digits, space . _ -)');
  return clientIdSid(clientId);
}

/**
 * The batch that makes the app user, with `@principal` (a checked name) and `@sid` (the
 * client id's bytes) bound as parameters. Identifiers and a CREATE USER's SID cannot be bound,
 * so the statement is built inside T-SQL from the parameters alone: the name through
 * QUOTENAME, the SID through CONVERT(…, 1) (0x-prefixed hex). `TYPE = E` with the SID needs no
 * directory lookup, so the SQL server's identity needs no Directory Readers role. A user
 * that exists already is only made a member of the role. Answers one row: whether the user
 * was made now, and whether the user of that name has this SID.
 */
export const APP_USER_BATCH = `DECLARE @created BIT = 0;
IF DATABASE_PRINCIPAL_ID(@principal) IS NULL
BEGIN
  DECLARE @create NVARCHAR(400) = N'CREATE USER ' + QUOTENAME(@principal) + N' WITH SID = ' + CONVERT(NVARCHAR(34), @sid, 1) + N', TYPE = E';
  EXEC (@create);
  SET @created = 1;
END;
IF IS_ROLEMEMBER('farmacias_app', @principal) = 0
BEGIN
  DECLARE @grant NVARCHAR(400) = N'ALTER ROLE farmacias_app ADD MEMBER ' + QUOTENAME(@principal);
  EXEC (@grant);
END;
SELECT @created AS created, CAST(CASE WHEN sid = @sid THEN 1 ELSE 0 END AS BIT) AS sidMatches
FROM sys.database_principals WHERE name = @principal;`;

export interface AppUserGrant {
  /** Made by this run (else it existed, and was only made a member of the role). */
  created: boolean;
  /** The user of that name has this client id's SID: false when it belongs to another identity. */
  sidMatches: boolean;
}

/**
 * Makes a Microsoft Entra identity (the Function App's) a database user in the
 * `farmacias_app` role, and nothing more, from its client id (no directory lookup).
 * Idempotent. Both inputs are checked before anything reaches the server.
 */
export async function grantAppUser(pool: ConnectionPool, principalName: string, clientId: string): Promise<AppUserGrant> {
  const sid = checkAppUser(principalName, clientId);
  const { recordset } = await pool.request().input('principal', principalName).input('sid', sid).query<AppUserGrant>(APP_USER_BATCH);
  const row = recordset?.[0];
  if (!row) throw new Error(`the database user ${principalName} could not be made`);
  return { created: Boolean(row.created), sidMatches: Boolean(row.sidMatches) };
}
