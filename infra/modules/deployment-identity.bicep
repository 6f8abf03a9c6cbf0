// The identity Flex Consumption uses for the deployment container: `azd deploy` has the platform write the package
// there with it, and every instance reads the package back with it at start. main.bicep deploys this module, and
// so creates the identity and its grant, before the function app exists (the site module takes this module's
// outputs). A system-assigned identity cannot do that: it exists only once the site does, so its grant would be
// minutes old at best when the first deploy arrives, and a grant that young can still be refused (403).
//
// It is only for the package. The app's own calls (Resource Manager, Key Vault, tables, queues, host storage,
// telemetry) keep using the app identity; AZURE_CLIENT_ID never names this one (modules/function-app.bicep).
param location string
param tags object
param identityName string
param storageAccountName string
param deploymentContainerName string

// Built-in: Storage Blob Data Contributor (read, write and delete blobs), granted on the one container only.
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: identityName
  location: location
  tags: tags
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storage
  name: 'default'
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deploymentContainerName
}

resource packageWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(container.id, identity.id, storageBlobDataContributor)
  scope: container
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: identity.properties.principalId
    // Known type: Resource Manager then skips the directory lookup a principal this new may not pass yet.
    principalType: 'ServicePrincipal'
    description: 'Flex Consumption writes and reads the app package here (private-link-approver).'
  }
}

output id string = identity.id
output principalId string = identity.properties.principalId
output containerId string = container.id
