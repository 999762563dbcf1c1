import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import type { ConnectionPool } from 'mssql';
import { isTransientSqlError, openPool, poolConfig, sqlConfig, transientRetry, violatedConstraint } from '../../shared/adapters/azure-sql/connection';
import { ServiceUnavailable } from '../../shared/kernel/errors';
import { AzureSqlDataKeyStore } from '../../shared/adapters/azure-sql/data-key-store';
import { APPEND_BATCH, APPEND_MANY_BATCH, AzureSqlEventStore, LOAD_STREAM_BATCH, LOAD_STREAMS_BATCH } from '../../shared/adapters/azure-sql/event-store';
import { migrate, readMigrations, splitBatches } from '../../shared/adapters/azure-sql/migrate';
import { eventStoreContract } from '../contracts/event-store.contract';

const connectionString = process.env.AZURE_SQL_CONNECTION_STRING;

describe('Azure SQL adapter, without a server', () => {
  it("compares a table variable's text columns with the store's binary-collated keys in their collation", () => {
    // A table variable's column takes the database's default collation; compared with an
    // es.* key (Latin1_General_100_BIN2) without COLLATE, the batch fails to compile (Msg 468).
    for (const [name, batch] of Object.entries({ APPEND_BATCH, LOAD_STREAM_BATCH, APPEND_MANY_BATCH, LOAD_STREAMS_BATCH })) {
      for (const [, body] of batch.matchAll(/DECLARE @\w+ TABLE \(([\s\S]*?)\);/g)) {
        for (const [, column, collate] of body.matchAll(/(\w+) NVARCHAR\(\w+\)( COLLATE \w+)?/g)) {
          if (collate) continue;
          // A comparison of two qualified columns (an UPDATE's `SET state = a.x` is an assignment).
          const compared = new RegExp(`\\w+\\.[\\w\\[\\]]+\\s*(=|<>)\\s*\\w+\\.${column}\\b(?!\\s*COLLATE)|\\b\\w+\\.${column}\\s*(=|<>)\\s*\\w+\\.`);
          assert.doesNotMatch(batch, compared, `${name}: ${column} is compared with a binary key but has the default collation`);
        }
      }
    }
  });

  it('splits a migration at GO lines, as sqlcmd does, and drops comment-only batches', () => {
    assert.deepEqual(splitBatches('CREATE TABLE a (x INT);\nGO\n-- only a comment\ngo\nCREATE TABLE b (y INT);\n  GO  \n'), [
      'CREATE TABLE a (x INT);',
      'CREATE TABLE b (y INT);',
    ]);
  });

  it('reads the migrations in version order, each with batches', () => {
    const migrations = readMigrations();
    assert.deepEqual(migrations.map((m) => m.version), [1, 2, 3, 4, 5]);
    for (const migration of migrations) assert.ok(migration.batches.length > 0, migration.name);
    // CREATE TRIGGER must open its batch: T-SQL refuses it anywhere else.
    const trigger = migrations[0].batches.find((batch) => /CREATE TRIGGER/i.test(batch));
    assert.match(trigger ?? '', /^-- Even[^\n]*\nCREATE TRIGGER|^CREATE TRIGGER/);
  });

  it('grants the app role no UPDATE or DELETE on events', () => {
    const role = readMigrations()[2].batches.join('\n');
    assert.match(role, /GRANT SELECT, INSERT ON es\.events TO farmacias_app/);
    assert.match(role, /DENY UPDATE, DELETE ON es\.events TO farmacias_app/);
    assert.doesNotMatch(role, /db_owner|db_datawriter|CONTROL/i);
  });

  it('retries the documented transient errors and nothing else', () => {
    for (const number of [40613, 40501, 49918, 10928, 1205, 4060]) assert.ok(isTransientSqlError({ number }), `error ${number}`);
    assert.ok(isTransientSqlError({ code: 'ESOCKET' }));
    assert.ok(isTransientSqlError({ code: 'EREQUEST', originalError: { number: 40197 } }));
    for (const number of [2627, 547, 208, 18456]) assert.ok(!isTransientSqlError({ number }), `error ${number}`);
    assert.ok(!isTransientSqlError(new Error('boom')));
  });

  it('answers 503 with Retry-After, never a 500 or the server’s words, when the database stays unreachable through the retries', async () => {
    const unreachable = Object.assign(new Error('Failed to connect to sql-secret.database.windows.net:1433'), { code: 'ESOCKET' });
    let attempts = 0;
    const outcome = await transientRetry(3).execute(async () => {
      attempts++;
      throw unreachable;
    }).catch((error: unknown) => error);
    assert.equal(attempts, 3);
    assert.ok(outcome instanceof ServiceUnavailable);
    assert.equal(outcome.headers?.['retry-after'], '5');
    assert.doesNotMatch(outcome.message, /sql-secret/);
    const refused = Object.assign(new Error('permission denied'), { number: 229 });
    assert.equal(await transientRetry(3).execute(async () => Promise.reject(refused)).catch((error: unknown) => error), refused, 'a lasting error stays what it is');
    let tries = 0;
    assert.equal(await transientRetry(3).execute(async () => (++tries === 1 ? Promise.reject(unreachable) : 'committed')), 'committed');
  });

  it('retries a login the server refuses with a transient error (a database failing over), which tedious reports without its number, and answers 503 once it outlasts the retries', async () => {
    const mssql = await import('mssql');
    for (const [number, transient] of [[40613, true], [18456, false]] as const) {
      const server = await loginRefusingServer(number);
      const { port } = server.address() as AddressInfo;
      const connectionString = `Server=127.0.0.1,${port};Database=farmacias;User Id=app;Password=not-a-secret;Encrypt=false;Connect Timeout=5`;
      try {
        const pool = new mssql.ConnectionPool(poolConfig(mssql, sqlConfig({ connectionString })));
        pool.on('error', () => {});
        const failure = await pool.connect().then(() => undefined, (error: unknown) => error);
        assert.equal((failure as { code?: string }).code, 'ELOGIN', `error ${number}: ${String(failure)}`);
        assert.equal(isTransientSqlError(failure), transient, `error ${number}`);
        if (transient) {
          const outcome = await transientRetry(2).execute(() => Promise.reject(failure)).catch((error: unknown) => error);
          assert.ok(outcome instanceof ServiceUnavailable, 'a 503 with Retry-After, not a 500');
        }
      } finally {
        server.close();
      }
    }
  });

  it('lends pooled connections after a socket check, not a SELECT 1 round trip, whether configured by identity or by connection string', async () => {
    const mssql = await import('mssql');
    const credential = { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }) };
    const byIdentity = sqlConfig({ server: 'farmacias.database.windows.net', database: 'farmacias' }, credential);
    const byString = sqlConfig({ connectionString: 'Server=localhost,1433;Database=farmacias;User Id=sa;Password=x;Encrypt=true;TrustServerCertificate=true' });
    for (const config of [byIdentity, byString]) {
      const pool = new mssql.ConnectionPool(poolConfig(mssql, config));
      assert.equal((pool as unknown as { config: { validateConnection?: unknown } }).config.validateConnection, 'socket');
    }
    assert.equal((poolConfig(mssql, byString) as { database?: string }).database, 'farmacias', 'the string is parsed, not replaced');
  });

  it('names the constraint a duplicate key violated', () => {
    const message = "Violation of UNIQUE KEY constraint 'uq_events_stream_version'. Cannot insert duplicate key in object 'es.events'.";
    assert.equal(violatedConstraint({ number: 2627, message }), 'uq_events_stream_version');
    assert.equal(violatedConstraint({ number: 547, message: 'a foreign key' }), undefined);
  });

  it('connects by the process’s credential (the managed identity in Azure) without any secret in the configuration', async () => {
    const credential = { getToken: async () => ({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }) };
    const settings = { server: 'farmacias.database.windows.net', database: 'farmacias', managedIdentityClientId: '7f0c4c52-33c9-4b1c-9a43-2f3b7a0c9d11' };
    const config = sqlConfig(settings, credential);
    assert.equal(typeof config, 'object');
    const { authentication, options } = config as { authentication: { type: string; options: { credential: unknown } }; options: { encrypt: boolean } };
    assert.equal(authentication.type, 'token-credential');
    assert.equal(authentication.options.credential, credential, 'the shared credential itself, not one per pooled connection');
    assert.equal(options.encrypt, true);
    assert.doesNotMatch(JSON.stringify(config), /password|secret/i);
    assert.throws(() => sqlConfig(settings), /credential/);
    // tedious (under mssql) accepts it as configured: its constructor validates the authentication without connecting.
    const { Connection } = await import('tedious');
    const { server, authentication: auth } = config as { server: string; authentication: never };
    assert.doesNotThrow(() => new Connection({ server, authentication: auth, options: { database: 'farmacias', encrypt: true } }));
  });
});

