// The web channel (customers' PWA and the pharmacy portal): an Azure Static Web App that
// serves the built app (npm run package:web) with its staticwebapp.config.json. The deploy
// workflow uploads it with the site's deployment token; no repository is linked, so no
// workflow is generated and no pull request gets a preview environment.
param name string
@description('Static Web Apps run in a few regions only; the files are served from Azure\'s edge wherever the site is.')
param location string
param tags object
@description('A subdomain (www.farmacias.example) whose CNAME already points at the site\'s default host name, so only on a second deployment; empty: none.')
param customDomain string

resource site 'Microsoft.Web/staticSites@2025-03-01' = {
  name: name
  location: location
  // azd deploys the `web` service of azure.yaml to the resource carrying this tag.
  tags: union(tags, { 'azd-service-name': 'web' })
  // Standard: the SLA and larger size limits than Free (both take custom domains).
  sku: { name: 'Standard', tier: 'Standard' }
  properties: {
    stagingEnvironmentPolicy: 'Disabled'
    allowConfigFileUpdates: true
    provider: 'None'
    buildProperties: { skipGithubActionWorkflowGeneration: true }
  }
}

// CNAME delegation: Azure checks the record, then issues and renews the certificate itself.
resource domain 'Microsoft.Web/staticSites/customDomains@2025-03-01' = if (!empty(customDomain)) {
  parent: site
  name: empty(customDomain) ? 'unused' : customDomain
  properties: { validationMethod: 'cname-delegation' }
}

output name string = site.name
// The origins the app is served from, the default host name first: API Management's CORS allows exactly these.
output origins array = concat(['https://${site.properties.defaultHostname}'], empty(customDomain) ? [] : ['https://${domain.name}'])
