// Cosmos DB for NoSQL: the read models. Local (key) authentication is disabled; the app
// reaches it with a data-plane role of its own that reads, queries and writes items but
// never deletes one or touches containers.
param name string
param location string
param tags object
@description('[{ name, partitionKeyPath, compositeIndexes, spatialIndexes? }]: the containers the code declares, each composite index a list of paths (ascending), each spatial index the path of a GeoJSON Point.')
param containers array
@allowed(['serverless', 'autoscale'])
param capacityMode string
param autoscaleMaxThroughput int
param appIdentityName string
param databaseName string = 'farmacias'


resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}
resource account 'Microsoft.DocumentDB/databaseAccounts@2026-03-15' = {
  name: name
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    disableLocalAuth: true
    minimalTlsVersion: 'Tls12'
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    locations: [{ locationName: location, failoverPriority: 0, isZoneRedundant: false }]
    capabilities: capacityMode == 'serverless' ? [{ name: 'EnableServerless' }] : []
    backupPolicy: { type: 'Continuous', continuousModeProperties: { tier: 'Continuous7Days' } }
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2026-03-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: { id: databaseName }
    // Autoscale is shared by the containers at the database; serverless takes no throughput.
    options: capacityMode == 'autoscale' ? { autoscaleSettings: { maxThroughput: autoscaleMaxThroughput } } : {}
  }
}

// Point reads by id dominate; the lists read containers partitioned by the key they
// filter on, and each query that filters on equality and orders by another path has its
// composite index (declared in code beside the container, in step with main.bicep).
resource readContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2026-03-15' = [
  for container in containers: {
    parent: database
    name: container.name
    properties: {
      resource: {
        id: container.name
        partitionKey: { paths: [container.partitionKeyPath], kind: 'Hash', version: 2 }
        indexingPolicy: {
          indexingMode: 'consistent'
          automatic: true
          includedPaths: [{ path: '/*' }]
          excludedPaths: [{ path: '/"_etag"/?' }, { path: '/openingHours/*' }, { path: '/description/?' }]
          compositeIndexes: [for index in container.compositeIndexes: map(index, path => { path: path, order: 'ascending' })]
          spatialIndexes: map(container.?spatialIndexes ?? [], path => { path: path, types: ['Point'] })
        }
      }
    }
  }
]

resource appRole 'Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions@2026-03-15' = {
  parent: account
  name: guid(account.id, 'farmacias-read-model-writer')
  properties: {
    roleName: 'Farmácias read-model writer'
    type: 'CustomRole'
    assignableScopes: [account.id]
    permissions: [
      {
        dataActions: [
          'Microsoft.DocumentDB/databaseAccounts/readMetadata'
          'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/read'
          'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/create'
          'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/replace'
          'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/items/upsert'
          'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers/executeQuery'
        ]
      }
    ]
  }
}

resource appRoleAssignment 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2026-03-15' = {
  parent: account
  name: guid(account.id, appIdentity.id, appRole.id)
  properties: {
    roleDefinitionId: appRole.id
    principalId: appIdentity.properties.principalId
    // A path, not a resource id: database.name (not the parameter) makes it wait for the database.
    scope: '${account.id}/dbs/${database.name}'
  }
}

output endpoint string = account.properties.documentEndpoint
output databaseName string = database.name
