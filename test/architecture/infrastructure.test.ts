import assert from 'node:assert/strict';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { XMLValidator } from 'fast-xml-parser';
import Joi from 'joi';
import { parse as parseYaml } from 'yaml';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { projectRoot } from '../../shared/kernel/project-root';
import { settingNames } from '../../shared/kernel/settings';
import { declaredModules, READ_CONTAINERS } from '../../shared/platform/app';
import { PACKAGED_FOLDERS } from '../../tools/package';

const root = projectRoot();
const infra = join(root, 'infra');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const modules = declaredModules();

function bicepFiles(dir = infra): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? bicepFiles(join(dir, entry.name)) : entry.name.endsWith('.bicep') ? [join(dir, entry.name)] : [],
  );
}

/** The first syntax error of a tree, with its line, or undefined. */
function firstError(node: Node): string | undefined {
  if (node.isError || node.isMissing) return `line ${node.startPosition.row + 1}: ${node.isMissing ? `missing ${node.type}` : `unexpected ${JSON.stringify(node.text.slice(0, 40))}`}`;
  for (const child of node.children) {
    if (child && child.hasError) return firstError(child);
  }
  return node.hasError ? `line ${node.startPosition.row + 1}` : undefined;
}

/** Every setting the code reads, from the joi schema of shared/kernel/settings.ts. */
const codeSettings = settingNames();
const functionApp = read('infra/modules/function-app.bicep');
const appSettingsBlock = functionApp.split('appSettings: [')[1].split('\n      ]')[0];
const bicepSettings = [...appSettingsBlock.matchAll(/\{ name: '([^']+)', value: /g)].map((m) => m[1]);

describe('infrastructure templates', () => {
  let parser: Parser;
  before(async () => {
    await Parser.init();
    parser = new Parser();
    parser.setLanguage(await Language.load(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm')));
  });

  it('parse without a syntax error (tree-sitter-bicep), every one of them', () => {
    const files = bicepFiles();
    assert.ok(files.length >= 10, `found ${files.length} .bicep files`);
    for (const file of files) {
      const tree = parser.parse(readFileSync(file, 'utf8'))!;
      const error = firstError(tree.rootNode);
      assert.equal(error, undefined, `${relative(root, file)} has a syntax error at ${error}`);
    }
  });

  it('the parse test fails on a broken template', () => {
    const tree = parser.parse("resource site 'Microsoft.Web/sites@2024-04-01' = {\n  name: \n  properties: { \n}\n")!;
    assert.ok(firstError(tree.rootNode));
  });

  it('every setting the code reads is set on the Function App, or documented as left unset in Azure', () => {
    const readme = read('infra/README.md');
    const unset = new Set([...readme.matchAll(/^\| `([A-Za-z0-9_]+)` \| unset in Azure/gm)].map((m) => m[1]));
    for (const name of codeSettings) {
      assert.ok(bicepSettings.includes(name) || unset.has(name), `${name} is neither set in function-app.bicep nor documented in infra/README.md`);
      assert.ok(!(bicepSettings.includes(name) && unset.has(name)), `${name} is both set and documented as unset`);
    }
    for (const name of unset) assert.ok(codeSettings.includes(name), `infra/README.md documents ${name}, which the code does not read`);
  });

  it('sets nothing on the Function App that neither the code nor the Functions host reads', () => {
    const hostSettings = /^(AzureWebJobsStorage__|ServiceBusConnection__(credential|clientId)$|APPLICATIONINSIGHTS_AUTHENTICATION_STRING$)/;
    for (const name of bicepSettings) assert.ok(codeSettings.includes(name) || hostSettings.test(name), `${name} is set but read by nothing`);
  });

  it('declares every Service Bus subscription the code consumes, filtered on exactly its event types', () => {
    const block = read('infra/main.bicep').split('var subscriptions = [')[1].split('\nvar containers')[0];
    const declared = [...block.matchAll(/name: '([^']+)'\s+eventTypes: \[([^\]]*)\]/g)].map((m) => ({
      name: m[1],
      eventTypes: [...m[2].matchAll(/'([^']+)'/g)].map((t) => t[1]).sort(),
    }));
    const consumed = modules.flatMap((module) => module.eventHandlers).map((handler) => ({ name: handler.subscription, eventTypes: [...handler.eventTypes].sort() }));
    assert.deepEqual(declared.sort((a, b) => a.name.localeCompare(b.name)), consumed.sort((a, b) => a.name.localeCompare(b.name)));
    assert.match(read('infra/modules/service-bus.bicep'), /param topicName string = 'domain-events'/);
  });

  it('declares every Cosmos DB container the code reads, with its partition key, composite and spatial indexes', () => {
    const block = read('infra/main.bicep').split('var containers = [')[1].split('\n]')[0];
    const bicepList = (text: string | undefined) => JSON.parse((text ?? '[]').replaceAll("'", '"')) as unknown;
    const declared = [
      ...block.matchAll(/\{ name: '([^']+)', partitionKeyPath: '([^']+)', compositeIndexes: (\[.*?\])(?:, spatialIndexes: (\[.*?\]))? \}/g),
    ].map((m) => ({ name: m[1], partitionKeyPath: m[2], compositeIndexes: bicepList(m[3]), spatialIndexes: bicepList(m[4]) }));
    assert.deepEqual(
      declared,
      READ_CONTAINERS.map(({ name, partitionKeyPath, compositeIndexes = [], spatialIndexes = [] }) => ({ name, partitionKeyPath, compositeIndexes, spatialIndexes })),
    );
  });

  it('imports into API Management the OpenAPI document of every module with routes (which the OpenAPI test matches to the routes)', () => {
    const apim = read('infra/modules/apim.bicep');
    const imported = [...apim.matchAll(/loadTextContent\('\.\.\/\.\.\/(shared\/[a-z-]+\/openapi\.yaml)'\)/g)].map((m) => m[1]);
    const documents = readdirSync(join(root, 'shared'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `shared/${entry.name}/openapi.yaml`)
      .filter((path) => { try { return read(path).length > 0; } catch { return false; } });
    assert.deepEqual(imported.sort(), documents.sort());
    assert.ok(modules.every((module) => module.routes.every((route) => route.authLevel === 'function')), 'routes sit behind the gateway key');
  });

  it('creates or seeds every Key Vault secret the app settings reference', () => {
    const referenced = [...functionApp.matchAll(/secret\(keyVaultUri, '([A-Z0-9-]+)'\)/g)].map((m) => m[1]);
    const created = [...read('infra/modules/key-vault.bicep').matchAll(/name: '([A-Z0-9-]+)'/g)].map((m) => m[1]);
    const seeded = [...read('infra/scripts/seed-secrets.sh').matchAll(/^ensure ([A-Z0-9-]+) /gm)].map((m) => m[1]);
    assert.ok(referenced.length >= 4);
    for (const name of referenced) assert.ok(created.includes(name) || seeded.includes(name), `${name} is referenced but never stored`);
  });

  it('main.parameters.json names only parameters main.bicep declares, and every one without a default', () => {
    const main = read('infra/main.bicep');
    const declared = [...main.matchAll(/^param (\w+) \w+( = .*)?$/gm)].map((m) => ({ name: m[1], hasDefault: m[2] !== undefined }));
    const given = Object.keys(JSON.parse(read('infra/main.parameters.json')).parameters);
    for (const name of given) assert.ok(declared.some((param) => param.name === name), `${name} is not a parameter of main.bicep`);
    for (const param of declared.filter((p) => !p.hasDefault)) assert.ok(given.includes(param.name), `${param.name} has no default and no value`);
  });

  it('API Management policies are well-formed XML, and every placeholder in them is filled by apim.bicep', () => {
    const apim = read('infra/modules/apim.bicep');
    const policies = readdirSync(join(infra, 'apim')).filter((name) => name.endsWith('.xml'));
    assert.equal(policies.length, 4);
    for (const name of policies) {
      const text = read(`infra/apim/${name}`);
      assert.equal(XMLValidator.validate(text), true, `${name} is not well-formed`);
      assert.ok(apim.includes(`loadTextContent('../apim/${name}')`), `${name} is not used by apim.bicep`);
      for (const [placeholder] of text.matchAll(/__[A-Z_]+__/g)) assert.ok(apim.includes(`'${placeholder}'`), `${placeholder} in ${name} is never replaced`);
    }
  });

  it('lets API Management\'s CORS allow exactly the web app\'s origins: the static site\'s host name, and its custom domain when it has one', () => {
    const main = read('infra/main.bicep');
    assert.doesNotMatch(main, /param corsOrigins/, 'no origin typed by hand, out of step with the site');
    assert.match(main.split("module apim 'modules/apim.bicep'")[1], /\n {4}corsOrigins: web\.outputs\.origins\n/);
    const site = read('infra/modules/static-web-app.bicep');
    assert.match(site, /output origins array = concat\(\['https:\/\/\$\{site\.properties\.defaultHostname\}'\], empty\(customDomain\) \? \[\] : \['https:\/\/\$\{domain\.name\}'\]\)/);
  });

  it('runs the Function App on Node 22 and the deployment workflow on the same', () => {
    assert.match(functionApp, /runtime: \{ name: 'node', version: '22' \}/);
    assert.match(read('.github/workflows/deploy.yml'), /node-version: 22/);
  });

  it('charts and alerts each API by exactly the functions the code declares for it', () => {
    const block = read('infra/main.bicep').split('var functionsByApi = {')[1].split('\n}')[0];
    const declared = Object.fromEntries([...block.matchAll(/^\s+(\w+): \[([^\]]*)\]/gm)].map((m) => [m[1], [...m[2].matchAll(/'([^']+)'/g)].map((f) => f[1])]));
    const routed = Object.fromEntries(modules.filter((module) => module.routes.length > 0).map((module) => [module.name, module.routes.map((route) => route.name)]));
    assert.deepEqual(declared, routed);
    assert.doesNotMatch(read('infra/modules/monitoring.bicep'), /split\(operation_Name/);
  });

  it("alerts on the APIs' calls only, and on a p95 of 20 calls at least (Service Bus and timer runs are requests too)", () => {
    const monitoring = read('infra/modules/monitoring.bicep');
    const query = (name: string) => new RegExp(`name: '${name}'[^}]*query: '([^\n]*)'`).exec(monitoring)![1];
    for (const name of ['5xx-rate', 'p95-latency']) assert.match(query(name), /\$\{apiOfRequest\}.*!= \\'other\\'/, name);
    assert.match(query('p95-latency'), /total >= 20 and p95 > 1000/);
  });

  it('names the Key Vault from the token alone: 3–24 characters, a letter first, no trailing or doubled hyphen', () => {
    const expression = /keyVault: '([^']+)'/.exec(read('infra/main.bicep'))![1];
    assert.doesNotMatch(expression, /environmentName/);
    const sample = expression.replace(/\$\{take\(token, (\d+)\)\}/, (_, n: string) => 'abcdefghijklm'.slice(0, Number(n)));
    assert.match(sample, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
    assert.ok(sample.length >= 3 && sample.length <= 24, sample);
  });

  it('gives Service Bus and the app one number of deliveries', () => {
    assert.match(read('infra/main.bicep'), /maxDeliveryCount: busMaxAttempts/);
    assert.match(functionApp, /\{ name: 'BUS_MAX_ATTEMPTS', value: string\(busMaxAttempts\) \}/);
  });

  it('keeps no Redis secret: Managed Redis by Entra ID only', () => {
    assert.match(read('infra/modules/redis.bicep'), /accessKeysAuthentication: 'Disabled'/);
    assert.doesNotMatch(read('infra/modules/key-vault.bicep'), /listKeys|REDIS/);
    assert.match(functionApp, /\{ name: 'REDIS_CREDENTIAL', value: 'managedidentity' \}/);
  });

  it('keeps the security counters in a Redis of their own that never evicts, Entra ID only, and gives the app its URL', () => {
    const main = read('infra/main.bicep');
    const redisModule = (symbol: string) => main.split(`\nmodule ${symbol} 'modules/redis.bicep' = {`)[1]?.split('\n}\n')[0] ?? '';
    const counters = redisModule('redisCounters');
    assert.match(counters, /\n {4}name: names\.redisCounters\n/);
    assert.match(counters, /\n {4}evictionPolicy: 'NoEviction'\n/, 'a full counters store refuses writes; it never drops counts');
    assert.match(counters, /\n {4}skuName: 'Balanced_B0'\n/);
    assert.match(counters, /\n {4}appIdentityName: names\.identity\n/);
    assert.doesNotMatch(redisModule('redis'), /evictionPolicy|alertOnMemory/, "the cache keeps the module's AllKeysLRU, and evicts rather than fills");
    assert.match(counters, /\n {4}alertOnMemory: true\n {4}actionGroupId: monitoring\.outputs\.actionGroupId\n/, 'operators hear of a counters store filling before logins fail closed');
    const redis = read('infra/modules/redis.bicep');
    const alert = redis.split("\nresource memoryAlert 'Microsoft.Insights/metricAlerts@")[1].split('\n}\n')[0];
    assert.match(alert, /' = if \(alertOnMemory\) \{/);
    assert.match(alert, /metricNamespace: 'Microsoft\.Cache\/redisEnterprise'\n\s+metricName: 'usedmemorypercentage'\n\s+timeAggregation: 'Maximum'\n\s+operator: 'GreaterThan'\n\s+threshold: 75\n/);
    assert.match(alert, /actions: \[\{ actionGroupId: actionGroupId \}\]/);
    assert.match(redis, /^param evictionPolicy string = 'AllKeysLRU'$/m);
    const database = redis.split("\nresource database 'Microsoft.Cache/redisEnterprise/databases@")[1].split('\n}\n')[0];
    assert.match(database, /\n {4}evictionPolicy: evictionPolicy\n/);
    assert.match(database, /\n {4}accessKeysAuthentication: 'Disabled'\n/, 'a literal: no parameter turns keys on for either store');
    assert.match(redis, /accessPolicyAssignments@[\d-]+' = \{\n {2}parent: database\n {2}name: 'app'\n {2}properties: \{\n {4}accessPolicyName: 'default'\n {4}user: \{ objectId: appIdentity\.properties\.principalId \}/);
    const app = main.split("\nmodule functionApp 'modules/function-app.bicep' = {")[1].split('\n}\n')[0];
    assert.match(app, /\n {4}redisUrl: redis\.outputs\.url\n/);
    assert.match(app, /\n {4}redisCountersUrl: redisCounters\.outputs\.url\n/);
    assert.match(functionApp, /\{ name: 'REDIS_COUNTERS_URL', value: redisCountersUrl \}/);
  });

  it('names both Redis clusters from the token: 1–60 characters, a letter first, no trailing or doubled hyphen, and not alike', () => {
    const main = read('infra/main.bicep');
    const samples = ['redis', 'redisCounters'].map((key) => {
      const expression = new RegExp(`^  ${key}: '([^']+)'$`, 'm').exec(main)![1];
      assert.doesNotMatch(expression, /environmentName/);
      return expression.replace('${token}', 'abcdefghijklm');
    });
    for (const sample of samples) {
      assert.match(sample, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
      assert.ok(sample.length <= 60, sample);
    }
    assert.notEqual(samples[0], samples[1]);
  });

  it("gives API Management a user-assigned identity of its own, granted its roles where the secret and Application Insights are made, and names it where the gateway signs in", () => {
    // The compiled template's dependencies are checked in role-assignments.test.ts; this reads the sources.
    const main = read('infra/main.bicep');
    const block = (symbol: string) => main.split(`\nmodule ${symbol} '`)[1]?.split('\n}\n')[0] ?? '';
    assert.match(block('apimIdentity'), /^modules\/identity\.bicep' = \{\n {2}scope: group\n {2}params: \{ name: names\.apimIdentity,/, 'created at the start, waiting for nothing but the group');
    assert.notEqual(/^ {2}apimIdentity: '([^']+)'$/m.exec(main)?.[1], /^ {2}identity: '([^']+)'$/m.exec(main)?.[1]);
    for (const symbol of ['keyVault', 'monitoring']) assert.match(block(symbol), /\n {4}apimIdentityName: names\.apimIdentity\n/, symbol);
    assert.match(block('apim'), /\n {4}identityId: apimIdentity\.outputs\.id\n {4}identityClientId: apimIdentity\.outputs\.clientId\n/);
    const grant = (file: string, symbol: string) => read(file).split(`\nresource ${symbol} 'Microsoft.Authorization/roleAssignments@`)[1]?.split('\n}\n')[0] ?? '';
    const readsKey = grant('infra/modules/key-vault.bicep', 'apimReadsFunctionKey');
    assert.match(readsKey, /\n {2}scope: functionKey\n/, 'on the one secret, not the vault');
    assert.match(readsKey, /principalId: apimIdentity\.properties\.principalId\n {4}principalType: 'ServicePrincipal'/);
    assert.match(grant('infra/modules/monitoring.bicep', 'apimPublishesMetrics'), /principalId: apimIdentity\.properties\.principalId\n {4}principalType: 'ServicePrincipal'/);
    const apim = read('infra/modules/apim.bicep');
    assert.doesNotMatch(apim, /roleAssignments@|SystemAssigned/, 'no role waits for the service, and the service has no identity of its own to wait on');
    assert.match(apim, /identity: \{\n {4}type: 'UserAssigned'\n {4}userAssignedIdentities: \{ '\$\{identityId\}': \{\} \}\n {2}\}/);
    assert.match(apim, /keyVault: \{ secretIdentifier: functionKeySecretUri, identityClientId: identityClientId \}/);
    assert.match(apim, /credentials: \{ connectionString: appInsightsConnectionString, identityClientId: identityClientId \}/);
  });

  it('declares no host key on the Flex app: the app accepts the next key before API Management presents it, and gets it for good after the package', () => {
    assert.doesNotMatch(functionApp, /functionKeys@/);
    const deploy = read('.github/workflows/deploy.yml');
    assert.match(deploy, /function-key\.sh prepare[\s\S]*az deployment sub create[\s\S]*functions-action[\s\S]*function-key\.sh sync/);
    assert.match(read('infra/scripts/preprovision.sh'), /function-key\.sh prepare/);
    assert.match(read('infra/scripts/postdeploy.sh'), /function-key\.sh sync/);
    assert.match(read('infra/scripts/postdeploy.sh'), /web-smoke\.sh "\$WEB_URL" "\$APIM_GATEWAY_URL" \.package-web/);
    assert.match(read('.github/workflows/deploy.yml'), /infra\/scripts\/web-smoke\.sh "\$SITE" "\$GATEWAY" \.package-web/);
    assert.doesNotMatch(read('infra/main.bicep'), /param apimFunctionKey string = /, 'no key made up inside the template, out of step with the app');
  });
});

// azd's azure.yaml schema (schemas/v1.0/azure.yaml.json in Azure/azure-dev), for the keys
// this project uses; any other key is refused, so a typo fails here rather than in azd.
const hook = Joi.object({ shell: Joi.string().valid('sh', 'pwsh'), run: Joi.string().required(), interactive: Joi.boolean(), continueOnError: Joi.boolean() });
const azureYaml = Joi.object({
  name: Joi.string().pattern(/^[a-zA-Z0-9-]+$/).required(),
  requiredVersions: Joi.object({ azd: Joi.string().pattern(/^[<>=~^ 0-9.]+$/) }),
  infra: Joi.object({ provider: Joi.string().valid('bicep', 'terraform'), path: Joi.string(), module: Joi.string() }),
  services: Joi.object().pattern(Joi.string(), Joi.object({
    project: Joi.string().required(),
    language: Joi.string().valid('dotnet', 'csharp', 'fsharp', 'py', 'python', 'js', 'ts', 'java', 'docker'),
    host: Joi.string().valid('appservice', 'containerapp', 'function', 'staticwebapp', 'aks', 'springapp', 'ai.endpoint').required(),
    dist: Joi.string(),
    remoteBuild: Joi.boolean(),
    hooks: Joi.object().pattern(Joi.string().valid('prerestore', 'postrestore', 'prebuild', 'postbuild', 'prepackage', 'postpackage', 'predeploy', 'postdeploy'), hook),
  })),
  hooks: Joi.object().pattern(Joi.string().valid('preprovision', 'postprovision', 'predeploy', 'postdeploy', 'prepackage', 'postpackage', 'preup', 'postup', 'predown', 'postdown'), hook),
});

describe('deployment with azd and GitHub Actions', () => {
  const azd = parseYaml(read('azure.yaml')) as { services: Record<string, { dist: string; hooks: Record<string, { run: string }> }>; hooks: Record<string, { run: string }>; infra: { path: string; module: string } };

  it('azure.yaml follows azd\'s schema, and the schema refuses a misspelt key', () => {
    assert.equal(azureYaml.validate(azd).error, undefined, azureYaml.validate(azd).error?.message);
    assert.ok(azureYaml.validate({ ...azd, hooks: { postprovison: { run: 'x' } } }).error);
    assert.ok(azureYaml.validate({ ...azd, services: { api: { project: '.', host: 'functions' } } }).error);
  });

  it('azure.yaml names files that exist: the template, executable hook scripts and the package folder npm run package writes', () => {
    read(`${azd.infra.path}/${azd.infra.module}.bicep`);
    for (const { run } of Object.values(azd.hooks)) {
      const script = run.replace(/^\.\//, '');
      accessSync(join(root, script), constants.X_OK);
    }
    assert.equal(azd.services.api.dist, '.package');
    assert.equal(azd.services.api.hooks.prepackage.run, 'npm run package');
    assert.equal(azd.services.web.dist, '.package-web');
    assert.match(azd.services.web.hooks.prepackage.run, /^npm run --silent package:web -- --gateway "\$APIM_GATEWAY_URL"$/);
    assert.match(read('infra/main.bicep'), /^output APIM_GATEWAY_URL string/m, 'the web app\'s package reads the gateway from the provisioning\'s outputs');
    assert.deepEqual(PACKAGED_FOLDERS, ['dist/functions', 'dist/shared']);
  });

  it('logs in to Azure afresh before every stage of the deploy job that calls Azure', () => {
    const workflow = parseYaml(read('.github/workflows/deploy.yml')) as { jobs: { deploy: { steps: Array<{ uses?: string; run?: string; name?: string }> } } };
    const steps = workflow.jobs.deploy.steps;
    const callsAzure = (step: { uses?: string; run?: string }) => /\baz |infra\/scripts\/(seed|refresh|migrate|function-key)/.test(step.run ?? '') || /functions-action/.test(step.uses ?? '');
    let loggedIn = false;
    let stages = 0;
    for (const step of steps) {
      if (step.uses?.startsWith('azure/login')) loggedIn = true;
      else if (callsAzure(step)) {
        assert.ok(loggedIn, `"${step.name ?? step.uses}" is not the first stage after a fresh login`);
        loggedIn = false;
        stages += 1;
      }
    }
    assert.ok(stages >= 5, `${stages} stages call Azure`);
  });

  it('deploys only after ci passed on the same commit, and never shares a concurrency group with pull requests', () => {
    const deploy = parseYaml(read('.github/workflows/deploy.yml')) as { on: Record<string, { workflows?: string[] }>; concurrency: { group: string }; jobs: { deploy: { if: string; steps: Array<{ with?: { ref?: string } }> } } };
    assert.deepEqual(deploy.on.workflow_run.workflows, ['ci']);
    assert.match(deploy.jobs.deploy.if, /workflow_run\.conclusion == 'success'/);
    assert.match(deploy.jobs.deploy.steps[0].with?.ref ?? '', /workflow_run\.head_sha/);
    assert.ok(!('pull_request' in deploy.on));
    const ci = parseYaml(read('.github/workflows/ci.yml')) as { concurrency: { group: string }; jobs: Record<string, { steps: Array<{ with?: Record<string, string> }> }> };
    assert.notEqual(ci.concurrency.group.split('-')[0], deploy.concurrency.group.split('-')[0]);
    const whatIfLogin = ci.jobs['what-if'].steps.find((step) => step.with?.['client-id'])!;
    assert.match(whatIfLogin.with!['client-id'], /AZURE_WHATIF_CLIENT_ID/);
  });
});
