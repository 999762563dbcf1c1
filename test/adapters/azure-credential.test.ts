import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { azureCredential, chooseCredential } from '../../shared/adapters/azure-identity/credential';
import { projectRoot } from '../../shared/kernel/project-root';

const clientId = '7f0c4c52-33c9-4b1c-9a43-2f3b7a0c9d11';
/** What App Service and Functions set on an instance with a managed identity. */
const onAzure = { IDENTITY_ENDPOINT: 'http://localhost:8081/msi/token', IDENTITY_HEADER: 'x' };

describe('the Entra ID credential every Azure adapter uses', () => {
  it('in Azure, with a user-assigned identity: ManagedIdentityCredential with its client id, no chain', () => {
    assert.deepEqual(chooseCredential(clientId, onAzure), { kind: 'managed-identity', clientId });
  });

  it('for a developer (no AZURE_CLIENT_ID): DefaultAzureCredential (az login and the rest of the chain)', () => {
    assert.deepEqual(chooseCredential(undefined, {}), { kind: 'default' });
    assert.deepEqual(chooseCredential(undefined, onAzure), { kind: 'default' }, 'a system-assigned identity is found by the chain');
  });

  it('AZURE_CLIENT_ID off Azure (a service principal, an app setting copied to a laptop) stays with DefaultAzureCredential', () => {
    assert.deepEqual(chooseCredential(clientId, { AZURE_TENANT_ID: 't', AZURE_CLIENT_SECRET: 's' }), { kind: 'default', managedIdentityClientId: clientId });
    assert.deepEqual(chooseCredential(clientId, {}), { kind: 'default', managedIdentityClientId: clientId });
  });

  it('makes the chosen class once per process, so every adapter shares one token cache', async () => {
    const managed = await azureCredential(clientId, onAzure);
    assert.ok(managed instanceof ManagedIdentityCredential);
    assert.equal(await azureCredential(clientId, onAzure), managed);
    const developer = await azureCredential(undefined, {});
    assert.ok(developer instanceof DefaultAzureCredential);
    assert.equal(await azureCredential(undefined, {}), developer);
    assert.notEqual(developer, managed);
  });

  it('loads @azure/identity only when a credential is asked for', () => {
    const module = join(projectRoot(), 'dist', 'shared', 'adapters', 'azure-identity', 'credential.js');
    const script = `const c = require(${JSON.stringify(module)});
      const before = Object.keys(require.cache).some((p) => p.includes('node_modules/@azure/identity/'));
      c.azureCredential(undefined, {}).then(() => {
        const after = Object.keys(require.cache).some((p) => p.includes('node_modules/@azure/identity/'));
        console.log(JSON.stringify({ before, after }));
      });`;
    const output = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(output), { before: false, after: true });
  });
});
