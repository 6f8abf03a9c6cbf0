// The two custom role definitions of infra/main.bicep, and nothing else, for the preprovision hook
// (infra/scripts/azd-hooks.mjs) to create before the main deployment runs. A new definition, or one with a new
// assignable subscription, takes a while to become visible in the other subscriptions; an assignment made there
// before then fails with RoleDefinitionDoesNotExist. So the hook deploys this first and waits (bounded) until
// each subscription that gets an assignment shows the definition; main.bicep then finds it and its identical
// definition is an update that changes nothing.
//
// Every variable and module below is written exactly as in main.bicep, so that both compute the same role ids,
// names, actions and assignable scopes (test/unit/infra/consistency.test.ts compares the text).
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
param environmentName string

@minLength(1)
param location string

param targetSubscriptionIds string = ''
param targetResourceGroupIds string = ''
param targetClusterIds string = ''
@minLength(1)
param enabledResourceTypes string = 'Microsoft.ContainerService/managedClusters'
param discoveryScopes string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))

var subscriptionTargets = union(
  map(
    filter(map(split(targetSubscriptionIds, ','), s => trim(s)), s => !empty(s)),
    s => toLower(startsWith(toLower(s), '/subscriptions/') ? split(s, '/')[2] : s)
  ),
  []
)
var resourceGroupTargets = union(filter(map(split(targetResourceGroupIds, ','), s => trim(s)), s => !empty(s)), [])
var clusterTargets = union(filter(map(split(targetClusterIds, ','), s => trim(s)), s => !empty(s)), [])

var discoveryScopeList = filter(map(split(discoveryScopes, ','), s => trim(s)), s => !empty(s))
var discoverySubscriptions = union(map(filter(discoveryScopeList, s => !startsWith(s, '/')), s => toLower(s)), [])

var targetSubscriptions = union(
  subscriptionTargets,
  map(resourceGroupTargets, id => toLower(split(id, '/')[2])),
  map(clusterTargets, id => toLower(split(id, '/')[2]))
)

var providerActions = loadJsonContent('providers.json')
var enabledTypes = trim(enabledResourceTypes) == '*'
  ? map(items(providerActions), p => p.key)
  : filter(map(split(enabledResourceTypes, ','), t => trim(t)), t => !empty(t))
var roleActions = union(flatten(map(enabledTypes, t => providerActions[t])), [])

module approverRole 'modules/approver-role.bicep' = {
  name: 'approver-role-${resourceToken}'
  params: {
    roleName: 'Private endpoint connection approver (${environmentName}-${take(resourceToken, 6)})'
    // The definition's id comes from the name it was first deployed under, so an upgrade updates it in place.
    definitionSeed: 'AKS private endpoint connection approver (${environmentName}-${take(resourceToken, 6)})'
    actions: roleActions
    // The definition lives in this (deployment) subscription, which stays among its assignable scopes, plus
    // every subscription that holds a target.
    assignableScopes: map(union([toLower(subscription().subscriptionId)], targetSubscriptions), s => '/subscriptions/${s}')
  }
}

var discoveryReads = loadJsonContent('discovery-actions.json')
var discoveryActions = union(
  ['Microsoft.ResourceGraph/resources/read'],
  flatten(map(enabledTypes, t => discoveryReads[t]))
)

module discoveryRole 'modules/discovery-role.bicep' = if (!empty(discoverySubscriptions)) {
  name: 'discovery-role-${resourceToken}'
  params: {
    roleName: 'Private endpoint connection discovery reader (${environmentName}-${take(resourceToken, 6)})'
    definitionSeed: 'discovery-reader-${environmentName}-${take(resourceToken, 6)}'
    actions: discoveryActions
    // As for the approver: the subscription holding the definition stays assignable, plus every one scanned.
    assignableScopes: map(union([toLower(subscription().subscriptionId)], discoverySubscriptions), s => '/subscriptions/${s}')
  }
}

// What the hook waits for: each subscription that gets an assignment, with the definition it must see there.
output APPROVER_ROLE_DEFINITION_GUID string = approverRole.outputs.roleDefinitionGuid
output APPROVER_ROLE_WAIT_SUBSCRIPTIONS array = targetSubscriptions
output DISCOVERY_ROLE_DEFINITION_GUID string = empty(discoverySubscriptions) ? '' : discoveryRole!.outputs.roleDefinitionGuid
output DISCOVERY_ROLE_WAIT_SUBSCRIPTIONS array = discoverySubscriptions
