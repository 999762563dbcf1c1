// Log Analytics, workspace-based Application Insights, the operations workbook and the
// alerts on the platform's own metrics (names from shared/kernel/telemetry.ts).
param logAnalyticsName string
param appInsightsName string
param location string
param tags object
param alertEmail string
param appIdentityName string
param apimIdentityName string
@description('{ api: [function names] }: the HTTP functions of each API.')
param functionsByApi object


resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource apimIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: apimIdentityName
}
resource workspace 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 90
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    // Telemetry only from Entra-authenticated senders: the app's identity and API Management's.
    DisableLocalAuth: true
  }
}

// The app sends telemetry with its identity (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
resource publishMetrics 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, appIdentity.id, '3913510d-42f4-4e42-8a64-420c390055eb')
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// API Management's gateway logs to Application Insights with its user-assigned identity
// (the logger's identityClientId in apim.bicep), granted here, before the service exists.
resource apimPublishesMetrics 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, apimIdentity.id, '3913510d-42f4-4e42-8a64-420c390055eb')
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '3913510d-42f4-4e42-8a64-420c390055eb')
    principalId: apimIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource operators 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${appInsightsName}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'farmacias'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [{ name: 'operators', emailAddress: alertEmail, useCommonAlertSchema: true }]
  }
}

// The API a request belongs to, from its function name (operation_Name).
var apiOfRequest = 'case(${join(map(items(functionsByApi), api => 'operation_Name in (${join(map(api.value, name => '\'${name}\''), ', ')}), \'${api.key}\''), ', ')}, \'other\')'

// The queries the workbook charts and the alerts watch.
var queries = {
  requestRate: 'requests | summarize requests = count() by api = ${apiOfRequest}, bin(timestamp, 5m) | render timechart'
  failures: 'requests | summarize failed = countif(toint(resultCode) >= 500), total = count() by bin(timestamp, 5m) | extend failureRate = 100.0 * failed / total | project timestamp, failureRate | render timechart'
  latency: 'requests | summarize p95 = percentile(duration, 95) by api = ${apiOfRequest}, bin(timestamp, 5m) | render timechart'
  projectionLag: 'customMetrics | where name == \'projection.lag_ms\' | extend projection = tostring(customDimensions.projection) | summarize lagMs = max(valueMax) by projection, bin(timestamp, 5m) | render timechart'
  cache: 'customMetrics | where name == \'cache.lookup\' | extend result = tostring(customDimensions.result) | summarize lookups = sum(valueCount) by result, bin(timestamp, 5m) | render areachart'
  deadLetters: 'customMetrics | where name == \'bus.dead_lettered\' | extend subscription = tostring(customDimensions.subscription) | summarize deadLettered = sum(valueSum) by subscription, bin(timestamp, 1h) | render columnchart'
  circuit: 'customMetrics | where name == \'read_store.circuit_open\' | summarize open = max(valueMax) by bin(timestamp, 5m) | render timechart'
  commands: 'customMetrics | where name == \'command.duration_ms\' | extend command = tostring(customDimensions.command), outcome = tostring(customDimensions.outcome) | summarize count = sum(valueCount), avgMs = sum(valueSum) / sum(valueCount) by command, outcome | order by count desc'
}

var workbookItems = [
  for item in items(queries): {
    type: 3
    name: item.key
    content: {
      version: 'KqlItem/1.0'
      query: item.value
      size: 0
      title: item.key
      timeContext: { durationMs: 86400000 }
      queryType: 0
      resourceType: 'microsoft.insights/components'
    }
  }
]

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(appInsights.id, 'farmacias-operations')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Farmácias operations'
    category: 'workbook'
    sourceId: appInsights.id
    serializedData: string({ version: 'Notebook/1.0', items: workbookItems, isLocked: false })
  }
}

// The API alerts read the HTTP functions only: `requests` also holds every Service Bus and
// timer invocation (a failing projector waits up to 20 s before it throws), which the
// dead-letter, projection-lag and circuit alerts watch instead.
var alerts = [
  {
    name: '5xx-rate'
    description: 'More than 1% of requests failed with 5xx in 5 minutes'
    severity: 1
    query: 'requests | where ${apiOfRequest} != \'other\' | summarize failed = countif(toint(resultCode) >= 500), total = count() | where total >= 20 and 100.0 * failed / total > 1'
  }
  {
    name: 'p95-latency'
    description: 'p95 latency of an API above 1 s over 5 minutes (20 calls at least)'
    severity: 2
    query: 'requests | extend api = ${apiOfRequest} | where api != \'other\' | summarize p95 = percentile(duration, 95), total = count() by api | where total >= 20 and p95 > 1000'
  }
  {
    name: 'projection-lag'
    description: 'A projection lags more than 30 s behind its events'
    severity: 2
    query: 'customMetrics | where name == \'projection.lag_ms\' | summarize lag = max(valueMax) by projection = tostring(customDimensions.projection) | where lag > 30000'
  }
  {
    name: 'read-store-circuit-open'
    description: 'The read-store circuit opened: queries answer from stale copies'
    severity: 2
    query: 'customMetrics | where name == \'read_store.circuit_open\' and valueMax >= 1'
  }
]

resource logAlerts 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = [
  for alert in alerts: {
    name: 'alert-${alert.name}-${appInsightsName}'
    location: location
    tags: tags
    properties: {
      displayName: alert.name
      description: alert.description
      severity: alert.severity
      enabled: true
      scopes: [appInsights.id]
      evaluationFrequency: 'PT5M'
      windowSize: 'PT5M'
      criteria: {
        allOf: [
          {
            query: alert.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
          }
        ]
      }
      actions: { actionGroups: [operators.id] }
    }
  }
]

output logAnalyticsWorkspaceId string = workspace.id
output appInsightsId string = appInsights.id
output appInsightsConnectionString string = appInsights.properties.ConnectionString
output actionGroupId string = operators.id
