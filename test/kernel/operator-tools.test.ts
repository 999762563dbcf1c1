import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newSecret } from '../../tools/new-secret';
import { settingsSecrets } from '../../shared/adapters/local-secrets/secrets';

describe('operator tools', () => {
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
