// Prints a fresh value for one of the platform's Key Vault secrets, for the deployment to
// store when the secret does not exist yet (and for rotations):
//   npm run --silent new-secret -- signing-keys [--keep '<current AUTH-SIGNING-KEYS JSON>']
//   npm run --silent new-secret -- data-key | password
// Writes the value to stdout only: pipe it to `az keyvault secret set --file /dev/stdin`.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { newSigningKey } from '../shared/adapters/local-secrets/secrets';
import type { SigningKey } from '../shared/kernel/ports';

export function newSecret(kind: string, keep?: string): string {
  switch (kind) {
    case 'signing-keys': {
      // A rotation: the new key signs, the newest old one still verifies tokens it signed.
      const current: SigningKey[] = keep ? JSON.parse(keep) : [];
      return JSON.stringify([newSigningKey(), ...current.slice(0, 1)]);
    }
    case 'data-key':
      return randomBytes(32).toString('base64');
    case 'password':
      return randomBytes(24).toString('base64url');
    default:
      throw new Error('usage: new-secret signing-keys [--keep <json>] | data-key | password');
  }
}

if (require.main === module) {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { keep: { type: 'string' } } });
  try {
    process.stdout.write(newSecret(positionals[0] ?? '', values.keep));
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
}
