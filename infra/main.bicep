// Entry point for `azd up` / `azd provision`. Deployed at subscription scope because it creates the resource
// group, the custom role definition, and role assignments in the target subscriptions / resource groups /
// clusters, which can live anywhere in the tenant.
//
// Who can do what after this deploys (the whole privilege story, kept in one place):
//   * The function app's managed identity (system-assigned by default) gets
//       - the custom role "private endpoint connection approver": exactly {type}/privateEndpointConnections/read
//         + /write (and the operation reads a long-running type needs) for each type in enabledResourceTypes
//         (infra/providers.json, generated from the app's provider registry), at every target scope listed in
//         targetSubscriptionIds / targetResourceGroupIds / targetClusterIds — and nowhere else;
//       - the custom role "private endpoint connection discovery reader" (only when discoveryScopes names a
//         subscription): Resource Graph queries plus, for each enabled type, the reads a scan needs
//         (infra/discovery-actions.json, also generated from the registry) — no write of any kind — at each
//         subscription in discoveryScopes.
//         Management groups in discoveryScopes are out of a subscription deployment's reach:
//         infra/discovery-management-group.bicep grants the same reads there (docs/deploy.md, "Discovery");
//       - Storage Blob Data Owner + Storage Table Data Contributor + Storage Queue Data Contributor on the
//         app's own storage account (approvals that outlive a request continue from a queue there);
//       - Key Vault Secrets User on the app's own vault (read secret values and list versions);
//       - Monitoring Metrics Publisher on the app's own Application Insights component.
//   * A second, user-assigned identity (id-deploy-<token>) gets Storage Blob Data Contributor on the deployment
//     container only. Flex Consumption writes and reads the app package with it; it is created and granted
//     before the site, so that the first `azd deploy` is not refused (modules/deployment-identity.bicep).
//   * The deploying principal (principalId, optional) gets Key Vault Secrets Officer on the vault so that it
//     can load webhook secrets. Leave principalId empty to skip that.
// No Contributor/Owner anywhere; no keys, connection strings or secret values in this template or its outputs.
targetScope = 'subscription'

@minLength(1)
@maxLength(40)
@description('azd environment name; names resources and tags them with azd-env-name.')
param environmentName string

// The regions that offer Flex Consumption (as the official azd template for TypeScript on Flex lists them), so
// that a region without it is refused before anything is created; the metadata makes azd offer only these.
@minLength(1)
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'eastus2euap'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
@description('Region for every resource. Must offer the Flex Consumption plan.')
param location string

@description('Resource group to create; defaults to rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object id of the operator running the deployment (azd sets AZURE_PRINCIPAL_ID). Gets Key Vault Secrets Officer on the vault to load webhook secrets. Empty: no operator role.')
param principalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
@description('Principal type of principalId (ServicePrincipal when a pipeline deploys).')
param principalType string = 'User'

@allowed([
  'SystemAssigned'
  'UserAssigned'
])
@description('Identity the app uses for Resource Manager, Key Vault, storage and monitoring. UserAssigned creates an identity in the resource group and sets AZURE_CLIENT_ID.')
param identityType string = 'SystemAssigned'

// Targets. Comma-separated strings rather than arrays because azd substitutes environment values into
// main.parameters.json as strings (`azd env set APPROVER_TARGET_CLUSTER_IDS "id1,id2"`).
@description('Comma-separated subscription ids (GUIDs or /subscriptions/<id>) where the app may approve connections of any enabled type.')
param targetSubscriptionIds string = ''

@description('Comma-separated resource group ids (/subscriptions/<id>/resourceGroups/<name>) where the app may approve connections of any enabled type.')
param targetResourceGroupIds string = ''

@description('Comma-separated AKS cluster resource ids (/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.ContainerService/managedClusters/<name>).')
param targetClusterIds string = ''

// Function app sizing (Flex Consumption).
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

// Application settings read by src/config.ts. A blank value is treated as unset by the code, so empty
// defaults mean "use the code's default".
@description('Entra tenant whose bearer tokens are accepted (ENTRA_TENANT_ID). Empty: bearer auth off unless set later.')
param entraTenantId string = ''

@description('App ID URI / client id that bearer tokens must carry in aud (ENTRA_AUDIENCE).')
param entraAudience string = ''

@description('Comma-separated tenant ids accepted (ENTRA_ALLOWED_TENANTS); defaults to entraTenantId in code.')
param entraAllowedTenants string = ''

@description('Comma-separated oid/appid/azp values allowed to call (ENTRA_ALLOWED_CALLERS). Empty refuses every bearer caller.')
param entraAllowedCallers string = ''

