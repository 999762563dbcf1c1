// Prints a fresh value for one of the platform's Key Vault secrets, for the deployment to
// store when the secret does not exist yet (and for rotations):
//   npm run --silent new-secret -- signing-keys [--keep '<current AUTH-SIGNING-KEYS JSON>']
//   npm run --silent new-secret -- data-key | password
// Writes the value to stdout only: pipe it to `az keyvault secret set --file /dev/stdin`.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { newSigningKey, signingKeysFrom } from '../shared/adapters/local-secrets/secrets';
import { runWhenMain } from './cli';

const USAGE = 'usage: new-secret signing-keys [--keep <json>] | data-key | password';

export function newSecret(kind: string, keep?: string): string {
  switch (kind) {
    case 'signing-keys': {
      // A rotation: the new key signs, the newest old one still verifies tokens it signed.
      // What is kept is checked as the app will check it: a value it refuses would stop every instance.
      const current = keep ? keptSigningKeys(keep) : [];
      return JSON.stringify([newSigningKey(), ...current.slice(0, 1)]);
    }
    case 'data-key':
      return randomBytes(32).toString('base64');
    case 'password':
      return randomBytes(24).toString('base64url');
    default:
      throw new Error(USAGE);
  }
}

function keptSigningKeys(keep: string) {
  try {
    return signingKeysFrom(keep);
  } catch (error) {
    throw new Error(`--keep: ${error instanceof Error ? error.message : String(error)}; nothing was made`);
  }
}

/** Exit 2, with nothing on stdout, when the command line is wrong: a pipe on to Key Vault then gets no value. */
export async function main(argv: string[], write: (value: string) => void = (value) => process.stdout.write(value)): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { keep: { type: 'string' } } });
  let value: string;
  try {
    value = newSecret(positionals[0] ?? '', values.keep);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  write(value);
  return 0;
}

runWhenMain(module, (argv) => main(argv), USAGE);
