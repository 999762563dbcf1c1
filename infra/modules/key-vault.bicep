// Key Vault with RBAC: the app's identity reads secrets (Key Vault references in its app
// settings); API Management's identity reads its host key's secret and no other; the
// deployer writes the generated ones (infra/scripts/seed-secrets.sh). Secret values never
// pass through the templates, except the API Management host key below.
param name string
param location string
param tags object
param appIdentityName string
@description('API Management\'s user-assigned identity: reads the host key\'s secret only.')
param apimIdentityName string
param deployerPrincipalId string
@allowed(['User', 'ServicePrincipal'])
param deployerPrincipalType string
param logAnalyticsWorkspaceId string
@allowed(['default', 'recover'])
@description('recover: bring back this soft-deleted vault (purge protection keeps its name taken for 90 days after a delete).')
param createMode string
@secure()
@description('The host key API Management presents to the Function App.')
param apimFunctionKey string
@description('The secret that holds it (API Management\'s role is scoped to this secret).')
param functionKeySecretName string

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource apimIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: apimIdentityName
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    createMode: createMode
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource functionKey 'Microsoft.KeyVault/vaults/secrets@2026-05-15' = {
  parent: vault
  name: functionKeySecretName
  properties: { value: apimFunctionKey }
}

var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var secretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource appReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, appIdentity.id, secretsUser)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// API Management's, granted here, as soon as the secret exists: the API Management service
// takes minutes to create, so the assignment has propagated by the time its `function-key`
// named value first reads the secret (granted after the service, it had not, and the first
// deployment failed with Forbidden). On the one secret, not the vault: the vault also holds
// the personal-data keys and the token signing keys, which the gateway has no use for.
resource apimReadsFunctionKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: functionKey
  name: guid(functionKey.id, apimIdentity.id, secretsUser)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
    principalId: apimIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource deployerWritesSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  scope: vault
  name: guid(vault.id, deployerPrincipalId, secretsOfficer)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsOfficer)
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

#disable-next-line use-recent-api-versions // the newest version with categoryGroup; the only GA one (2016-09-01) lacks it
resource auditLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: vault
  name: 'audit-to-log-analytics'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [{ categoryGroup: 'audit', enabled: true }]
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
output functionKeySecretUri string = functionKey.properties.secretUri
