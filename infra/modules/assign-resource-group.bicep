// Assigns the approver role to the app's identity on one resource group (every cluster in it).
targetScope = 'resourceGroup'

param principalId string

@description('Name (GUID) of the approver custom role; resolved in this subscription.')
param roleDefinitionGuid string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, roleDefinitionGuid)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'private-link-approver: approve/reject AKS private endpoint connections in this resource group.'
  }
}

output scope string = resourceGroup().id
