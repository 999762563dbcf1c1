// Azure Cache for Redis: the shared cache and login-throttling windows. TLS only. The app
// authenticates with the access key, kept in Key Vault (the key-vault module writes the
// REDIS-URL secret): Entra authentication needs token refresh in the client, not built yet.
param name string
param location string
param tags object

resource cache 'Microsoft.Cache/redis@2024-03-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: { name: 'Standard', family: 'C', capacity: 1 }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    redisVersion: '6'
    redisConfiguration: {
      'maxmemory-policy': 'allkeys-lru'
    }
  }
}

output name string = cache.name
