// The Function App on the Flex Consumption plan, Node 22, running as the app's
// user-assigned identity. Every setting the code reads is set here or documented as
// optional in infra/README.md (a drift test checks both against shared/kernel/settings.ts).
param planName string
param name string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param deploymentContainerUrl string
param appInsightsConnectionString string
param maximumInstanceCount int
param instanceMemoryMB int
param alwaysReadyHttp int
param sqlServerFqdn string
param sqlDatabaseName string
param serviceBusNamespaceFqdn string
param cosmosEndpoint string
param cosmosDatabaseName string
param keyVaultUri string
param authIssuer string
param redisUrl string
@description('The security counters\' Redis (NoEviction), never the cache\'s: cached reads anyone can multiply would evict them there.')
param redisCountersUrl string
@description('The subscriptions\' maxDeliveryCount: the same number, so the app\'s view of "last attempt" is Service Bus\'s.')
param busMaxAttempts int
param bootstrapAdminEmail string

func secret(vaultUri string, secretName string) string => '@Microsoft.KeyVault(SecretUri=${vaultUri}secrets/${secretName})'

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        // The host's own storage and the Service Bus trigger, by identity.
        { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        { name: 'ServiceBusConnection__fullyQualifiedNamespace', value: serviceBusNamespaceFqdn }
        { name: 'ServiceBusConnection__credential', value: 'managedidentity' }
        { name: 'ServiceBusConnection__clientId', value: identityClientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
        // The app's stores, by identity (AZURE_CLIENT_ID picks the user-assigned one).
        { name: 'AZURE_CLIENT_ID', value: identityClientId }
        { name: 'AZURE_SQL_SERVER', value: sqlServerFqdn }
        { name: 'AZURE_SQL_DATABASE', value: sqlDatabaseName }
        { name: 'COSMOS_ENDPOINT', value: cosmosEndpoint }
        { name: 'COSMOS_DATABASE', value: cosmosDatabaseName }
        { name: 'REDIS_URL', value: redisUrl }
        // Login windows and known-client marks go to their own store; REDIS_CREDENTIAL
        // (the same identity) signs in to both.
        { name: 'REDIS_COUNTERS_URL', value: redisCountersUrl }
        { name: 'REDIS_CREDENTIAL', value: 'managedidentity' }
        { name: 'REDIS_KEY_PREFIX', value: 'farmacias:' }
        // Behaviour (the code's defaults, written out so an operator sees and tunes them here).
        { name: 'CACHE_FRESH_SECONDS', value: '30' }
        { name: 'CACHE_STALE_SECONDS', value: '86400' }
        { name: 'BUS_MAX_ATTEMPTS', value: string(busMaxAttempts) }
        // Service Bus redelivers at once; the app waits base × 2^(delivery−1), capped at 20 s.
        { name: 'BUS_RETRY_BASE_MS', value: '1000' }
        { name: 'BUS_MAX_CONCURRENT', value: '64' }
        { name: 'READ_STORE_TIMEOUT_MS', value: '2000' }
        { name: 'DATABASE_CALL_TIMEOUT_MS', value: '10000' }
        { name: 'READ_STORE_BREAKER_THRESHOLD', value: '5' }
        { name: 'READ_STORE_BREAKER_HALF_OPEN_MS', value: '5000' }
        { name: 'OUTBOX_RELAY_MIN_AGE_MS', value: '5000' }
        { name: 'SEED_DEMO_DATA', value: 'false' }
        // Authentication: tokens name API Management's public address as their issuer.
        { name: 'AUTH_ISSUER', value: authIssuer }
        { name: 'AUTH_AUDIENCE', value: 'farmacias-api' }
        { name: 'AUTH_ACCESS_TOKEN_SECONDS', value: '900' }
        { name: 'AUTH_REFRESH_TOKEN_DAYS', value: '30' }
        { name: 'LOGIN_MAX_FAILURES_PER_ACCOUNT', value: '5' }
        { name: 'LOGIN_MAX_FAILURES_PER_ADDRESS', value: '20' }
        { name: 'LOGIN_FAILURE_WINDOW_SECONDS', value: '900' }
        { name: 'REGISTRATIONS_PER_ADDRESS_PER_HOUR', value: '10' }
        { name: 'AUTH_SIGNING_KEYS', value: secret(keyVaultUri, 'AUTH-SIGNING-KEYS') }
        { name: 'PERSONAL_DATA_MASTER_KEY', value: secret(keyVaultUri, 'PERSONAL-DATA-MASTER-KEY') }
        { name: 'PERSONAL_DATA_INDEX_KEY', value: secret(keyVaultUri, 'PERSONAL-DATA-INDEX-KEY') }
        { name: 'BOOTSTRAP_ADMIN_EMAIL', value: bootstrapAdminEmail }
        { name: 'BOOTSTRAP_ADMIN_PASSWORD', value: secret(keyVaultUri, 'BOOTSTRAP-ADMIN-PASSWORD') }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        alwaysReady: alwaysReadyHttp > 0 ? [{ name: 'http', instanceCount: alwaysReadyHttp }] : []
        triggers: { http: { perInstanceConcurrency: 16 } }
      }
      runtime: { name: 'node', version: '22' }
    }
  }
}

// The key API Management sends (x-functions-key; the routes are authLevel function) is not
// declared here: host keys cannot be set on a Flex app before its first package, so
// infra/scripts/function-key.sh installs it beside the current one before the template
// runs (on a running app) and for good after the package.

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
