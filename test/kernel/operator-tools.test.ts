import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { projectRoot } from '../../shared/kernel/project-root';
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

  // As an operator runs them: a typo'd option is a usage error (2), never a stack or the
  // exit code a command gives its own outcomes (dlq: 1 a replay failed again).
  // Without NODE_TEST_CONTEXT: a child that inherits it reports to this test runner instead of exiting.
  const { NODE_TEST_CONTEXT: _runner, ...env } = process.env;
  const run = (tool: string, ...args: string[]) =>
    spawnSync(process.execPath, [`dist/tools/${tool}.js`, ...args], { cwd: projectRoot(), encoding: 'utf8', timeout: 30_000, env: { ...env, DATA_DIR: '/nonexistent-operator-tools' } });
  const TOOLS = ['db-migrate', 'dlq', 'new-secret', 'rebuild-projections', 'package', 'package-web'];

  for (const tool of TOOLS) {
    it(`${tool}: an unknown option exits 2 with the usage, nothing on stdout; --help exits 0 with it`, () => {
      const typo = run(tool, '--bogus');
      assert.equal(typo.status, 2, typo.stderr);
      assert.equal(typo.stdout, '');
      assert.match(typo.stderr, /Unknown option '--bogus'[^]*usage: /);
      assert.doesNotMatch(typo.stderr, /\n\s+at |ERR_PARSE_ARGS/, 'no stack');
      const help = run(tool, '--help');
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stderr, /^usage: /);
    });
  }

  it('new-secret refuses a --keep the app would refuse, and prints nothing a pipe could store in Key Vault', () => {
    for (const keep of ['{}', '"a kid"', '[{"kid":"x"}]', '[null]', '[]', '12345']) {
      assert.throws(() => newSecret('signing-keys', keep), /--keep: AUTH_SIGNING_KEYS .*nothing was made/, keep);
      const rotation = run('new-secret', 'signing-keys', '--keep', keep);
      assert.equal(rotation.status, 2, `${keep}: ${rotation.stderr}`);
      assert.equal(rotation.stdout, '', keep);
    }
  });
});
