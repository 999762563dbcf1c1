// Azure SQL: Entra-only authentication (no SQL logins at all), TDE, auditing to Log
// Analytics. The app's identity becomes a database user in the least-privilege role
// `farmacias_app` through `npm run db:migrate -- --app-user <name> --app-client-id <id>`
// (the deploy step): created from its client id, so no directory lookup is needed.
param serverName string
param location string
param tags object
param adminGroupName string
param adminGroupObjectId string
param logAnalyticsWorkspaceId string
param databaseName string = 'farmacias'

resource server 'Microsoft.Sql/servers@2025-01-01' = {
  name: serverName
  location: location
  tags: tags
  properties: {
    minimalTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    administrators: {
      administratorType: 'ActiveDirectory'
      principalType: 'Group'
      login: adminGroupName
      sid: adminGroupObjectId
      tenantId: subscription().tenantId
      azureADOnlyAuthentication: true
    }
  }
}

// Azure services only (the Function App, the deploy runner's migration step through its own rule).
resource azureServices 'Microsoft.Sql/servers/firewallRules@2025-01-01' = {
  parent: server
  name: 'AllowAllWindowsAzureIps'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
}

resource database 'Microsoft.Sql/servers/databases@2025-01-01' = {
  parent: server
  name: databaseName
  location: location
  tags: tags
  sku: { name: 'GP_S_Gen5', tier: 'GeneralPurpose', family: 'Gen5', capacity: 4 }
  properties: {
    autoPauseDelay: -1
    minCapacity: json('1')
    zoneRedundant: false
    requestedBackupStorageRedundancy: 'Zone'
  }
}

resource encryption 'Microsoft.Sql/servers/databases/transparentDataEncryption@2025-01-01' = {
  parent: database
  name: 'current'
  properties: { state: 'Enabled' }
}

// Auditing goes to Azure Monitor: the master database's diagnostic setting receives it.
resource master 'Microsoft.Sql/servers/databases@2025-01-01' existing = {
  parent: server
  name: 'master'
}

resource auditing 'Microsoft.Sql/servers/auditingSettings@2025-01-01' = {
  parent: server
  name: 'default'
  properties: {
    state: 'Enabled'
    isAzureMonitorTargetEnabled: true
    auditActionsAndGroups: ['SUCCESSFUL_DATABASE_AUTHENTICATION_GROUP', 'FAILED_DATABASE_AUTHENTICATION_GROUP', 'BATCH_COMPLETED_GROUP']
  }
}

#disable-next-line use-recent-api-versions // the newest version with log categories by name; the only GA one (2016-09-01) is older still
resource auditToLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: master
  name: 'audit-to-log-analytics'
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [{ category: 'SQLSecurityAuditEvents', enabled: true }]
  }
}

output fullyQualifiedDomainName string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
