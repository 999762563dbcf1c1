import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { projectRoot } from '../../shared/kernel/project-root';
import { suiteNeeding } from '../support/suite';
import { skipUnlessPresent } from '../support/validators';

// The deployment scripts run against stand-ins for az, azd and npm (first on PATH), which
// log every call: what a script does when a tool answers, and when it fails or is missing.

const root = projectRoot();
const bin = mkdtempSync(join(tmpdir(), 'farmacias-deploy-tools-'));
after(() => rmSync(bin, { recursive: true, force: true }));

/** FAKE_AZ picks the subscription's state: absent (az fails), empty (no group), running (the app answers). */
const tools: Record<string, string> = {
  az: `#!/bin/sh
echo "az $*" >> "$FAKE_LOG"
case "$FAKE_AZ:$1 $2" in
  absent:*) echo "az: command not found" >&2; exit 127 ;;
  empty:"group exists") echo false ;;
  running:"group exists") echo true ;;
  running:"functionapp list") echo func-farmacias-test ;;
  running:"functionapp keys") ;;
  vault-empty:"keyvault secret")
    case "$3" in
      show) echo "(SecretNotFound) A secret with (name/id) $7 was not found in this key vault." >&2; exit 1 ;;
      show-deleted) exit 1 ;;
      set) echo "az $* <stdin: $(wc -c) bytes>" >> "$FAKE_LOG" ;;
    esac ;;
  *) echo "unexpected: az $*" >&2; exit 3 ;;
esac
`,
  // The real node, unless FAKE_NODE=fail: a generator that dies (a build missing, a crash).
  node: `#!/bin/sh
if [ "$FAKE_NODE" = fail ]; then echo "node: cannot run $*" >&2; exit 1; fi
exec "${process.execPath}" "$@"
`,
  azd: '#!/bin/sh\necho "azd $*" >> "$FAKE_LOG"\n',
  npm: '#!/bin/sh\necho "npm $*" >> "$FAKE_LOG"\n',
};
for (const [name, script] of Object.entries(tools)) {
  writeFileSync(join(bin, name), script);
  chmodSync(join(bin, name), 0o755);
}

