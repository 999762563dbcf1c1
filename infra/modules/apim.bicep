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
@description('API Management\'s user-assigned identity (resource id). Its roles, Key Vault Secrets User on the host key\'s secret alone and Monitoring Metrics Publisher on Application Insights, are granted by key-vault.bicep and monitoring.bicep before this module starts.')
param identityId string
@description('Its client id: names it wherever API Management signs in (the named value, the logger).')
param identityClientId string
param functionKeySecretUri string

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
  // The user-assigned identity alone: no system-assigned one, whose roles could only be
  // granted once this service exists and would still be propagating when its named value
  // first reads Key Vault. Nothing here signs in with a system-assigned identity.
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    publisherEmail: publisherEmail
    publisherName: publisherName
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource functionKey 'Microsoft.ApiManagement/service/namedValues@2024-05-01' = {
  parent: service
  name: 'function-key'
  properties: {
    displayName: 'function-key'
    secret: true
    // Read with the user-assigned identity (without identityClientId API Management would use
    // a system-assigned one, which it has not), whose role on this secret was granted when
    // the secret was created, minutes before this service existed.
    keyVault: { secretIdentifier: functionKeySecretUri, identityClientId: identityClientId }
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
// the gateway logs with its user-assigned identity, whose Monitoring Metrics Publisher role
// on the component monitoring.bicep granted.
resource logger 'Microsoft.ApiManagement/service/loggers@2024-05-01' = {
  parent: service
  name: 'app-insights'
  properties: {
    loggerType: 'applicationInsights'
    resourceId: appInsights.id
    credentials: { connectionString: appInsightsConnectionString, identityClientId: identityClientId }
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
