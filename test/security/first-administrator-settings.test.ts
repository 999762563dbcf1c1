import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { lazyServices } from '../../shared/kernel/composition';
import type { Services } from '../../shared/kernel/services';
import { loadSettings, SettingsError } from '../../shared/kernel/settings';
import { appModules, READ_CONTAINERS } from '../../shared/platform/app';
import { bootstrap } from '../../shared/platform/bootstrap';
import { invoke } from '../support/http';

/**
 * The first administrator's settings as an operator gets them wrong: half of the pair, or
 * a password the registration rules refuse. Either must be named at start (readiness, the
 * local host's one line), never skipped in silence or reported as "the body is not valid".
 */
const EMAIL = 'root@farmacias.example';
const WEAK = 'aaaaaaaaaa';

describe('the first administrator’s settings', () => {
  for (const [given, missing] of [
    ['BOOTSTRAP_ADMIN_EMAIL', 'BOOTSTRAP_ADMIN_PASSWORD'],
    ['BOOTSTRAP_ADMIN_PASSWORD', 'BOOTSTRAP_ADMIN_EMAIL'],
  ]) {
    it(`${given} without ${missing} is refused, naming ${missing} (no administrator would be made, the e-mail not reserved)`, () => {
      const env = { [given]: given === 'BOOTSTRAP_ADMIN_EMAIL' ? EMAIL : 'first admin passphrase' };
      assert.throws(
        () => loadSettings(env),
        (error: Error) => error instanceof SettingsError && error.settings.includes(missing) && !/passphrase|root@/.test(error.message),
      );
    });
  }

  describe('a password the registration rules refuse', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'farmacias-bootstrap-'));
    const env = { DATA_DIR: dataDir, REQUEST_LOG: 'false', SEED_DEMO_DATA: 'false', BOOTSTRAP_ADMIN_EMAIL: EMAIL, BOOTSTRAP_ADMIN_PASSWORD: WEAK };
    const composed: Services[] = [];
    let closed = 0;
    const provider = lazyServices(READ_CONTAINERS, env, async (services) => {
      composed.push(services);
      const close = services.close.bind(services);
      services.close = () => ((closed += 1), close());
      await bootstrap(services);
    });
    after(() => rmSync(dataDir, { recursive: true, force: true }));

    it('fails the start as a configuration error naming BOOTSTRAP_ADMIN_PASSWORD and the rule, never the value', async () => {
      await assert.rejects(provider(), (error: Error) => {
        assert.ok(error instanceof SettingsError, `${error.name}: ${error.message}`);
        assert.deepEqual(error.settings, ['BOOTSTRAP_ADMIN_PASSWORD']);
        assert.match(error.message, /BOOTSTRAP_ADMIN_PASSWORD/);
        assert.match(error.message, /repeated character/);
        assert.doesNotMatch(error.message, new RegExp(WEAK));
        return true;
      });
      const ready = await invoke(appModules(provider).flatMap((module) => module.routes).find((route) => route.name === 'healthReady')!.handler);
      assert.equal(ready.status, 503);
      assert.deepEqual(ready.body.checks.configuration.settings, ['BOOTSTRAP_ADMIN_PASSWORD']);
      // Each request retries the start: each failed attempt's connections are closed, not piled up.
      assert.equal(composed.length, 2);
      assert.equal(closed, 2);
    });
  });
});
