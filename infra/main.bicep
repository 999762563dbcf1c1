// The Farmácias platform in one resource group: `azd up`, or the deploy workflow
// (`az deployment sub create --template-file infra/main.bicep --parameters infra/main.parameters.json`).
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('Environment name (dev, staging, prod…): names the resource group and every resource in it.')
param environmentName string

@minLength(1)
@description('Azure region of every resource.')
param location string

@allowed(['Developer', 'BasicV2', 'StandardV2', 'Premium'])
@description('API Management tier. rate-limit-by-key (the public product) needs one of these; Consumption lacks it.')
param apimSku string = 'BasicV2'

@description('E-mail of the API Management publisher (shown in the developer portal and notifications).')
param apimPublisherEmail string

@description('Name of the API Management publisher.')
param apimPublisherName string = 'Farmácias'

@minValue(1)
@maxValue(1000)
@description('Most Function App instances the Flex Consumption plan may run (see the README: 30x sizing).')
param functionMaximumInstances int = 120

@allowed([512, 2048, 4096])
@description('Memory of each Function App instance, in MB.')
param functionInstanceMemoryMB int = 2048

@minValue(0)
@description('Instances kept warm for HTTP (no cold start for the first callers).')
param functionAlwaysReadyHttp int = 2

@minValue(2)
@maxValue(100)
@description('Deliveries of a message before Service Bus dead-letters it; the app reads the same number (BUS_MAX_ATTEMPTS). With a 1 s back-off base, 10 deliveries span about two minutes.')
param busMaxAttempts int = 10

@allowed(['serverless', 'autoscale'])
@description('Cosmos DB capacity: serverless for small environments, autoscale for production.')
param cosmosCapacityMode string = 'autoscale'

@minValue(1000)
@description('Autoscale ceiling of the Cosmos DB database, in RU/s (autoscale mode only).')
param cosmosAutoscaleMaxThroughput int = 10000

@description('Display name of the Microsoft Entra group that administers Azure SQL (Entra-only authentication).')
param sqlAdminGroupName string

@description('Object id of that group.')
param sqlAdminGroupObjectId string

@description('E-mail of the first platform administrator (its password is generated into Key Vault).')
param bootstrapAdminEmail string

@allowed(['westus2', 'centralus', 'eastus2', 'westeurope', 'eastasia'])
@description('Region of the Static Web App (the web channel); it offers these only, and serves the files from Azure\'s edge wherever it is.')
param webLocation string = 'eastus2'

@description('A custom subdomain of the web channel (www.farmacias.example, not an apex: CNAME delegation takes subdomains only), set on a second deployment once its CNAME points at the site\'s default host name (output WEB_URL); empty: the default host name only. CORS allows exactly the site\'s origins.')
param webCustomDomain string = ''

@description('E-mail that receives the alerts; empty: alerts fire without notification.')
param alertEmail string = ''

@description('Principal (user or the deploying service principal) allowed to write the Key Vault secrets the deployment seeds.')
param deployerPrincipalId string = ''

@allowed(['User', 'ServicePrincipal'])
param deployerPrincipalType string = 'ServicePrincipal'

@allowed(['default', 'recover'])
@description('recover: bring back the soft-deleted Key Vault of this environment (after azd down, within its 90-day retention) with its secrets, the personal-data keys among them.')
param keyVaultCreateMode string = 'default'

@secure()
@minLength(32)
@description('The Function App host key API Management presents, new for each deployment: infra/scripts/function-key.sh prepare makes it (and, on an app that runs, installs it beside the current one first), sync installs it after the package.')
param apimFunctionKey string

// The secret API Management reads; its role on the vault is scoped to this one secret.
var apimFunctionKeySecretName = 'FUNCTION-KEY-APIM'
var tags = { 'azd-env-name': environmentName, application: 'farmacias' }
var token = toLower(uniqueString(subscription().id, environmentName, location))
var names = {
  identity: 'id-farmacias-${environmentName}'
  apimIdentity: 'id-apim-farmacias-${environmentName}'
  logs: 'log-farmacias-${environmentName}'
  appInsights: 'appi-farmacias-${environmentName}'
  // 3–24 characters, a letter first, no trailing or doubled hyphen: the token alone, never the free-form name.
  keyVault: 'kv-farm-${take(token, 13)}'
  storage: 'stfarm${take(token, 17)}'
  sql: 'sql-farmacias-${token}'
  serviceBus: 'sb-farmacias-${token}'
  cosmos: 'cosmos-farmacias-${token}'
  redis: 'redis-farmacias-${token}'
  // 1–60 characters, letters, digits and single hyphens, a letter or digit at each end.
  redisCounters: 'redis-counters-farmacias-${token}'
  plan: 'plan-farmacias-${environmentName}'
  functionApp: 'func-farmacias-${token}'
  apim: 'apim-farmacias-${token}'
  web: 'stapp-farmacias-${token}'
}

