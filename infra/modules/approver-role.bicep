// The only Resource Manager permission the approver holds: read and write private endpoint connections of the
// enabled resource types (and the operation reads their long-running PUTs need). Not the resources, not their
// keys, not the private endpoint on the consumer side. main.bicep passes exactly the actions infra/providers.json
// lists for the enabled types (test/unit/infra/consistency.test.ts keeps that file equal to the registry).
//
// Why one definition in the deployment subscription: custom role names are unique per tenant, so one
// definition per environment, with assignableScopes covering every subscription that holds a target, avoids
// name clashes that one-definition-per-target-subscription would hit. Being assignable somewhere grants
// nothing; only the role assignments in assign-*.bicep do, and those sit exactly at the target scopes.
targetScope = 'subscription'

@description('Tenant-unique display name of the role.')
param roleName string

@description('What the definition id is derived from; stays the same when the display name changes.')
param definitionSeed string

@description('Subscription ids (/subscriptions/<id>) the role can be assigned in.')
param assignableScopes array

@description('The RBAC actions of the enabled types, from infra/providers.json.')
param actions array

resource approverRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'private-link-approver', definitionSeed)
  properties: {
    roleName: roleName
    description: 'Approve or reject private endpoint connections of the enabled resource types (private-link-approver). Nothing else.'
    type: 'CustomRole'
    permissions: [
      {
        actions: actions
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
