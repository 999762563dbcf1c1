import assert from 'node:assert/strict';
import { it } from 'node:test';
import { suiteNeeding } from '../support/suite';
import { bicep, run, skipUnlessPresent } from '../support/validators';

// Least privilege, read from what deploys: infra/main.bicep compiled by the real Bicep
// compiler, every role assignment of every module listed as who gets which built-in role
// on which kind of resource. A broader role or scope (API Management reading the whole
// vault, the app managing Service Bus) changes the list and fails here.

/** The built-in roles the templates grant, by definition id. */
const ROLE_NAMES: Record<string, string> = {
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': 'Storage Queue Data Contributor',
  '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3': 'Storage Table Data Contributor',
  '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39': 'Azure Service Bus Data Sender',
  '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0': 'Azure Service Bus Data Receiver',
};

interface ArmResource {
  type: string;
  scope?: string;
  copy?: unknown;
  dependsOn?: string[];
  identity?: { type: string; userAssignedIdentities?: Record<string, unknown> };
  properties?: Record<string, unknown> & { template?: ArmTemplate; parameters?: Record<string, { value?: unknown }>; principalId?: string; principalType?: string; roleDefinitionId?: string };
}
interface ArmTemplate {
  parameters?: Record<string, { defaultValue?: unknown }>;
  variables?: Record<string, unknown>;
  resources: ArmResource[] | Record<string, ArmResource>;
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** The role definition ids an assignment (or a copy loop of them) grants. */
function roleIds(template: ArmTemplate, expression: string): string[] {
  const literal = GUID.exec(expression);
  if (literal) return [literal[0]];
  const looped = /items\(variables\('(\w+)'\)\)\[copyIndex\(\)\]\.value/.exec(expression);
  if (looped) return Object.values(template.variables![looped[1]] as Record<string, string>);
  const named = /variables\('(\w+)'\)/.exec(expression);
  assert.ok(named, `a role definition the test cannot read: ${expression}`);
  return [template.variables![named[1]] as string];
}

/** The identities main.bicep creates, by the name it gives them (its `names` variable). */
const IDENTITIES: Record<string, string> = {
  "[variables('names').identity]": 'app',
  "[variables('names').apimIdentity]": 'apim',
};

/**
 * Whose principal an assignment names: the app's user-assigned identity, API Management's,
 * or the deployer; a user-assigned identity is told by the name main.bicep passes for it.
 * API Management's system-assigned identity is named apart: nothing should be granted to it.
 */
function principalOf(expression: string, passed: Record<string, { value?: unknown }> = {}): string {
  const identity = /userAssignedIdentities', parameters\('(\w+)'\)/.exec(expression)?.[1];
  if (identity) {
    const name = passed[identity]?.value;
    const who = IDENTITIES[String(name)];
    assert.ok(who, `a user-assigned identity the test cannot tell: ${identity} = ${String(name)}`);
    return who;
  }
  if (/Microsoft\.ApiManagement\/service/.test(expression)) return 'apim system-assigned';
  if (/parameters\('deployerPrincipalId'\)/.test(expression)) return 'deployer';
  throw new Error(`a principal the test cannot tell: ${expression}`);
}

interface Grant {
  /** The symbolic name of the module in main.bicep that makes the assignment. */
  module: string;
  principal: string;
  role: string;
  scopeType: string;
  resource: ArmResource;
}

/** Every role assignment in the compiled modules, one per role it grants. */
function grants(main: ArmTemplate): Grant[] {
  const found: Grant[] = [];
  for (const [symbol, module] of Object.entries(main.resources)) {
    const template = module.properties?.template;
    if (!template) continue;
    for (const resource of Object.values(template.resources)) {
      if (resource.type !== 'Microsoft.Authorization/roleAssignments') continue;
      const scopeType = /resourceId\('([^']+)'/.exec(resource.scope ?? '')?.[1] ?? 'resource group';
      assert.ok(resource.properties?.principalType, 'principalType set: the assignment does not wait for the new principal to replicate');
      for (const id of roleIds(template, resource.properties!.roleDefinitionId!)) {
        const principal = principalOf(resource.properties!.principalId!, module.properties!.parameters);
        found.push({ module: symbol, principal, role: ROLE_NAMES[id] ?? id, scopeType, resource });
      }
    }
  }
  return found;
}

/** "principal: role on resource type" for every role assignment in the compiled modules. */
function roleAssignments(main: ArmTemplate): string[] {
  return grants(main).map((grant) => `${grant.principal}: ${grant.role} on ${grant.scopeType}`).sort();
}

