// Applies the Azure SQL migrations to the configured database (idempotent), and with
// --app-user makes the Function App's managed identity a least-privilege database user.
//   npm run db:migrate [-- --app-user <Function App name>]
import { parseArgs } from 'node:util';
import { openPool } from '../shared/adapters/azure-sql/connection';
import { grantAppUser, migrate } from '../shared/adapters/azure-sql/migrate';
import { loadSettings } from '../shared/kernel/settings';
import { runWhenMain } from './cli';

export async function main(argv: string[], print: (line: string) => void = console.log): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { 'app-user': { type: 'string' } } });
  const { azureSql } = loadSettings();
  if (!azureSql) {
    print('no database configured: set AZURE_SQL_SERVER and AZURE_SQL_DATABASE (Entra ID) or AZURE_SQL_CONNECTION_STRING');
    return 2;
  }
  const pool = await openPool(azureSql);
  try {
    const applied = await migrate(pool);
    print(applied.length ? `applied migrations ${applied.join(', ')}` : 'the database is up to date');
    if (values['app-user']) {
      await grantAppUser(pool, values['app-user']);
      print(`${values['app-user']} is a member of farmacias_app`);
    }
    return 0;
  } finally {
    await pool.close();
  }
}

runWhenMain(module, (argv) => main(argv));