@description('App role the token must carry (ENTRA_REQUIRED_ROLE), e.g. Approvals.Write.')
param entraRequiredRole string = ''

@description('Key Vault secret names per source (names only; values are set by the operator).')
param webhookSecretName string = 'webhook-secret'
param servicenowSecretName string = 'servicenow-webhook-secret'
param teamsSecretName string = 'teams-outgoing-webhook-token'
param slackSecretName string = 'slack-signing-secret'

@description('Comma-separated resource types the app may act on (ENABLED_RESOURCE_TYPES; docs/providers.md lists them), or * for every type in infra/providers.json. Defaults to AKS, what earlier versions managed, so an upgrade widens nothing. The custom role grants exactly these types; an empty value is refused, never read as every type.')
@minLength(1)
param enabledResourceTypes string = 'Microsoft.ContainerService/managedClusters'

// Discovery: a timer scans these scopes with Resource Graph for Pending connections of the enabled types.
@description('Comma-separated subscription GUIDs and /providers/Microsoft.Management/managementGroups/<id> (DISCOVERY_SCOPES). Empty: discovery off, and no discovery role. Subscriptions get the discovery reader role from this template; management groups from infra/discovery-management-group.bicep.')
param discoveryScopes string = ''

@description('NCRONTAB of the scan (six fields, seconds first); empty: every five minutes.')
param discoverySchedule string = ''

@description('Hours before the people asked about a Pending connection are reminded; empty: 24.')
param discoveryRemindAfterHours string = ''

@description('Seconds one scan acts on what it found; the rest waits for the next scan. Empty: 240, under the default schedule of five minutes.')
param discoveryScanBudgetSeconds string = ''

@description('JSON object of ServiceNow field name to text template for the records discovery opens; one field must hold {connectionId}. Empty: the built-in fields.')
param discoveryServicenowFields string = ''

@description('Slack channel id discovery posts to (e.g. C0123456789); empty: no Slack post.')
param discoverySlackChannel string = ''

@description('Key Vault secret name of the Slack bot token (name only); empty: slack-bot-token.')
param slackBotTokenSecretName string = ''

@description('Slack Web API base URL, no trailing slash; empty: https://slack.com/api.')
param slackApiUrl string = ''

@description('Optional overrides; empty keeps the code default.')
param armDeadlineMs string = ''
param armPollIntervalMs string = ''
param armMaxRetries string = ''
param armRetryBaseDelayMs string = ''
param armRetryMaxDelayMs string = ''
#disable-next-line secure-secrets-in-params // a cache lifetime in seconds, not a secret
param secretCacheTtlSeconds string = ''
param tablePrefix string = ''
param idempotencyTtlHours string = ''
param claimLeaseSeconds string = ''
param derivedKeyTtlMinutes string = ''
param auditSpoolFlushSeconds string = ''
@description('Milliseconds a request may spend before it continues from the queue and answers 202; empty: 25000.')
param syncBudgetMs string = ''
@description('Hours an accepted approval keeps retrying before it ends failed and the caller is told; empty: 24.')
param asyncMaxAgeHours string = ''
param asyncRetryBaseMs string = ''
param asyncRetryMaxMs string = ''
@description('https://<instance>.service-now.com: where late outcomes are written as work notes; empty: no write-back.')
param servicenowInstanceUrl string = ''
param servicenowCredentialsSecretName string = ''
param servicenowTable string = ''
@description('Hosts a Slack response_url may point at; empty: hooks.slack.com.')
param slackResponseUrlHosts string = ''
param teamsWorkflowUrlSecretName string = ''
@description('NCRONTAB of the clean-up of expired replay marks and idempotency records; empty: daily at 03:17 UTC.')
param retentionSchedule string = ''

@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

@description('Policy document inside the deployed package (see infra/scripts/stage-package.sh).')
param policyPath string = 'policy/policy.yaml'

var tags = {
  'azd-env-name': environmentName
}
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var rgName = empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName

// --- target scopes --------------------------------------------------------------------------------------
// union(x, []) drops duplicates so that a scope listed twice does not race two identical assignments.
var subscriptionTargets = union(
  map(
    filter(map(split(targetSubscriptionIds, ','), s => trim(s)), s => !empty(s)),
    s => toLower(startsWith(toLower(s), '/subscriptions/') ? split(s, '/')[2] : s)
  ),
  []
)
var resourceGroupTargets = union(filter(map(split(targetResourceGroupIds, ','), s => trim(s)), s => !empty(s)), [])
var clusterTargets = union(filter(map(split(targetClusterIds, ','), s => trim(s)), s => !empty(s)), [])