/**
 * "module: eviction policy, access keys, principal: access policy" for every Azure Managed
 * Redis database in the compiled modules (Redis's data access is its own assignments, not
 * Azure roles), a parameter read from what main.bicep passes, else its default.
 */
function redisStores(main: ArmTemplate): string[] {
  const found: string[] = [];
  for (const [symbol, module] of Object.entries(main.resources)) {
    const template = module.properties?.template;
    if (!template) continue;
    const value = (expression: unknown) => {
      const parameter = /^\[parameters\('(\w+)'\)\]$/.exec(String(expression))?.[1];
      return parameter ? module.properties!.parameters?.[parameter]?.value ?? template.parameters?.[parameter]?.defaultValue : expression;
    };
    const resources = Object.values(template.resources);
    for (const database of resources.filter((resource) => resource.type === 'Microsoft.Cache/redisEnterprise/databases')) {
      const users = resources
        .filter((resource) => resource.type === 'Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments')
        .map((assignment) => {
          const { accessPolicyName, user } = assignment.properties as { accessPolicyName: string; user: { objectId: string } };
          return `${principalOf(user.objectId, module.properties!.parameters)}: ${accessPolicyName}`;
        });
      found.push(`${symbol}: ${String(value(database.properties?.evictionPolicy))}, access keys ${String(value(database.properties?.accessKeysAuthentication))}, ${users.join(', ')}`);
    }
  }
  return found.sort();
}

