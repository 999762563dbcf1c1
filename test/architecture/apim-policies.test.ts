import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { projectRoot } from '../../shared/kernel/project-root';
import type { HttpRequest } from '@azure/functions';
import { InvalidInput } from '../../shared/kernel/errors';
import { expectNoQuery } from '../../shared/kernel/http';
import { servedMethods } from '../../shared/kernel/routes';
import { declaredModules } from '../../shared/platform/app';
import { corsPolicy } from '../support/gateway-stand-in';

// API Management refuses to save a policy that its tier does not offer, and the whole
// deployment fails with it. Which gateways offer each policy, from the policy reference
// (learn.microsoft.com/azure/api-management/api-management-policies, "Gateways" of each
// policy): a policy the table does not know fails the test until someone looks it up.

type Gateway = 'classic' | 'v2' | 'consumption';
const ALL: Gateway[] = ['classic', 'v2', 'consumption'];

/** Policy → the gateways that run it, and the scopes it may stand at (undefined: any). */
const POLICIES: Record<string, { gateways: Gateway[]; scopes?: string[] }> = {
  base: { gateways: ALL },
  choose: { gateways: ALL },
  cors: { gateways: ALL },
  'check-header': { gateways: ALL },
  'forward-request': { gateways: ALL },
  'ip-filter': { gateways: ALL },
  quota: { gateways: ALL, scopes: ['product'] },
  'quota-by-key': { gateways: ['classic'] },
  'rate-limit': { gateways: ALL },
  'rate-limit-by-key': { gateways: ['classic', 'v2'] },
  'return-response': { gateways: ALL },
  'set-backend-service': { gateways: ALL },
  'set-body': { gateways: ALL },
  'set-header': { gateways: ALL },
  'set-query-parameter': { gateways: ALL },
  'set-status': { gateways: ALL },
  'set-variable': { gateways: ALL },
  'validate-jwt': { gateways: ALL },
};

const TIER_GATEWAY: Record<string, Gateway> = {
  Developer: 'classic',
  Basic: 'classic',
  Standard: 'classic',
  Premium: 'classic',
  BasicV2: 'v2',
  StandardV2: 'v2',
  PremiumV2: 'v2',
  Consumption: 'consumption',
};

/** The scope each policy file is deployed at, by file name. */
const SCOPE_OF_FILE: Record<string, string> = { 'global.xml': 'global', 'api.xml': 'api', 'product-public.xml': 'product', 'product-partners.xml': 'product' };

const root = projectRoot();
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const SECTIONS = new Set(['inbound', 'backend', 'outbound', 'on-error']);

type Ordered = Record<string, Ordered[]> & { ':@'?: Record<string, string> };
const parser = new XMLParser({ preserveOrder: true, ignoreAttributes: true, commentPropName: '#comment' });

/** Every policy statement in a policy document: the children of its sections and of choose's branches. */
function policyStatements(xml: string): string[] {
  const found: string[] = [];
  const visit = (nodes: Ordered[], inStatements: boolean) => {
    for (const node of nodes) {
      const name = Object.keys(node).find((key) => key !== ':@' && key !== '#comment' && key !== '#text');
      if (!name) continue;
      if (inStatements) found.push(name);
      const childrenAreStatements = SECTIONS.has(name) || (name === 'when' || name === 'otherwise');
      if (name === 'policies' || childrenAreStatements || name === 'choose') visit(node[name], childrenAreStatements);
    }
  };
  visit(parser.parse(xml) as Ordered[], false);
  return found;
}