// The subscriptions and containers the code declares (a drift test keeps these equal to
// shared/*/module.ts): one subscription per projector or reaction, filtered on its types.
var subscriptions = [
  {
    name: 'pharmacies-read'
    eventTypes: ['PharmacyRegistered', 'PharmacyProfileChanged', 'PharmacyOpeningHoursChanged', 'PharmacyRelocated', 'PharmacyClosed', 'PharmacyReopened']
  }
  {
    name: 'products-read'
    eventTypes: ['ProductRegistered', 'ProductChanged', 'ProductDiscontinued', 'ProductReinstated']
  }
  {
    name: 'offers-read'
    eventTypes: ['OfferPublished', 'OfferRevised', 'OfferPriceChanged', 'OfferWithdrawn', 'OfferExpired']
  }
  {
    name: 'offers-by-product-read'
    eventTypes: ['OfferPublished', 'OfferRevised', 'OfferPriceChanged', 'OfferWithdrawn', 'OfferExpired']
  }
  {
    name: 'offers-by-pharmacy-read'
    eventTypes: ['OfferPublished', 'OfferRevised', 'OfferPriceChanged', 'OfferWithdrawn', 'OfferExpired']
  }
  {
    name: 'offers-product-discontinued'
    eventTypes: ['ProductDiscontinued']
  }
  {
    name: 'offers-published-check'
    eventTypes: ['OfferPublished', 'OfferRevised']
  }
]
var containers = [
  { name: 'pharmacies', partitionKeyPath: '/id', compositeIndexes: [['/status', '/id'], ['/status', '/address/state', '/id'], ['/status', '/cityKey', '/id']], spatialIndexes: ['/position/?'] }
  { name: 'products', partitionKeyPath: '/id', compositeIndexes: [['/status', '/sortKey'], ['/status', '/category', '/sortKey'], ['/status', '/prescription', '/sortKey']] }
  { name: 'catalog-summaries', partitionKeyPath: '/id', compositeIndexes: [] }
  { name: 'offers', partitionKeyPath: '/id', compositeIndexes: [] }
  { name: 'offers-by-product', partitionKeyPath: '/productId', compositeIndexes: [] }
  { name: 'offers-by-pharmacy', partitionKeyPath: '/pharmacyId', compositeIndexes: [['/pharmacyId', '/status', '/id']] }
]

// The HTTP functions of each API (a drift test keeps these equal to the routes the code
// declares): Functions names a request after its function, so charts per API map names.
var functionsByApi = {
  platform: ['health', 'healthReady']
  pharmacies: ['registerPharmacy', 'listPharmacies', 'nearbyPharmacies', 'getPharmacy', 'changePharmacyProfile', 'changeOpeningHours', 'relocatePharmacy', 'closePharmacy', 'reopenPharmacy', 'pharmacyHistory']
  catalog: ['registerProduct', 'searchProducts', 'getProductByGtin', 'getProduct', 'changeProduct', 'discontinueProduct', 'reinstateProduct', 'productHistory', 'listCategories']
  offers: ['publishOffer', 'publishOfferBatch', 'getOffer', 'changeOfferPrice', 'withdrawOffer', 'offerHistory', 'productOffersNear', 'pharmacyOffers']
  identity: ['registerUser', 'issueToken', 'revokeToken', 'currentUser', 'eraseMe', 'myData', 'eraseUser', 'signingKeys', 'openIdConfiguration', 'assignRoles', 'registerClient', 'rotateClientSecret', 'disableClient']
}

resource group 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: 'rg-farmacias-${environmentName}'
  location: location
  tags: tags
}

// One user-assigned identity for the app: every data-plane role below is granted to it
// before the Function App exists, so nothing waits on the app's own identity.
module identity 'modules/identity.bicep' = {
  scope: group
  params: { name: names.identity, location: location, tags: tags }
}

// API Management's own user-assigned identity, for the same reason: its Key Vault role (on
// the host key's secret) and its telemetry role are granted where the secret and Application
// Insights are created, minutes before the API Management service and its `function-key`
// named value exist. With the service's system-assigned identity the role could only be
// granted after the service, and a fresh assignment takes minutes to propagate: the named
// value's first read of the secret failed with Forbidden on a first deployment.
module apimIdentity 'modules/identity.bicep' = {
  scope: group
  params: { name: names.apimIdentity, location: location, tags: tags }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: group
  dependsOn: [identity, apimIdentity]
  params: {
    logAnalyticsName: names.logs
    appInsightsName: names.appInsights
    location: location
    tags: tags
    alertEmail: alertEmail
    appIdentityName: names.identity
    apimIdentityName: names.apimIdentity
    functionsByApi: functionsByApi
  }
}

module storage 'modules/storage.bicep' = {
  scope: group
  dependsOn: [identity]
  params: { name: names.storage, location: location, tags: tags, appIdentityName: names.identity }
}