suiteNeeding('Azure SQL event store against a server', connectionString ? false : 'no SQL Server here: set AZURE_SQL_CONNECTION_STRING to run the contract against one (the GitHub workflow starts a SQL Server container for it)', () => {
  let pool: ConnectionPool;
  before(async () => {
    pool = await openPool({ connectionString: connectionString! });
    await migrate(pool);
  });
  after(async () => {
    await pool?.close();
  });

  eventStoreContract('Azure SQL', async () => new AzureSqlEventStore(pool));

  it('migrates idempotently', async () => {
    assert.deepEqual(await migrate(pool), []);
  });

  it('refuses UPDATE and DELETE of an event, even from the schema owner', async () => {
    const store = new AzureSqlEventStore(pool);
    const stream = `append-only-${Date.now()}`;
    await store.append(stream, 0, [{ eventId: crypto.randomUUID(), type: 'T', data: {}, metadata: { correlationId: 'c' } }]);
    await assert.rejects(pool.request().input('s', stream).query("UPDATE es.events SET type = 'Forged' WHERE stream_id = @s"), /append-only/);
    await assert.rejects(pool.request().input('s', stream).query('DELETE FROM es.events WHERE stream_id = @s'), /append-only/);
  });

  it('keeps data keys that two instances ask for at once as one, and forgets a destroyed one', async () => {
    const keys = new AzureSqlDataKeyStore(pool, Buffer.alloc(32, 7));
    const subject = crypto.randomUUID();
    const [a, b] = await Promise.all([keys.keyFor(subject), keys.keyFor(subject)]);
    assert.deepEqual(a, b);
    await keys.destroy(subject);
    assert.equal(await keys.find(subject), undefined);
  });
});

