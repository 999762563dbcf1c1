// Azure Managed Redis: the shared cache and login-throttling windows. Access keys are
// disabled: the app signs in with its managed identity (Microsoft Entra ID; the client
// refreshes its token and re-authenticates), so no Redis secret exists anywhere.
param name string
param location string
param tags object
param appIdentityName string
@description('Azure Managed Redis SKU: Balanced_B0 for small environments; see the README for sizing.')
param skuName string = 'Balanced_B1'

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource cluster 'Microsoft.Cache/redisEnterprise@2025-07-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: skuName }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
  }
}

resource database 'Microsoft.Cache/redisEnterprise/databases@2025-07-01' = {
  parent: cluster
  name: 'default'
  properties: {
    clientProtocol: 'Encrypted'
    port: 10000
    // EnterpriseCluster looks like one non-clustered Redis: the app's plain client works.
    clusteringPolicy: 'EnterpriseCluster'
    evictionPolicy: 'AllKeysLRU'
    accessKeysAuthentication: 'Disabled'
  }
}

// The app's identity as a Redis user (its object id) with the default data access policy.
resource appAccess 'Microsoft.Cache/redisEnterprise/databases/accessPolicyAssignments@2025-07-01' = {
  parent: database
  name: 'app'
  properties: {
    accessPolicyName: 'default'
    user: { objectId: appIdentity.properties.principalId }
  }
}

output url string = 'rediss://${cluster.properties.hostName}:${database.properties.port}'
