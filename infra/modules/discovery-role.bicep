// The discovery reader: what a scan needs to find Pending private endpoint connections, and nothing it could
// change anything with. main.bicep passes the Resource Graph query's read plus, for each enabled type, the reads
// infra/discovery-actions.json lists (test/unit/infra/consistency.test.ts holds both to the registry).
//
// Kept apart from the approver role on purpose: the scan may look across far more of the estate than the app
// may decide in, so its scopes (discoveryScopes) and the approver's (the targets) are granted separately.
targetScope = 'subscription'

@description('Tenant-unique display name of the role.')
param roleName string

@description('What the definition id is derived from, so that a later rename updates the same definition.')
param definitionSeed string

@description('Subscription ids (/subscriptions/<id>) the role can be assigned in.')
param assignableScopes array

@description('Read actions only: the Resource Graph query and the scan reads of the enabled types.')
param actions array

resource discoveryRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, 'private-link-approver', definitionSeed)
  properties: {
    roleName: roleName
    description: 'Find private endpoint connections of the enabled resource types with Resource Graph (private-link-approver). Read only.'
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

output roleDefinitionGuid string = discoveryRole.name
output roleDefinitionId string = discoveryRole.id
output roleName string = roleName
