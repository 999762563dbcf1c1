// API Management: the four APIs (and health) imported from the project's OpenAPI
// documents, backed by the Function App with a Key Vault-held host key; products
// `public` and `partners`; validate-jwt against the Authentication API; CORS; the
// Application Insights logger.
param name string
param location string
param tags object
@allowed(['Developer', 'BasicV2', 'StandardV2', 'Premium'])
param sku string
param publisherEmail string
param publisherName string
param functionAppHostName string
param appInsightsName string
param appInsightsConnectionString string
param corsOrigins array
param issuer string
param audience string
param functionKeySecretUri string
@description('The name of that secret: API Management may read it and no other secret of the vault.')
param functionKeySecretName string
param keyVaultName string

// Public path of each API; operations keep the paths of their OpenAPI documents.
var apis = [
  { name: 'pharmacies', displayName: 'Pharmacies API', path: 'pharmacies', spec: loadTextContent('../../shared/pharmacies/openapi.yaml') }
  { name: 'catalog', displayName: 'Catalog API', path: 'catalog', spec: loadTextContent('../../shared/catalog/openapi.yaml') }
  { name: 'offers', displayName: 'Offers API', path: 'offers', spec: loadTextContent('../../shared/offers/openapi.yaml') }
  { name: 'identity', displayName: 'Authentication API', path: 'identity', spec: loadTextContent('../../shared/identity/openapi.yaml') }
  { name: 'platform', displayName: 'Platform health', path: 'platform', spec: loadTextContent('../../shared/platform/openapi.yaml') }
]

resource service 'Microsoft.ApiManagement/service@2024-05-01' = {
  name: name
  location: location
  tags: tags
  sku: { name: sku, capacity: 1 }
  identity: { type: 'SystemAssigned' }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
  }
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' existing = {
  name: keyVaultName
}

resource functionKeySecret 'Microsoft.KeyVault/vaults/secrets@2026-05-15' existing = {
  parent: vault
  name: functionKeySecretName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

var secretsUser = '4633458b-17de-408a-b874-0445c86b69e6'

// On the one secret, not the vault: the vault also holds the personal-data keys and the
// token signing keys, which the gateway has no use for.
resource readsFunctionKey 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: functionKeySecret
  name: guid(functionKeySecret.id, service.id, secretsUser)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUser)
    principalId: service.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource functionKey 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: service
  name: 'function-key'
  dependsOn: [readsFunctionKey]
  properties: {
    displayName: 'function-key'
    secret: true
    keyVault: { secretIdentifier: functionKeySecretUri }
  }
}

resource backend 'Microsoft.ApiManagement/service/backends@2024-05-01' = {
  parent: service
  name: 'function-app'
  properties: {
    protocol: 'http'
    url: 'https://${functionAppHostName}/api'
    tls: { validateCertificateChain: true, validateCertificateName: true }
  }
}

// Application Insights accepts no instrumentation-key ingestion (local auth is disabled):
// the gateway logs with its own identity, which needs Monitoring Metrics Publisher.
var metricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource publishesTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: appInsights
  name: guid(appInsights.id, service.id, metricsPublisher)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', metricsPublisher)
    principalId: service.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource logger 'Microsoft.ApiManagement/service/loggers@2024-05-01' = {
  parent: service
  name: 'app-insights'
  dependsOn: [publishesTelemetry]
  properties: {
    loggerType: 'applicationInsights'
    resourceId: appInsights.id
    credentials: { connectionString: appInsightsConnectionString, identityClientId: 'SystemAssigned' }
  }
}

resource diagnostics 'Microsoft.ApiManagement/service/diagnostics@2024-05-01' = {
  parent: service
  name: 'applicationinsights'
  properties: {
    loggerId: logger.id
    alwaysLog: 'allErrors'
    httpCorrelationProtocol: 'W3C'
    logClientIp: false
    sampling: { samplingType: 'fixed', percentage: 100 }
    // Bodies and credentials stay out of telemetry: personal data and tokens travel in them,
    // and a partner may send its subscription key in the URL.
    frontend: {
      request: { headers: [], body: { bytes: 0 }, dataMasking: { queryParams: [{ value: 'subscription-key', mode: 'Hide' }] } }
      response: { headers: [], body: { bytes: 0 } }
    }
    backend: { request: { headers: [], body: { bytes: 0 } }, response: { headers: [], body: { bytes: 0 } } }
  }
}

resource globalPolicy 'Microsoft.ApiManagement/service/policies@2024-05-01' = {
  parent: service
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: replace(loadTextContent('../apim/global.xml'), '__CORS_ORIGINS__', join(map(corsOrigins, origin => '<origin>${origin}</origin>'), ''))
  }
}

resource imported 'Microsoft.ApiManagement/service/apis@2024-05-01' = [
  for api in apis: {
    parent: service
    name: api.name
    properties: {
      displayName: api.displayName
      path: api.path
      protocols: ['https']
      format: 'openapi'
      value: api.spec
      subscriptionRequired: false
      subscriptionKeyParameterNames: { header: 'Ocp-Apim-Subscription-Key', query: 'subscription-key' }
    }
  }
]

resource apiPolicies 'Microsoft.ApiManagement/service/apis/policies@2024-05-01' = [
  for (api, index) in apis: {
    parent: imported[index]
    name: 'policy'
    dependsOn: [functionKey, backend]
    properties: {
      format: 'rawxml'
      value: replace(replace(loadTextContent('../apim/api.xml'), '__ISSUER__', issuer), '__AUDIENCE__', audience)
    }
  }
]

var products = [
  { name: 'public', displayName: 'Public', description: 'Queries, customer accounts and pharmacy staff signed in to the web portal; no subscription, rate-limited per address.', subscriptionRequired: false, policy: loadTextContent('../apim/product-public.xml') }
  { name: 'partners', displayName: 'Partners', description: 'Pharmacy chains and delivery apps: commands and the offers batch feed, per-subscription rate limit and quota.', subscriptionRequired: true, policy: loadTextContent('../apim/product-partners.xml') }
]

resource productResources 'Microsoft.ApiManagement/service/products@2024-05-01' = [
  for product in products: {
    parent: service
    name: product.name
    properties: {
      displayName: product.displayName
      description: product.description
      subscriptionRequired: product.subscriptionRequired
      approvalRequired: product.subscriptionRequired
      state: 'published'
    }
  }
]

resource productPolicies 'Microsoft.ApiManagement/service/products/policies@2024-05-01' = [
  for (product, index) in products: {
    parent: productResources[index]
    name: 'policy'
    properties: { format: 'rawxml', value: product.policy }
  }
]

// Every API in both products: a call without a subscription key is the public product's.
resource productApis 'Microsoft.ApiManagement/service/products/apiLinks@2024-05-01' = [
  for pair in flatten(map(range(0, length(products)), p => map(range(0, length(apis)), a => { product: p, api: a }))): {
    parent: productResources[pair.product]
    name: apis[pair.api].name
    properties: { apiId: imported[pair.api].id }
  }
]

output gatewayUrl string = service.properties.gatewayUrl