function runScript(script: string, args: string[], azState: 'absent' | 'empty' | 'running' | 'vault-empty', env: Record<string, string> = {}) {
  const log = join(bin, `${azState}-${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(log, '');
  const result = spawnSync('bash', [join(root, 'infra/scripts', script), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_AZ: azState, FAKE_LOG: log, AZURE_ENV_NAME: 'test', ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
}

describe('the host key made before provisioning (function-key.sh prepare, preprovision.sh)', () => {
  it('stops, printing no key, when az fails: a key never installed on the running app would go to the template', () => {
    const prepared = runScript('function-key.sh', ['prepare', 'rg-farmacias-test'], 'absent');
    assert.notEqual(prepared.status, 0, prepared.stdout);
    assert.equal(prepared.stdout, '');
  });

  it('preprovision fails with it, and sets no empty key in azd\'s environment', () => {
    const hook = runScript('preprovision.sh', [], 'absent');
    assert.notEqual(hook.status, 0, hook.calls.join('\n'));
    assert.deepEqual(hook.calls.filter((call) => call.startsWith('azd ')), []);
  });

  it('on a running app, installs the key it prints as apim-next first; preprovision hands that key to azd', () => {
    const prepared = runScript('function-key.sh', ['prepare', 'rg-farmacias-test'], 'running');
    assert.equal(prepared.status, 0, prepared.stderr);
    assert.match(prepared.stdout, /^[A-Za-z0-9_-]{32}$/);
    assert.ok(prepared.calls.includes(`az functionapp keys set --resource-group rg-farmacias-test --name func-farmacias-test --key-type functionKeys --key-name apim-next --key-value ${prepared.stdout} --output none`), prepared.calls.join('\n'));

    const hook = runScript('preprovision.sh', [], 'empty');
    assert.equal(hook.status, 0, hook.stderr);
    const set = hook.calls.find((call) => call.startsWith('azd env set APIM_FUNCTION_KEY '));
    assert.match(set ?? '', /^azd env set APIM_FUNCTION_KEY [A-Za-z0-9_-]{32}$/);
  });
});

describe('the generated secrets, stored once (seed-secrets.sh)', () => {
  const stored = (calls: string[]) => calls.filter((call) => call.startsWith('az keyvault secret set ') && call.includes('<stdin:'));

  it('stores nothing when the generator fails: an empty secret would then count as present, kept for good, and stop every instance', () => {
    const seeded = runScript('seed-secrets.sh', ['kv-farmacias-test'], 'vault-empty', { FAKE_NODE: 'fail' });
    assert.notEqual(seeded.status, 0, seeded.stdout);
    assert.deepEqual(stored(seeded.calls), []);
  });

  it('stores each missing secret from its generator, through a pipe', () => {
    const seeded = runScript('seed-secrets.sh', ['kv-farmacias-test'], 'vault-empty');
    assert.equal(seeded.status, 0, seeded.stderr);
    const sets = stored(seeded.calls);
    assert.deepEqual(sets.map((call) => /--name ([A-Z-]+)/.exec(call)?.[1]), ['AUTH-SIGNING-KEYS', 'PERSONAL-DATA-MASTER-KEY', 'PERSONAL-DATA-INDEX-KEY', 'BOOTSTRAP-ADMIN-PASSWORD']);
    for (const call of sets) {
      assert.match(call, /--file \/dev\/stdin/);
      assert.ok(Number(/<stdin: (\d+) bytes>/.exec(call)?.[1]) > 20, call);
    }
  });
});

describe('the scripts an operator runs by hand (the runbook names them)', () => {
  for (const [script, usage] of [
    ['seed-secrets.sh', '<key vault name>'],
    ['refresh-key-vault-references.sh', '<resource group> <function app name>'],
    ['migrate.sh', '<resource group> <sql server fqdn> <database> <app identity name> <app identity client id>'],
    ['function-key.sh', 'prepare <group> | sync <group> <app> <vault> <apim>'],
  ]) {
    it(`${script} without its arguments prints its usage and exits 2, calling nothing`, () => {
      const run = runScript(script, [], 'running');
      assert.equal(run.status, 2, run.stderr);
      assert.ok(run.stderr.includes(`usage: ${join(root, 'infra/scripts', script)} ${usage}`), run.stderr);
      assert.deepEqual(run.calls, []);
    });
  }
});

const jq = spawnSync('jq', ['--version']).status === 0;
suiteNeeding('the two deployment paths (azd, and the deploy workflow)', skipUnlessPresent(jq, 'jq (which parameters.sh runs)', 'apt-get install jq, or scripts/services.sh'), () => {
  /** azd's name for a variable where the workflow's differs. */
  const WORKFLOW_NAME: Record<string, string> = { AZURE_ENV_NAME: 'ENVIRONMENT_NAME' };
  /** Given differently on purpose: azd deploys as the signed-in user, the workflow as its service principal. */
  const ONLY_AZD = new Set(['deployerPrincipalType']);

  it('the workflow gives main.bicep every parameter azd takes from the environment, from the same variable, which the deploy job and ci\'s what-if pass', () => {
    const azd = Object.entries(JSON.parse(readFileSync(join(root, 'infra/main.parameters.json'), 'utf8')).parameters as Record<string, { value: unknown }>).flatMap(
      ([parameter, { value }]) => {
        const variable = /^\$\{([A-Z_]+)(=.*)?\}$/.exec(String(value))?.[1];
        return variable && !ONLY_AZD.has(parameter) ? [{ parameter, variable: WORKFLOW_NAME[variable] ?? variable }] : [];
      },
    );
    assert.ok(azd.length >= 10);
    // Each a value of its own; the custom domain is checked for its form, so it gets one.
    const valueOf = (parameter: string) => (parameter === 'webCustomDomain' ? 'www.farmacias.example' : `value-of-${parameter}`);
    const env = Object.fromEntries(azd.map(({ parameter, variable }) => [variable, valueOf(parameter)]));
    const result = spawnSync('bash', [join(root, 'infra/scripts/parameters.sh')], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
    assert.equal(result.status, 0, result.stderr);
    const given = JSON.parse(result.stdout).parameters as Record<string, { value: string }>;
    for (const { parameter, variable } of azd) assert.equal(given[parameter]?.value, valueOf(parameter), `${parameter}: the workflow does not give it from ${variable}`);
    // The deploy job, and ci's what-if of the same deployment (which previews a normal deployment, never the one-off recovery of a deleted vault).
    for (const [workflow, notPassed] of [['deploy.yml', ['APIM_FUNCTION_KEY']], ['ci.yml', ['APIM_FUNCTION_KEY', 'KEY_VAULT_CREATE_MODE']]] as const) {
      const text = readFileSync(join(root, '.github/workflows', workflow), 'utf8');
      assert.ok(text.includes('infra/scripts/parameters.sh'), `${workflow} no longer runs parameters.sh`);
      for (const { variable } of azd.filter(({ variable }) => !(notPassed as readonly string[]).includes(variable))) {
        assert.match(text, new RegExp(`^\\s+${variable}: \\$\\{\\{ vars\\.${variable} \\}\\}$`, 'm'), `${workflow} does not pass ${variable}`);
      }
    }
  });
});