/** The tiers a template accepts, from the @allowed list of its SKU parameter. */
function allowedTiers(template: string, parameter: string): string[] {
  const match = new RegExp(`@allowed\\(\\[([^\\]]+)\\]\\)\\s*(?:@description\\([^\\n]*\\)\\s*)?param ${parameter} string`).exec(read(template));
  assert.ok(match, `${template} declares no @allowed list for ${parameter}`);
  return [...match[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
}

/** What a policy file uses that a tier or its scope refuses. */
function refusals(xml: string, scope: string, tiers: string[]): string[] {
  const problems: string[] = [];
  for (const statement of policyStatements(xml)) {
    const known = POLICIES[statement];
    if (!known) {
      problems.push(`${statement}: not in the table of policies (look up its gateways and add it)`);
      continue;
    }
    for (const tier of tiers) {
      const gateway = TIER_GATEWAY[tier];
      if (!gateway) problems.push(`${tier}: unknown tier`);
      else if (!known.gateways.includes(gateway)) problems.push(`${statement}: not offered on ${tier} (${gateway} gateway)`);
    }
    if (known.scopes && !known.scopes.includes(scope)) problems.push(`${statement}: not allowed at ${scope} scope`);
  }
  return problems;
}

describe('API Management policies against the tiers they deploy to', () => {
  const tiers = allowedTiers('infra/main.bicep', 'apimSku');

  it('the module accepts exactly the tiers main.bicep offers', () => {
    assert.deepEqual(allowedTiers('infra/modules/apim.bicep', 'sku'), tiers);
    assert.ok(tiers.length > 0);
  });

  it('every policy in every file is offered by every allowed tier, at its scope', () => {
    const files = readdirSync(join(root, 'infra/apim')).filter((name) => name.endsWith('.xml'));
    assert.deepEqual(files.sort(), Object.keys(SCOPE_OF_FILE).sort());
    for (const file of files) {
      const statements = policyStatements(read(`infra/apim/${file}`));
      assert.ok(statements.length > 0, `${file} has no policy statement`);
      assert.deepEqual(refusals(read(`infra/apim/${file}`), SCOPE_OF_FILE[file], tiers), [], file);
    }
  });

  it('catches quota-by-key on a v2 tier, a quota outside a product and an unknown policy', () => {
    const broken = '<policies><inbound><base /><choose><when condition="@(true)"><quota-by-key calls="1" renewal-period="60" counter-key="x" /></when></choose><quota calls="1" renewal-period="60" /><send-one-way-request /></inbound><backend><base /></backend><outbound /><on-error /></policies>';
    const problems = refusals(broken, 'api', ['BasicV2']);
    assert.ok(problems.some((p) => /^quota-by-key: not offered on BasicV2/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /^quota: not allowed at api scope/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /^send-one-way-request: not in the table/.test(p)), problems.join('\n'));
  });
});

describe('CORS for the web and PWA channels', () => {
  it('allows every method a route of the APIs answers, and every request header the web app sends', () => {
    const { methods: allowed, headers } = corsPolicy();
    const routes = declaredModules().flatMap((module) => module.routes);
    const used = [...new Set(routes.flatMap((route) => servedMethods(route)))].filter((method) => method !== 'OPTIONS');
    assert.deepEqual(used.filter((method) => !allowed.includes(method)), [], 'a browser preflight would refuse these');
    for (const header of ['authorization', 'content-type', 'if-match', 'idempotency-key', 'x-min-version']) assert.ok(headers.includes(header), header);
  });
});

describe('commands through the public product (pharmacy staff in the web portal)', () => {
  const policy = (name: string) => readFileSync(join(projectRoot(), 'infra', 'apim', name), 'utf8').replaceAll('&quot;', '"').replaceAll('&amp;', '&');

  it('api.xml checks the token of every command, but for the identity operations that take none', () => {
    // The public product admits a command on claims it reads unchecked; this check is what stops a forged token.
    const match = /<when condition="@\(!new \[\] \{ ([^}]+) \}(.*?)\)">\s*<validate-jwt /s.exec(policy('api.xml'));
    assert.ok(match, 'api.xml has the validate-jwt branch this test reads');
    const open = [...match[1].matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(open, ['/auth/register', '/auth/token', '/auth/revoke', '/auth/jwks', '/auth/.well-known/openid-configuration', '/health', '/health/ready']);
    assert.equal(
      match[2],
      '.Contains(context.Operation.UrlTemplate) && (context.Request.Method != "GET" || context.Request.Headers.ContainsKey("Authorization") || context.Operation.UrlTemplate.StartsWith("/auth/"))',
    );
  });

  it('product-public.xml admits a command only on a person\'s token with the pharmacist or admin role', () => {
    const xml = policy('product-public.xml');
    assert.match(xml, /if \(token == null \|\| token\.Claims\.ContainsKey\("client_id"\)\) \{ return false; \}/);
    assert.match(xml, /return roles\.Contains\("pharmacist"\) \|\| roles\.Contains\("admin"\);/);
    assert.match(xml, /context\.Api\.Path\.Trim\('\/'\) != "identity" && !\(bool\)context\.Variables\["portalStaff"\]\)">\s*<return-response>/);
  });
});

describe('a partner\'s subscription key stays at the gateway', () => {
  const apim = read('infra/modules/apim.bicep');
  const names = /subscriptionKeyParameterNames: \{ header: '([^']+)', query: '([^']+)' \}/.exec(apim);

  it('api.xml removes it, under every name API Management accepts it, before the backend (which refuses an unknown query parameter)', () => {
    assert.ok(names, 'apim.bicep names the subscription key\'s header and query parameter');
    const [, header, query] = names;
    // Why: the routes without query parameters refuse any, this one too.
    assert.throws(() => expectNoQuery({ url: `https://farmacias.example/api/health?${query}=partner-key` } as unknown as HttpRequest), InvalidInput);
    const inbound = read('infra/apim/api.xml').split('<inbound>')[1].split('</inbound>')[0];
    assert.match(inbound, new RegExp(`<set-header name="${header}" exists-action="delete" />`));
    assert.match(inbound, new RegExp(`<set-query-parameter name="${query}" exists-action="delete" />`));
  });

  it('the gateway\'s own telemetry hides the query parameter', () => {
    const frontendRequest = apim.split('frontend: {')[1].split('response:')[0];
    assert.match(frontendRequest, new RegExp(`dataMasking: \\{ queryParams: \\[\\{ value: '${names![2]}', mode: 'Hide' \\}\\] \\}`));
  });
});

describe('named values the policies use', () => {
  const apim = read('infra/modules/apim.bicep');
  const declared = [...apim.matchAll(/resource \w+ 'Microsoft\.ApiManagement\/service\/namedValues@[\d-]+' = \{\n([\s\S]*?)\n\}\n/g)].map((m) => m[1]);
  const nameOf = (body: string) => /\n {2}name: '([^']+)'/.exec(body)?.[1];

  it('each {{name}} in a policy is a named value apim.bicep declares, which the APIs\' policies wait for', () => {
    const files = readdirSync(join(projectRoot(), 'infra/apim')).filter((name) => name.endsWith('.xml'));
    const used = new Set(files.flatMap((file) => [...read(`infra/apim/${file}`).matchAll(/\{\{([\w-]+)\}\}/g)].map((m) => m[1])));
    assert.deepEqual([...used], ['function-key']);
    for (const name of used) assert.ok(declared.some((body) => nameOf(body) === name), `{{${name}}} is not declared`);
    assert.match(apim.split("resource apiPolicies '")[1].split('\n]\n')[0], /dependsOn: \[functionKey, backend\]/);
  });

  it('a named value held in Key Vault is read with API Management\'s user-assigned identity, whose role was granted before the service existed', () => {
    const inVault = declared.filter((body) => /keyVault:/.test(body));
    assert.deepEqual(inVault.map(nameOf), ['function-key']);
    for (const body of inVault) {
      // Without identityClientId API Management reads the secret with a system-assigned
      // identity: one granted its role only after the service exists, still propagating.
      assert.match(body, /keyVault: \{ secretIdentifier: \w+, identityClientId: identityClientId \}/);
      assert.doesNotMatch(body, /dependsOn/, 'no role assignment in this module to wait for');
    }
    assert.match(apim, /^param identityClientId string$/m);
  });
});
