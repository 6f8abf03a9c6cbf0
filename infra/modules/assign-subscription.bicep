// Assigns one of the app's custom roles (the approver, or the discovery reader) to the app's identity on one
// whole subscription (every resource in it).
targetScope = 'subscription'

param principalId string

@description('Name (GUID) of the custom role; resolved in this subscription.')
param roleDefinitionGuid string

@description('Shown on the assignment, so that whoever reviews access sees why the app holds it.')
param assignmentDescription string = 'private-link-approver: approve/reject AKS private endpoint connections in this subscription.'

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(subscription().id, principalId, roleDefinitionGuid)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: assignmentDescription
  }
}

output scope string = subscription().id
