import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { projectRoot } from '../../shared/kernel/project-root';
import { appModules } from '../../shared/platform/app';

/** Each module's OpenAPI document, as API Management imports it. */
const DOCUMENTS: Record<string, string> = {
  pharmacies: 'shared/pharmacies/openapi.yaml',
  platform: 'shared/platform/openapi.yaml',
  catalog: 'shared/catalog/openapi.yaml',
  offers: 'shared/offers/openapi.yaml',
  identity: 'shared/identity/openapi.yaml',
};

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

describe('OpenAPI documents', () => {
  const modules = appModules(async () => {
    throw new Error('no services needed to list routes');
  });

  it('exist for every module with routes', () => {
    assert.deepEqual(modules.filter((m) => m.routes.length).map((m) => m.name).sort(), Object.keys(DOCUMENTS).sort());
  });

  for (const module of modules) {
    it(`${module.name}: is valid OpenAPI and matches the declared routes operation for operation`, async () => {
      const document = await SwaggerParser.validate(join(projectRoot(), DOCUMENTS[module.name]));
      assert.match((document as { openapi?: string }).openapi ?? '', /^3\.0\./, 'API Management imports OpenAPI 3.0');
      const documented = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
        METHODS.filter((method) => (item as Record<string, unknown>)[method]).map((method) => {
          const operation = (item as Record<string, { operationId?: string }>)[method];
          return `${method.toUpperCase()} ${path} ${operation.operationId}`;
        }),
      );
      const declared = module.routes.flatMap((route) => route.methods.map((method) => `${method} /${route.route} ${route.name}`));
      assert.deepEqual(documented.sort(), declared.sort());
    });
  }
});

describe('OpenAPI security', () => {
  it('names bearer security on exactly the routes that demand a token', async () => {
    const { appModules: modules } = await import('../../shared/platform/app');
    const declared = modules(async () => {
      throw new Error('no services needed');
    }).flatMap((m) => m.routes);
    const secured = new Set<string>();
    for (const file of Object.values(DOCUMENTS)) {
      const document = (await SwaggerParser.parse(join(projectRoot(), file))) as unknown as { paths: Record<string, Record<string, { operationId: string; security?: unknown[] }>> };
      for (const item of Object.values(document.paths)) {
        for (const operation of Object.values(item)) if (operation.security?.length) secured.add(operation.operationId);
      }
    }
    const open = ['registerUser', 'issueToken', 'revokeToken', 'signingKeys', 'openIdConfiguration', 'health', 'healthReady'];
    const expected = declared.filter((r) => (r.methods.some((m) => m !== 'GET') || r.name.endsWith('History') || r.name.startsWith('currentUser') || r.name === 'myData') && !open.includes(r.name)).map((r) => r.name);
    assert.deepEqual([...secured].sort(), expected.sort());
  });
});
