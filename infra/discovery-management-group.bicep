// Discovery across a management group. infra/main.bicep runs at subscription scope, and a subscription
// deployment cannot create anything at a management group, so every group listed in DISCOVERY_SCOPES is
// granted by deploying this file once at that group (docs/deploy.md, "Discovery", has the command; the main
// deployment's output DISCOVERY_MANAGEMENT_GROUPS lists the groups).
//
// It holds the same reads as the subscription-scope discovery reader (modules/discovery-role.bicep), worked
// out the same way from infra/discovery-actions.json and the enabled types, and assigns them to the app's
// identity at this group only, where the group's subscriptions inherit them. Nothing here writes: approving a
// connection the scan finds still needs the approver role at a target scope of the main deployment.
targetScope = 'managementGroup'

@minLength(1)
@maxLength(40)
@description('The azd environment the app belongs to; names the role and keeps its id stable across runs.')
param environmentName string

@minLength(36)
@maxLength(36)
@description('Object id of the app identity (the main deployment\'s output APPROVER_PRINCIPAL_ID).')
param principalId string

@description('The same value as the main deployment\'s enabledResourceTypes (azd: ENABLED_RESOURCE_TYPES), or * for every type.')
@minLength(1)
param enabledResourceTypes string = 'Microsoft.ContainerService/managedClusters'

// Written exactly as in main.bicep, so that both deployments read the same types (the consistency test compares).
// providers.json only names the types here (for `*`); the approver's actions stay with the main deployment.
var providerActions = loadJsonContent('providers.json')
var enabledTypes = trim(enabledResourceTypes) == '*'
  ? map(items(providerActions), p => p.key)
  : filter(map(split(enabledResourceTypes, ','), t => trim(t)), t => !empty(t))
var discoveryReads = loadJsonContent('discovery-actions.json')
var discoveryActions = union(
  ['Microsoft.ResourceGraph/resources/read'],
  flatten(map(enabledTypes, t => discoveryReads[t]))
)

// Role names are unique in the tenant: one definition per environment and group, assignable at that group only.
resource discoveryRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(managementGroup().id, 'private-link-approver', 'discovery-reader', environmentName)
  properties: {
    roleName: 'Private endpoint connection discovery reader (${environmentName}, ${managementGroup().name})'
    description: 'Find private endpoint connections of the enabled resource types with Resource Graph (private-link-approver). Read only.'
    type: 'CustomRole'
    permissions: [
      {
        actions: discoveryActions
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: [
      managementGroup().id
    ]
  }
}

resource discoveryAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(managementGroup().id, principalId, discoveryRole.name)
  properties: {
    roleDefinitionId: discoveryRole.id
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'private-link-approver: find Pending private endpoint connections under this management group (read only).'
  }
}

output DISCOVERY_ROLE_NAME string = discoveryRole.properties.roleName
output DISCOVERY_ROLE_DEFINITION_ID string = discoveryRole.id
output DISCOVERY_SCOPE string = managementGroup().id
