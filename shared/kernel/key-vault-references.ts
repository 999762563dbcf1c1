/**
 * An app setting App Service could not resolve from Key Vault (the secret does not exist
 * yet, or access is denied) reaches the app as the reference's own text:
 * `@Microsoft.KeyVault(SecretUri=…)` or `@Microsoft.KeyVault(VaultName=…;SecretName=…)`.
 */
const UNRESOLVED_REFERENCE = /^@Microsoft\.KeyVault\(/i;

/** The names of the settings that hold an unresolved Key Vault reference, sorted; never their values. */
export function unresolvedKeyVaultReferences(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([, value]) => typeof value === 'string' && UNRESOLVED_REFERENCE.test(value))
    .map(([name]) => name)
    .sort();
}
