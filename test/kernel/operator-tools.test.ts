import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { main as rebuild } from '../../tools/rebuild-projections';
import { newSecret } from '../../tools/new-secret';
import { settingsSecrets } from '../../shared/adapters/local-secrets/secrets';
import { pharmacyBody } from '../support/fixtures';
import { invoke } from '../support/http';
import { testApp } from '../support/app';

describe('operator tools', () => {
  it('rebuild-projections replays every event of the configured store into the read models', async () => {
    const app = await testApp();
    const dataDir = app.services.settings.dataDir;
    await invoke(app.handler('registerPharmacy'), { method: 'POST', body: pharmacyBody() });
    await app.services.close();
    const lines: string[] = [];
    const env = { DATA_DIR: dataDir, REQUEST_LOG: 'false' };
    assert.equal(await rebuild(['--only', 'pharmacies'], env, (line) => lines.push(line)), 0);
    assert.match(lines[0], /^rebuilt pharmacies from \d+ event\(s\)$/);
    assert.equal(await rebuild(['--only', 'nothing'], env, (line) => lines.push(line)), 2);
    await app.services.dispose().catch(() => {});
  });

  it('new-secret makes values the app accepts, and a rotation keeps the current key second', () => {
    const first = newSecret('signing-keys');
    const rotated = newSecret('signing-keys', first);
    const secrets = settingsSecrets(rotated, newSecret('data-key'), newSecret('data-key'));
    assert.equal(secrets.signingKeys.length, 2);
    assert.equal(secrets.signingKeys[1].kid, JSON.parse(first)[0].kid);
    assert.notEqual(secrets.signingKeys[0].kid, secrets.signingKeys[1].kid);
    assert.equal(Buffer.from(newSecret('data-key'), 'base64').length, 32);
    assert.ok(newSecret('password').length >= 30);
    assert.throws(() => newSecret('other'), /usage/);
  });
});
