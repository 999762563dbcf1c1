// Applies the Azure SQL migrations to the configured database (idempotent), and with
// --app-user and --app-client-id makes the Function App's managed identity a
// least-privilege database user, created from its client id (no directory lookup).
//   npm run db:migrate [-- --app-user <identity name> --app-client-id <client id GUID>]
import { parseArgs } from 'node:util';
import { openPool } from '../shared/adapters/azure-sql/connection';
import { checkAppUser, grantAppUser, migrate } from '../shared/adapters/azure-sql/migrate';
import { loadSettings } from '../shared/kernel/settings';
import { runWhenMain } from './cli';

const USAGE = 'usage: db-migrate [--app-user <identity name> --app-client-id <client id GUID>]';

export async function main(argv: string[], print: (line: string) => void = console.log): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'app-user': { type: 'string' }, 'app-client-id': { type: 'string' } } });
  const appUser = values['app-user'];
  const appClientId = values['app-client-id'];
  // Both or neither, checked before any connection: the user is made from the client id.
  if ((appUser === undefined) !== (appClientId === undefined)) {
    print('give --app-user <identity name> and --app-client-id <client id GUID> together');
    return 2;
  }
  if (appUser !== undefined && appClientId !== undefined) checkAppUser(appUser, appClientId);
  const { azureSql } = loadSettings();
  if (!azureSql) {
    print('no database configured: set AZURE_SQL_SERVER and AZURE_SQL_DATABASE (Entra ID) or AZURE_SQL_CONNECTION_STRING');
    return 2;
  }
  const pool = await openPool(azureSql);
  try {
    const applied = await migrate(pool);
    print(applied.length ? `applied migrations ${applied.join(', ')}` : 'the database is up to date');
    if (appUser !== undefined && appClientId !== undefined) {
      const { created, sidMatches } = await grantAppUser(pool, appUser, appClientId);
      if (!sidMatches) {
        // Its SID is another identity's (a recreated identity keeps its name, not its client id).
        print(`the database user ${appUser} exists for another identity than client id ${appClientId}: drop it (DROP USER) and run again`);
        return 1;
      }
      print(`${appUser} ${created ? 'was created and ' : ''}is a member of farmacias_app`);
    }
    return 0;
  } finally {
    await pool.close();
  }
}

runWhenMain(module, (argv) => main(argv), USAGE);
