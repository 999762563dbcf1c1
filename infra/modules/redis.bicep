// Azure Managed Redis, deployed twice by main.bicep: the shared cache of reads
// (AllKeysLRU), and the security counters (login-throttling windows and known-client
// marks, NoEviction). Access keys are disabled: the app signs in with its managed
// identity (Microsoft Entra ID; the client refreshes its token and re-authenticates),
// so no Redis secret exists anywhere.
param name string
param location string
param tags object
param appIdentityName string
@description('Azure Managed Redis SKU: Balanced_B0 for small environments; see the README for sizing.')
param skuName string = 'Balanced_B1'
// AllKeysLRU suits a cache: anything may go, the next read rebuilds it. A store whose
// keys must not vanish under memory pressure (the security counters) takes NoEviction:
// when full it refuses writes rather than dropping keys.
@allowed(['AllKeysLRU', 'AllKeysLFU', 'AllKeysRandom', 'VolatileLRU', 'VolatileLFU', 'VolatileTTL', 'VolatileRandom', 'NoEviction'])
@description('What Redis does when its memory is full: evict keys (a cache) or refuse writes (NoEviction, a store).')
param evictionPolicy string = 'AllKeysLRU'
@description('Whether to alert when used memory passes 75%: for a store that refuses writes when full (NoEviction), not for a cache, which evicts.')
param alertOnMemory bool = false
@description('The action group the memory alert tells.')
param actionGroupId string = ''

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
    evictionPolicy: evictionPolicy
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

// Azure Managed Redis reports under the Microsoft.Cache/redisEnterprise namespace. The
// maximum over 15 minutes: a store that fills refuses every write at 100%.
resource memoryAlert 'Microsoft.Insights/metricAlerts@2026-01-01' = if (alertOnMemory) {
  name: 'alert-memory-${name}'
  location: 'global'
  tags: tags
  properties: {
    description: 'Redis ${name} used more than 75% of its memory: when full it refuses writes (scale up its SKU)'
    severity: 2
    enabled: true
    scopes: [cluster.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'used-memory'
          metricNamespace: 'Microsoft.Cache/redisEnterprise'
          metricName: 'usedmemorypercentage'
          timeAggregation: 'Maximum'
          operator: 'GreaterThan'
          threshold: 75
        }
      ]
    }
    actions: [{ actionGroupId: actionGroupId }]
  }
}

output url string = 'rediss://${cluster.properties.hostName}:${database.properties.port}'
