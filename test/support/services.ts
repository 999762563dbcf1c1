import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compose } from '../../shared/kernel/composition';
import type { Services } from '../../shared/kernel/services';
import { loadSettings } from '../../shared/kernel/settings';
import { READ_CONTAINERS } from '../../shared/platform/app';

/** The embedded profile in a temporary folder: real SQLite, bus, Cosmos server and cache. */
export async function testServices(env: Record<string, string> = {}): Promise<Services & { dispose(): Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-test-'));
  const services = await compose(
    // scrypt at N=2^14 keeps the suites fast; test/security/password-hashing checks the default cost of 2^17.
    // Suites register many accounts from one (unknown) address; test/security/registration-cost checks the limit.
    loadSettings({ DATA_DIR: dataDir, BUS_RETRY_BASE_MS: '5', REQUEST_LOG: 'false', SEED_DEMO_DATA: 'false', PASSWORD_SCRYPT_LOG2_N: '14', REGISTRATIONS_PER_ADDRESS_PER_HOUR: '100000', ...env }),
    READ_CONTAINERS,
  );
  return {
    ...services,
    async dispose() {
      await services.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
