import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { APP_USER_BATCH, checkAppUser, clientIdSid } from '../../shared/adapters/azure-sql/migrate';
import { main } from '../../tools/db-migrate';
import { run, skipUnlessPresent, tsqlParser } from '../support/validators';

/** The statement the batch builds for these inputs (QUOTENAME + CONVERT(…, 1)), as T-SQL would. */
function createUserStatement(name: string, clientId: string): string {
  const sid = checkAppUser(name, clientId);
  return `CREATE USER [${name.replace(/]/g, ']]')}] WITH SID = 0x${sid.toString('hex').toUpperCase()}, TYPE = E`;
}

describe('the app database user, made from its client id', () => {
  it('takes the SID from the client id in uniqueidentifier byte order (.NET Guid.ToByteArray)', () => {
    assert.equal(clientIdSid('00112233-4455-6677-8899-aabbccddeeff').toString('hex').toUpperCase(), '33221100554477668899AABBCCDDEEFF');
    // Checked against .NET: Guid.Parse("7f0c4c52-…").ToByteArray().
    assert.equal(clientIdSid('7f0c4c52-33c9-4b1c-9a43-2f3b7a0c9d11').toString('hex').toUpperCase(), '524C0C7FC9331C4B9A432F3B7A0C9D11');
    assert.deepEqual(clientIdSid('{00112233-4455-6677-8899-AABBCCDDEEFF}'), clientIdSid('00112233-4455-6677-8899-aabbccddeeff'));
    assert.equal(clientIdSid('00112233-4455-6677-8899-aabbccddeeff').length, 16);
  });

  it('refuses a client id that is not a GUID, and a name that is not an Entra principal name', () => {
    for (const bad of ['', '0011223344556677-8899-aabbccddeeff', '00112233445566778899aabbccddeeff', "00112233-4455-6677-8899-aabbccddeeff'; DROP USER x--", 'not-a-guid']) {
      assert.throws(() => clientIdSid(bad), /GUID/, bad);
    }
    for (const bad of ['', 'farmacias]; DROP USER dbo; --', "o'brien", 'x'.repeat(129), ' leading-space']) {
      assert.throws(() => checkAppUser(bad, '00112233-4455-6677-8899-aabbccddeeff'), /principal name/, bad);
    }
    assert.equal(checkAppUser('farmacias-func-prod', '00112233-4455-6677-8899-aabbccddeeff').length, 16);
  });

  it('builds CREATE USER … WITH SID, TYPE = E from bound parameters only, and never asks the directory', () => {
    assert.doesNotMatch(APP_USER_BATCH, /EXTERNAL PROVIDER/i);
    assert.match(APP_USER_BATCH, /N'CREATE USER ' \+ QUOTENAME\(@principal\) \+ N' WITH SID = ' \+ CONVERT\(NVARCHAR\(34\), @sid, 1\) \+ N', TYPE = E'/);
    assert.match(APP_USER_BATCH, /IF DATABASE_PRINCIPAL_ID\(@principal\) IS NULL/, 'idempotent: an existing user is kept');
    assert.match(APP_USER_BATCH, /ALTER ROLE farmacias_app ADD MEMBER ' \+ QUOTENAME\(@principal\)/);
    // Every value arrives as @principal or @sid: nothing in the text comes from the caller.
    const variables = new Set(APP_USER_BATCH.match(/@\w+/g));
    assert.deepEqual([...variables].sort(), ['@create', '@created', '@grant', '@principal', '@sid']);
    assert.equal(
      createUserStatement('farmacias-func', '00112233-4455-6677-8899-aabbccddeeff'),
      'CREATE USER [farmacias-func] WITH SID = 0x33221100554477668899AABBCCDDEEFF, TYPE = E',
    );
  });

  it('db:migrate wants --app-user and --app-client-id together, and checks them before connecting', async () => {
    const lines: string[] = [];
    assert.equal(await main(['--app-user', 'farmacias-func'], (line) => lines.push(line)), 2);
    assert.match(lines[0], /--app-user .* --app-client-id/);
    assert.equal(await main(['--app-client-id', '00112233-4455-6677-8899-aabbccddeeff'], (line) => lines.push(line)), 2);
    await assert.rejects(main(['--app-user', 'farmacias-func', '--app-client-id', 'farmacias-func']), /GUID/);
    await assert.rejects(main(['--app-user', 'x]; DROP TABLE es.events; --', '--app-client-id', '00112233-4455-6677-8899-aabbccddeeff']), /principal name/);
  });
});

const parser = tsqlParser();
suiteNeeding('the app user batch (Microsoft ScriptDom)', skipUnlessPresent(parser, "Microsoft's T-SQL parser", 'install the .NET SDK (tools/validators restores ScriptDom from NuGet)'), () => {
  const scratch = mkdtempSync(join(tmpdir(), 'farmacias-app-user-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('parses, as sent (parameters declared as the driver binds them) and as the statement it builds', () => {
    const batch = join(scratch, 'app-user.sql');
    writeFileSync(batch, `DECLARE @principal NVARCHAR(128) = N'farmacias-func', @sid VARBINARY(16) = 0x33221100554477668899AABBCCDDEEFF;\n${APP_USER_BATCH}\n`);
    const built = join(scratch, 'create-user.sql');
    writeFileSync(built, `${createUserStatement('farmacias-func', '00112233-4455-6677-8899-aabbccddeeff')};\n`);
    const result = run(parser!.command, [...parser!.prefix, batch, built]);
    assert.equal(result.status, 0, result.output);
    assert.match(result.output, /app-user\.sql: 1 batches parsed/);
    assert.match(result.output, /create-user\.sql: 1 batches parsed/);
  });
});