// Discovery scopes, split as src/config.ts splits them: a bare GUID is a subscription, a path is a management
// group. Only the subscriptions are deployed to here (see the header).
var discoveryScopeList = filter(map(split(discoveryScopes, ','), s => trim(s)), s => !empty(s))
var discoverySubscriptions = union(map(filter(discoveryScopeList, s => !startsWith(s, '/')), s => toLower(s)), [])
var discoveryManagementGroups = union(map(filter(discoveryScopeList, s => startsWith(s, '/')), s => last(split(s, '/'))), [])

// Every subscription that holds a target. The role definition is assignable there (assignability alone
// grants nothing; only the assignments below do).
var targetSubscriptions = union(
  subscriptionTargets,
  map(resourceGroupTargets, id => toLower(split(id, '/')[2])),
  map(clusterTargets, id => toLower(split(id, '/')[2]))
)

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: rgName
  location: location
  tags: tags
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'approver-monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceName: 'log-${resourceToken}'
    appInsightsName: 'appi-${resourceToken}'
  }
}

module storage 'modules/storage.bicep' = {
  name: 'approver-storage'
  scope: rg
  params: {
    location: location
    tags: tags
    storageAccountName: 'st${resourceToken}'
    deploymentContainerName: 'app-package-${take(resourceToken, 7)}'
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'approver-key-vault'
  scope: rg
  params: {
    location: location
    tags: tags
    keyVaultName: 'kv-${resourceToken}'
    workspaceId: monitoring.outputs.workspaceId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

// Before the function app: the identity that writes and reads the package, with its grant on the deployment
// container already made when the site is created and, later, when the first `azd deploy` uploads
// (docs/deploy.md, "First deployment"). The site module takes its outputs, so Resource Manager waits for it.
module deploymentIdentity 'modules/deployment-identity.bicep' = {
  name: 'approver-deployment-identity'
  scope: rg
  params: {
    location: location
    tags: tags
    identityName: 'id-deploy-${resourceToken}'
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'approver-function-app'
  scope: rg
  params: {
    location: location
    tags: tags
    planName: 'plan-${resourceToken}'
    functionAppName: 'func-${resourceToken}'
    identityName: 'id-${resourceToken}'
    identityType: identityType
    storageAccountName: storage.outputs.name
    deploymentContainerName: storage.outputs.deploymentContainerName
    deploymentIdentityId: deploymentIdentity.outputs.id
    appInsightsName: monitoring.outputs.appInsightsName
    keyVaultUri: keyVault.outputs.uri
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    settings: {
      entraTenantId: entraTenantId
      entraAudience: entraAudience
      entraAllowedTenants: entraAllowedTenants
      entraAllowedCallers: entraAllowedCallers
      entraRequiredRole: entraRequiredRole
      webhookSecretName: webhookSecretName
      servicenowSecretName: servicenowSecretName
      teamsSecretName: teamsSecretName
      slackSecretName: slackSecretName
      armDeadlineMs: armDeadlineMs
      armMaxRetries: armMaxRetries
      armRetryBaseDelayMs: armRetryBaseDelayMs
      armRetryMaxDelayMs: armRetryMaxDelayMs
      armPollIntervalMs: armPollIntervalMs
      enabledResourceTypes: enabledResourceTypes
      secretCacheTtlSeconds: secretCacheTtlSeconds
      tablePrefix: tablePrefix
      idempotencyTtlHours: idempotencyTtlHours
      claimLeaseSeconds: claimLeaseSeconds
      derivedKeyTtlMinutes: derivedKeyTtlMinutes
      auditSpoolFlushSeconds: auditSpoolFlushSeconds
      retentionSchedule: retentionSchedule
      syncBudgetMs: syncBudgetMs
      asyncMaxAgeHours: asyncMaxAgeHours
      asyncRetryBaseMs: asyncRetryBaseMs
      asyncRetryMaxMs: asyncRetryMaxMs
      servicenowInstanceUrl: servicenowInstanceUrl
      servicenowCredentialsSecretName: servicenowCredentialsSecretName
      servicenowTable: servicenowTable
      slackResponseUrlHosts: slackResponseUrlHosts
      teamsWorkflowUrlSecretName: teamsWorkflowUrlSecretName
      discoveryScopes: discoveryScopes
      discoverySchedule: discoverySchedule
      discoveryRemindAfterHours: discoveryRemindAfterHours
      discoveryScanBudgetSeconds: discoveryScanBudgetSeconds
      discoveryServicenowFields: discoveryServicenowFields
      discoverySlackChannel: discoverySlackChannel
      slackBotTokenSecretName: slackBotTokenSecretName
      slackApiUrl: slackApiUrl
      logLevel: logLevel
      policyPath: policyPath
    }
  }
}

// Data-plane roles on the app's own resources (storage, vault, monitoring).
module appRoles 'modules/app-role-assignments.bicep' = {
  name: 'approver-app-roles'
  scope: rg
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

// --- the one Resource Manager permission: approve/reject private endpoint connections of the enabled types --
// providers.json is generated from src/model/provider-registry.ts (npm run providers); a test keeps it equal.
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

module subscriptionAssignments 'modules/assign-subscription.bicep' = [
  for (subscriptionId, i) in subscriptionTargets: {
    name: 'approver-pec-sub-${i}-${resourceToken}'
    scope: subscription(subscriptionId)
    params: {
      principalId: functionApp.outputs.principalId
      roleDefinitionGuid: approverRole.outputs.roleDefinitionGuid
    }
  }
]

module resourceGroupAssignments 'modules/assign-resource-group.bicep' = [
  for (id, i) in resourceGroupTargets: {
    name: 'approver-pec-rg-${i}-${resourceToken}'
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      principalId: functionApp.outputs.principalId
      roleDefinitionGuid: approverRole.outputs.roleDefinitionGuid
    }
  }
]

module clusterAssignments 'modules/assign-cluster.bicep' = [
  for (id, i) in clusterTargets: {
    name: 'approver-pec-aks-${i}-${resourceToken}'
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      clusterName: split(id, '/')[8]
      principalId: functionApp.outputs.principalId
      roleDefinitionGuid: approverRole.outputs.roleDefinitionGuid
    }
  }
]

// --- discovery: read-only, and only where discoveryScopes points -------------------------------------------
// The Resource Graph query itself, then the reads discovery-actions.json lists for each enabled type. A scan
// that finds a connection decides it through the approver role above, so nothing here writes.
var discoveryReads = loadJsonContent('discovery-actions.json')
var discoveryActions = union(
  ['Microsoft.ResourceGraph/resources/read'],
  flatten(map(enabledTypes, t => discoveryReads[t]))
)

// Not created while no subscription is scanned: an unassigned definition would only be clutter in the tenant.
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

module discoverySubscriptionAssignments 'modules/assign-subscription.bicep' = [
  for (subscriptionId, i) in discoverySubscriptions: {
    name: 'discovery-sub-${i}-${resourceToken}'
    scope: subscription(subscriptionId)
    params: {
      principalId: functionApp.outputs.principalId
      roleDefinitionGuid: discoveryRole!.outputs.roleDefinitionGuid
      assignmentDescription: 'private-link-approver: find Pending private endpoint connections in this subscription (read only).'
    }
  }
]

// Outputs land in .azure/<env>/.env; none is a secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
output APPROVER_PRINCIPAL_ID string = functionApp.outputs.principalId
output APPROVER_CLIENT_ID string = functionApp.outputs.clientId
// For the postprovision hook, which waits until this identity's grant on the container has had time to apply.
output DEPLOYMENT_IDENTITY_PRINCIPAL_ID string = deploymentIdentity.outputs.principalId
output DEPLOYMENT_CONTAINER_ID string = deploymentIdentity.outputs.containerId
output APPROVER_ROLE_DEFINITION_ID string = approverRole.outputs.roleDefinitionId
output APPROVER_ROLE_NAME string = approverRole.outputs.roleName
output APPROVER_ROLE_ASSIGNABLE_SCOPES array = approverRole.outputs.assignableScopes
output APPROVER_TARGET_SCOPES array = concat(
  map(subscriptionTargets, s => '/subscriptions/${s}'),
  resourceGroupTargets,
  clusterTargets
)
// Group names (as `az deployment mg create --management-group-id` takes them) that still need
// infra/discovery-management-group.bicep: this subscription-scope deployment cannot reach them.
output DISCOVERY_MANAGEMENT_GROUPS array = discoveryManagementGroups
output DISCOVERY_ROLE_NAME string = empty(discoverySubscriptions) ? '' : discoveryRole!.outputs.roleName
// Read by the preprovision hook: a subscription not yet listed here makes it create the definitions first.
output DISCOVERY_ROLE_ASSIGNABLE_SCOPES array = empty(discoverySubscriptions)
  ? []
  : map(union([toLower(subscription().subscriptionId)], discoverySubscriptions), s => '/subscriptions/${s}')
