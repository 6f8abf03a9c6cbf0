// Assigns the approver role to the app's identity on one whole subscription (every cluster in it).
targetScope = 'subscription'

param principalId string

@description('Name (GUID) of the approver custom role; resolved in this subscription.')
param roleDefinitionGuid string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleDefinitionGuid)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'private-link-approver: approve/reject AKS private endpoint connections in this subscription.'
  }
}

output scope string = subscription().id