const compiler = bicep();
suiteNeeding('role assignments of the compiled template (Bicep compiler)', skipUnlessPresent(compiler, 'The Bicep compiler', 'put bicep on PATH, or install the .NET SDK (tools/validators restores it from NuGet)'), () => {
  let compiled: ArmTemplate | undefined;
  const compile = () => {
    if (compiled) return compiled;
    const result = run(compiler!.command, [...compiler!.prefix, 'build', 'infra/main.bicep', '--stdout']);
    assert.equal(result.status, 0, result.output);
    assert.doesNotMatch(result.output, /\) : Warning /, 'the linter (infra/bicepconfig.json) finds nothing');
    return (compiled = JSON.parse(result.output.slice(result.output.indexOf('{'))) as ArmTemplate);
  };

  it('grants each identity the narrowest built-in role on the narrowest resource it needs', () => {
    assert.deepEqual(roleAssignments(compile()), [
      // API Management's user-assigned identity reads its host key and nothing else of the
      // vault (no personal-data or signing keys); its system-assigned one has no role at all.
      'apim: Key Vault Secrets User on Microsoft.KeyVault/vaults/secrets',
      'apim: Monitoring Metrics Publisher on Microsoft.Insights/components',
      'app: Azure Service Bus Data Receiver on Microsoft.ServiceBus/namespaces/topics',
      'app: Azure Service Bus Data Sender on Microsoft.ServiceBus/namespaces/topics',
      'app: Key Vault Secrets User on Microsoft.KeyVault/vaults',
      'app: Monitoring Metrics Publisher on Microsoft.Insights/components',
      'app: Storage Blob Data Owner on Microsoft.Storage/storageAccounts',
      'app: Storage Queue Data Contributor on Microsoft.Storage/storageAccounts',
      'app: Storage Table Data Contributor on Microsoft.Storage/storageAccounts',
      'deployer: Key Vault Secrets Officer on Microsoft.KeyVault/vaults',
    ]);
  });

  it('lets only the app into each Redis, by Entra ID, and keeps the security counters where nothing evicts them', () => {
    const main = compile();
    assert.deepEqual(redisStores(main), [
      // The cache: anyone's reads fill it, so anything in it may be evicted.
      'redis: AllKeysLRU, access keys Disabled, app: default',
      // Login windows and known-client marks: full, it refuses writes (logins answer 503).
      'redisCounters: NoEviction, access keys Disabled, app: default',
    ]);
    const modules = main.resources as Record<string, ArmResource>;
    const given = modules.functionApp.properties!.parameters!;
    assert.equal(given.redisUrl.value, "[reference('redis').outputs.url.value]");
    assert.equal(given.redisCountersUrl.value, "[reference('redisCounters').outputs.url.value]");
    const site = Object.values(modules.functionApp.properties!.template!.resources).find((resource) => resource.type === 'Microsoft.Web/sites')!;
    const settings = (site.properties as { siteConfig: { appSettings: Array<{ name: string; value: string }> } }).siteConfig.appSettings;
    assert.equal(settings.find((setting) => setting.name === 'REDIS_COUNTERS_URL')?.value, "[parameters('redisCountersUrl')]");
  });

  it("has API Management read its host key and log with its own user-assigned identity, granted both roles before the service exists", () => {
    const main = compile();
    const modules = main.resources as Record<string, ArmResource>;
    const apim = modules.apim.properties!;
    const resources = Object.values(apim.template!.resources);
    const ofType = (type: string) => resources.filter((resource) => resource.type === type);
    // The identity main.bicep creates as API Management's is the one the service carries, and
    // the one whose client id the named value and the logger sign in with.
    assert.equal(modules.apimIdentity.properties!.parameters!.name.value, "[variables('names').apimIdentity]");
    assert.equal(apim.parameters!.identityId.value, "[reference('apimIdentity').outputs.id.value]");
    assert.equal(apim.parameters!.identityClientId.value, "[reference('apimIdentity').outputs.clientId.value]");
    const [service] = ofType('Microsoft.ApiManagement/service');
    assert.equal(service.identity?.type, 'UserAssigned', 'no system-assigned identity: it could only be granted roles after the service exists');
    assert.deepEqual(Object.keys(service.identity!.userAssignedIdentities!).map((key) => key.replace(/^\[format\('\{0\}', (.*)\)\]$/, '[$1]')), ["[parameters('identityId')]"]);
    const [namedValue] = ofType('Microsoft.ApiManagement/service/namedValues');
    const keyVault = namedValue.properties!.keyVault as { secretIdentifier: string; identityClientId?: string };
    assert.equal(keyVault.identityClientId, "[parameters('identityClientId')]", "the named value reads Key Vault with the user-assigned identity (without it, API Management uses a system-assigned one)");
    const [logger] = ofType('Microsoft.ApiManagement/service/loggers');
    assert.equal((logger.properties!.credentials as { identityClientId?: string }).identityClientId, "[parameters('identityClientId')]");
    assert.deepEqual(ofType('Microsoft.Authorization/roleAssignments'), [], 'API Management\'s roles are granted before its module, not in it');

    // Each of its grants sits in a module that never waits for API Management, and that
    // API Management's module waits for: granted (and propagating) while the service is created.
    const needs = (symbol: string, seen = new Set<string>()): Set<string> => {
      for (const dependency of modules[symbol].dependsOn ?? []) {
        if (!seen.has(dependency)) needs(dependency, seen.add(dependency));
      }
      return seen;
    };
    const apimGrants = grants(main).filter((grant) => grant.principal === 'apim');
    assert.deepEqual(apimGrants.map((grant) => `${grant.module}: ${grant.role}`).sort(), ['keyVault: Key Vault Secrets User', 'monitoring: Monitoring Metrics Publisher']);
    for (const grant of apimGrants) {
      assert.ok(!needs(grant.module).has('apim'), `${grant.module} waits for API Management`);
      assert.doesNotMatch(JSON.stringify(grant.resource), /Microsoft\.ApiManagement/, `${grant.role} names nothing of API Management`);
      assert.ok(needs('apim').has(grant.module), `API Management's module starts before ${grant.module} granted ${grant.role}`);
    }
    // The secret it reads is the one the Key Vault grant is scoped to.
    const [secretGrant] = apimGrants.filter((grant) => grant.role === 'Key Vault Secrets User');
    assert.match(secretGrant.resource.scope!, /^\[resourceId\('Microsoft\.KeyVault\/vaults\/secrets', parameters\('name'\), parameters\('functionKeySecretName'\)\)\]$/);
    assert.equal(apim.parameters!.functionKeySecretUri.value, "[reference('keyVault').outputs.functionKeySecretUri.value]");
  });

  it('tells a vault-wide grant from a secret-scoped one', () => {
    const grant = (scope: string): ArmTemplate => ({
      resources: {
        keyVault: {
          type: 'Microsoft.Resources/deployments',
          properties: {
            parameters: { apimIdentityName: { value: "[variables('names').apimIdentity]" } },
            template: {
              variables: { secretsUser: '4633458b-17de-408a-b874-0445c86b69e6' },
              resources: [{
                type: 'Microsoft.Authorization/roleAssignments',
                scope,
                properties: { principalId: "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', parameters('apimIdentityName')), '2024-11-30').principalId]", principalType: 'ServicePrincipal', roleDefinitionId: "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', variables('secretsUser'))]" },
              }],
            },
          },
        },
      },
    });
    assert.deepEqual(roleAssignments(grant("[resourceId('Microsoft.KeyVault/vaults', parameters('name'))]")), ['apim: Key Vault Secrets User on Microsoft.KeyVault/vaults']);
    assert.deepEqual(roleAssignments(grant("[resourceId('Microsoft.KeyVault/vaults/secrets', parameters('name'), 'X')]")), ['apim: Key Vault Secrets User on Microsoft.KeyVault/vaults/secrets']);
  });
});