module sql 'modules/sql.bicep' = {
  scope: group
  params: {
    serverName: names.sql
    location: location
    tags: tags
    adminGroupName: sqlAdminGroupName
    adminGroupObjectId: sqlAdminGroupObjectId
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module serviceBus 'modules/service-bus.bicep' = {
  scope: group
  dependsOn: [identity]
  params: {
    name: names.serviceBus
    location: location
    tags: tags
    subscriptions: subscriptions
    maxDeliveryCount: busMaxAttempts
    appIdentityName: names.identity
    actionGroupId: monitoring.outputs.actionGroupId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  scope: group
  dependsOn: [identity]
  params: {
    name: names.cosmos
    location: location
    tags: tags
    containers: containers
    capacityMode: cosmosCapacityMode
    autoscaleMaxThroughput: cosmosAutoscaleMaxThroughput
    appIdentityName: names.identity
  }
}

module redis 'modules/redis.bicep' = {
  scope: group
  dependsOn: [identity]
  params: { name: names.redis, location: location, tags: tags, appIdentityName: names.identity }
}

// The security counters (login-throttling windows, known-client marks) in a Redis of
// their own: in the cache's memory, which anyone fills with cached reads (distinct
// cursors, search texts), AllKeysLRU would evict them, forgiving counted guesses.
// NoEviction: a full counters store refuses writes instead, and logins then fail closed
// with 503, the designed behaviour when counters cannot be kept. Balanced_B0, the
// smallest SKU: windows are small keys that expire with their window (a larger SKU when
// its memory alert, at 75%, fires; infra/README.md).
module redisCounters 'modules/redis.bicep' = {
  scope: group
  dependsOn: [identity]
  params: {
    name: names.redisCounters
    location: location
    tags: tags
    appIdentityName: names.identity
    skuName: 'Balanced_B0'
    evictionPolicy: 'NoEviction'
    alertOnMemory: true
    actionGroupId: monitoring.outputs.actionGroupId
  }
}

module keyVault 'modules/key-vault.bicep' = {
  scope: group
  dependsOn: [identity, apimIdentity]
  params: {
    name: names.keyVault
    location: location
    tags: tags
    appIdentityName: names.identity
    apimIdentityName: names.apimIdentity
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
    createMode: keyVaultCreateMode
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    apimFunctionKey: apimFunctionKey
    functionKeySecretName: apimFunctionKeySecretName
  }
}

module functionApp 'modules/function-app.bicep' = {
  scope: group
  params: {
    planName: names.plan
    name: names.functionApp
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    maximumInstanceCount: functionMaximumInstances
    instanceMemoryMB: functionInstanceMemoryMB
    alwaysReadyHttp: functionAlwaysReadyHttp
    sqlServerFqdn: sql.outputs.fullyQualifiedDomainName
    sqlDatabaseName: sql.outputs.databaseName
    serviceBusNamespaceFqdn: serviceBus.outputs.fullyQualifiedNamespace
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabaseName: cosmos.outputs.databaseName
    keyVaultUri: keyVault.outputs.uri
    authIssuer: '${apimGatewayUrl}/identity/auth'
    redisUrl: redis.outputs.url
    redisCountersUrl: redisCounters.outputs.url
    busMaxAttempts: busMaxAttempts
    bootstrapAdminEmail: bootstrapAdminEmail
  }
}

var apimGatewayUrl = 'https://${names.apim}.azure-api.net'

module web 'modules/static-web-app.bicep' = {
  scope: group
  params: { name: names.web, location: webLocation, tags: tags, customDomain: webCustomDomain }
}

module apim 'modules/apim.bicep' = {
  scope: group
  params: {
    name: names.apim
    location: location
    tags: tags
    sku: apimSku
    publisherEmail: apimPublisherEmail
    publisherName: apimPublisherName
    functionAppHostName: functionApp.outputs.defaultHostName
    appInsightsName: names.appInsights
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    corsOrigins: web.outputs.origins
    issuer: '${apimGatewayUrl}/identity/auth'
    audience: 'farmacias-api'
    // Its roles were granted by the monitoring and key vault modules, whose outputs it waits for.
    identityId: apimIdentity.outputs.id
    identityClientId: apimIdentity.outputs.clientId
    functionKeySecretUri: keyVault.outputs.functionKeySecretUri
  }
}

output AZURE_RESOURCE_GROUP string = group.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_IDENTITY_NAME string = names.identity
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_SQL_SERVER string = sql.outputs.fullyQualifiedDomainName
output AZURE_SQL_DATABASE string = sql.outputs.databaseName
output APIM_GATEWAY_URL string = apimGatewayUrl
output APIM_NAME string = names.apim
output APPLICATIONINSIGHTS_NAME string = names.appInsights
output AZURE_STATIC_WEB_APP_NAME string = web.outputs.name
output WEB_URL string = web.outputs.origins[0]
