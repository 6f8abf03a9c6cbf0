// The only Resource Manager permission the approver holds: read and write private endpoint connections on
// AKS clusters. Not the cluster, not its credentials, not the private endpoint on the consumer side. The list
// of actions must equal ARM_OPERATIONS in src/arm/operations.ts (test/unit/infra/consistency.test.ts).
//
// Why one definition in the deployment subscription: custom role names are unique per tenant, so one
// definition per environment, with assignableScopes covering every subscription that holds a target, avoids
// name clashes that one-definition-per-target-subscription would hit. Being assignable somewhere grants
// nothing; only the role assignments in assign-*.bicep do, and those sit exactly at the target scopes.
targetScope = 'subscription'

@description('Tenant-unique display name of the role.')
param roleName string

@description('Subscription ids (/subscriptions/<id>) the role can be assigned in.')
param assignableScopes array

resource approverRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'private-link-approver', roleName)
  properties: {
    roleName: roleName
    description: 'Approve or reject private endpoint connections on AKS clusters (private-link-approver). Nothing else.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.ContainerService/managedClusters/privateEndpointConnections/read'
          'Microsoft.ContainerService/managedClusters/privateEndpointConnections/write'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: assignableScopes
  }
}

output roleDefinitionGuid string = approverRole.name
output roleDefinitionId string = approverRole.id
output roleName string = roleName
output assignableScopes array = assignableScopes