/**
 * A TDS endpoint that answers every login with one server error (no TLS: the client is
 * told encryption is not supported), as Azure SQL's gateway does for a database being
 * moved (40613); tedious's own login retries meet it each time.
 */
async function loginRefusingServer(errorNumber: number) {
  const packet = (type: number, payload: Buffer) => {
    const header = Buffer.alloc(8);
    header.writeUInt8(type, 0);
    header.writeUInt8(0x01, 1); // end of message
    header.writeUInt16BE(payload.length + 8, 2);
    header.writeUInt8(1, 6);
    return Buffer.concat([header, payload]);
  };
  // PRELOGIN: VERSION (6 bytes) and ENCRYPTION (1 byte: ENCRYPT_NOT_SUP), then the terminator.
  const prelogin = Buffer.from([0x00, 0x00, 0x0b, 0x00, 0x06, 0x01, 0x00, 0x11, 0x00, 0x01, 0xff, 16, 0, 0x03, 0xe8, 0, 0, 0x02]);
  const ucs2 = (text: string) => Buffer.from(text, 'ucs2');
  const message = ucs2(`Database 'farmacias' on server 'sql-test' is not currently available (${errorNumber}).`);
  const serverName = ucs2('sql-test');
  const body = Buffer.concat([
    Buffer.from(Uint32Array.of(errorNumber).buffer),
    Buffer.from([1, 20]), // state, class
    Buffer.from(Uint16Array.of(message.length / 2).buffer), message,
    Buffer.from([serverName.length / 2]), serverName,
    Buffer.from([0]), // no procedure
    Buffer.from(Uint32Array.of(1).buffer), // line number
  ]);
  const error = Buffer.concat([Buffer.from([0xaa]), Buffer.from(Uint16Array.of(body.length).buffer), body]);
  const done = Buffer.from([0xfd, 0x02, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
  const server = createServer((socket: Socket) => {
    let received = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 8 && received.length >= received.readUInt16BE(2)) {
        const type = received.readUInt8(0);
        received = received.subarray(received.readUInt16BE(2));
        if (type === 0x12) socket.write(packet(0x04, prelogin));
        else if (type === 0x10) socket.end(packet(0x04, Buffer.concat([error, done])));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}
