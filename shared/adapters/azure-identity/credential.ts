import type { TokenCredential } from '@azure/identity';

/**
 * Which Microsoft Entra ID credential the app signs in with, as data (tested without the SDK).
 *
 * - `managed-identity`: a user-assigned identity is configured (AZURE_CLIENT_ID) and the
 *   host serves managed identities (App Service and Functions set IDENTITY_ENDPOINT on every
 *   instance with an identity): ManagedIdentityCredential asks that endpoint straight away,
 *   without DefaultAzureCredential's probing of environment, workload identity and IMDS
 *   first (seconds off a cold start, and no misleading chain errors).
 * - `default`: anywhere else (a developer after `az login`, the deploy pipeline, an operator
 *   running `npm run dlq`): DefaultAzureCredential, with the client id still handed to its
 *   managed-identity step. AZURE_CLIENT_ID alone does not mean "on Azure": it is also the
 *   variable of a service principal (with AZURE_CLIENT_SECRET or a federated token), and an
 *   app setting copied to a laptop must not break `az login`.
 */
export type CredentialChoice = { kind: 'managed-identity'; clientId: string } | { kind: 'default'; managedIdentityClientId?: string };

export function chooseCredential(clientId: string | undefined, env: NodeJS.ProcessEnv = process.env): CredentialChoice {
  if (clientId && env.IDENTITY_ENDPOINT) return { kind: 'managed-identity', clientId };
  return clientId ? { kind: 'default', managedIdentityClientId: clientId } : { kind: 'default' };
}

const credentials = new Map<string, Promise<TokenCredential>>();

/**
 * The one credential every Azure adapter uses (SQL, Service Bus, Cosmos DB, Application
 * Insights): one instance per process, so its token cache is shared. @azure/identity is
 * loaded on the first call only; the embedded profile never loads it.
 */
export function azureCredential(clientId: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<TokenCredential> {
  const choice = chooseCredential(clientId, env);
  const key = JSON.stringify(choice);
  let credential = credentials.get(key);
  if (!credential) {
    credential = import('@azure/identity').then(({ DefaultAzureCredential, ManagedIdentityCredential }) =>
      choice.kind === 'managed-identity'
        ? new ManagedIdentityCredential({ clientId: choice.clientId })
        : new DefaultAzureCredential(choice.managedIdentityClientId ? { managedIdentityClientId: choice.managedIdentityClientId } : {}),
    );
    credentials.set(key, credential);
    credential.catch(() => credentials.delete(key));
  }
  return credential;
}
