// A user-assigned managed identity, deployed twice: the app's, which holds every data-plane
// role of the app, and API Management's, which reads the host key and publishes telemetry.
// Created first, so each role is granted long before the service that uses it exists.
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
