// The approver itself: a Linux Function App on the Flex Consumption plan (FC1), Node 22, HTTPS only, TLS 1.2,
// FTP and basic (publishing) credentials off. Every connection it makes — host storage, Table Storage, queues,
// Key Vault, Application Insights, Resource Manager — uses its managed identity. The deployment package alone
// goes through a second identity, created and granted before this site (modules/deployment-identity.bicep).
param location string
param tags object
param planName string
param functionAppName string

@description('Name of the user-assigned identity, created only when identityType is UserAssigned.')
param identityName string

@allowed([
  'SystemAssigned'
  'UserAssigned'
])
param identityType string = 'SystemAssigned'

param storageAccountName string
param deploymentContainerName string

@description('Resource id of the user-assigned identity that writes and reads the deployment package (modules/deployment-identity.bicep).')
param deploymentIdentityId string

param appInsightsName string
param keyVaultUri string

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Values for the settings src/config.ts reads; blank means the code default.')
param settings {
  entraTenantId: string
  entraAudience: string
  entraAllowedTenants: string
  entraAllowedCallers: string
  entraRequiredRole: string
  webhookSecretName: string
  servicenowSecretName: string
  teamsSecretName: string
  slackSecretName: string
  armDeadlineMs: string
  armMaxRetries: string
  armRetryBaseDelayMs: string
  armRetryMaxDelayMs: string
  armPollIntervalMs: string
  enabledResourceTypes: string
  secretCacheTtlSeconds: string
  tablePrefix: string
  idempotencyTtlHours: string
  claimLeaseSeconds: string
  derivedKeyTtlMinutes: string
  auditSpoolFlushSeconds: string
  retentionSchedule: string
  syncBudgetMs: string
  asyncMaxAgeHours: string
  asyncRetryBaseMs: string
  asyncRetryMaxMs: string
  servicenowInstanceUrl: string
  servicenowCredentialsSecretName: string
  servicenowTable: string
  slackResponseUrlHosts: string
  teamsWorkflowUrlSecretName: string
  discoveryScopes: string
  discoverySchedule: string
  discoveryRemindAfterHours: string
  discoveryScanBudgetSeconds: string
  discoveryServicenowFields: string
  discoverySlackChannel: string
  slackBotTokenSecretName: string
  slackApiUrl: string
  logLevel: string
  policyPath: string
}

var userAssigned = identityType == 'UserAssigned'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource userIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = if (userAssigned) {
  name: identityName
  location: location
  tags: tags
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

// Read only in the user-assigned branch, where the identity exists; ARM evaluates just the branch taken. The
// `!` tells Bicep so (without it, BCP318 warns that a conditional resource may be null).
var clientId = userAssigned ? userIdentity!.properties.clientId : ''

// Settings present in both identity modes. Flex Consumption rejects FUNCTIONS_WORKER_RUNTIME,
// FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE and friends (runtime and package live in
// functionAppConfig), and AzureWebJobsStorage is never a connection string here: shared keys are disabled.
var baseAppSettings = [
  // Functions host storage and the app's Table Storage, by identity (config.ts reads __tableServiceUri).
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: storage.properties.primaryEndpoints.blob
  }
  {
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: storage.properties.primaryEndpoints.table
  }
  // The work queue: approvals that outlive their request continue from it (queue trigger and our sender).
  {
    name: 'AzureWebJobsStorage__queueServiceUri'
    value: storage.properties.primaryEndpoints.queue
  }
  // Identity-based ingestion; the connection string carries no credential (local auth is disabled).
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: appInsights.properties.ConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: userAssigned ? 'ClientId=${clientId};Authorization=AAD' : 'Authorization=AAD'
  }
  // The host buffers a request body before the app sees it (100 MB by default); the app refuses over 64 KiB with
  // a problem, so the host needs to take little more than that.
  {
    name: 'FUNCTIONS_REQUEST_BODY_SIZE_LIMIT'
    value: '1048576'
  }
  // Resource Manager of the cloud this deploys to (public, sovereign).
  {
    name: 'ARM_ENDPOINT'
    value: environment().resourceManager
  }
  {
    name: 'ARM_SCOPE'
    value: '${environment().resourceManager}.default'
  }
  {
    name: 'ARM_DEADLINE_MS'
    value: settings.armDeadlineMs
  }
  {
    name: 'ARM_MAX_RETRIES'
    value: settings.armMaxRetries
  }
  {
    name: 'ARM_RETRY_BASE_DELAY_MS'
    value: settings.armRetryBaseDelayMs
  }
  {
    name: 'ARM_RETRY_MAX_DELAY_MS'
    value: settings.armRetryMaxDelayMs
  }
  {
    name: 'ARM_POLL_INTERVAL_MS'
    value: settings.armPollIntervalMs
  }
  {
    name: 'ENABLED_RESOURCE_TYPES'
    value: settings.enabledResourceTypes
  }
  {
    name: 'KEY_VAULT_URL'
    value: keyVaultUri
  }
  // Secret *names* only; the values live in Key Vault and are set by the operator.
  {
    name: 'WEBHOOK_SECRET_NAME'
    value: settings.webhookSecretName
  }
  {
    name: 'SERVICENOW_SECRET_NAME'
    value: settings.servicenowSecretName
  }
  {
    name: 'TEAMS_SECRET_NAME'
    value: settings.teamsSecretName
  }
  {
    name: 'SLACK_SECRET_NAME'
    value: settings.slackSecretName
  }
  {
    name: 'SECRET_CACHE_TTL_SECONDS'
    value: settings.secretCacheTtlSeconds
  }
  {
    name: 'ENTRA_TENANT_ID'
    value: settings.entraTenantId
  }
  {
    name: 'ENTRA_AUDIENCE'
    value: settings.entraAudience
  }
  {
    name: 'ENTRA_AUTHORITY_HOST'
    value: environment().authentication.loginEndpoint
  }
  {
    name: 'ENTRA_ALLOWED_TENANTS'
    value: settings.entraAllowedTenants
  }
  {
    name: 'ENTRA_ALLOWED_CALLERS'
    value: settings.entraAllowedCallers
  }
  {
    name: 'ENTRA_REQUIRED_ROLE'
    value: settings.entraRequiredRole
  }
  {
    name: 'TABLE_PREFIX'
    value: settings.tablePrefix
  }
  {
    name: 'IDEMPOTENCY_TTL_HOURS'
    value: settings.idempotencyTtlHours
  }
  {
    name: 'CLAIM_LEASE_SECONDS'
    value: settings.claimLeaseSeconds
  }
  {
    name: 'DERIVED_KEY_TTL_MINUTES'
    value: settings.derivedKeyTtlMinutes
  }
  {
    name: 'AUDIT_SPOOL_FLUSH_SECONDS'
    value: settings.auditSpoolFlushSeconds
  }
  {
    name: 'RETENTION_SCHEDULE'
    value: settings.retentionSchedule
  }
  // Asynchronous completion and where late outcomes are reported (secret names only).
  {
    name: 'SYNC_BUDGET_MS'
    value: settings.syncBudgetMs
  }
  {
    name: 'ASYNC_MAX_AGE_HOURS'
    value: settings.asyncMaxAgeHours
  }
  {
    name: 'ASYNC_RETRY_BASE_MS'
    value: settings.asyncRetryBaseMs
  }
  {
    name: 'ASYNC_RETRY_MAX_MS'
    value: settings.asyncRetryMaxMs
  }
  {
    name: 'SERVICENOW_INSTANCE_URL'
    value: settings.servicenowInstanceUrl
  }
  {
    name: 'SERVICENOW_CREDENTIALS_SECRET_NAME'
    value: settings.servicenowCredentialsSecretName
  }
  {
    name: 'SERVICENOW_TABLE'
    value: settings.servicenowTable
  }
  {
    name: 'SLACK_RESPONSE_URL_HOSTS'
    value: settings.slackResponseUrlHosts
  }
  {
    name: 'TEAMS_WORKFLOW_URL_SECRET_NAME'
    value: settings.teamsWorkflowUrlSecretName
  }
  // Discovery. Blank scopes switch the scan off; the Slack bot token, like every secret, is a name only.
  {
    name: 'DISCOVERY_SCOPES'
    value: settings.discoveryScopes
  }
  {
    name: 'DISCOVERY_SCHEDULE'
    value: settings.discoverySchedule
  }
  {
    name: 'DISCOVERY_REMIND_AFTER_HOURS'
    value: settings.discoveryRemindAfterHours
  }
  {
    name: 'DISCOVERY_SCAN_BUDGET_SECONDS'
    value: settings.discoveryScanBudgetSeconds
  }
  {
    name: 'DISCOVERY_SERVICENOW_FIELDS'
    value: settings.discoveryServicenowFields
  }
  {
    name: 'DISCOVERY_SLACK_CHANNEL'
    value: settings.discoverySlackChannel
  }
  {
    name: 'SLACK_BOT_TOKEN_SECRET_NAME'
    value: settings.slackBotTokenSecretName
  }
  {
    name: 'SLACK_API_URL'
    value: settings.slackApiUrl
  }
  // Shipped inside the package (policy/ is copied by infra/scripts/stage-package.sh).
  {
    name: 'POLICY_PATH'
    value: settings.policyPath
  }
  {
    name: 'LOG_LEVEL'
    value: settings.logLevel
  }
]

// A user-assigned identity has to be named everywhere a system-assigned one is implied.
var userAssignedAppSettings = userAssigned ? [
  {
    name: 'AZURE_CLIENT_ID'
    value: clientId
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: clientId
  }
] : []

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  // azd finds the deployment target through this tag (service `api` in azure.yaml).
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  // The deployment identity is attached in both modes, because the platform can only use an identity the site
  // holds. With the system-assigned identity the app's credential, host storage and telemetry keep using that
  // one: none of them names a client id, and AZURE_CLIENT_ID is set only to the app's own user-assigned identity.
  identity: userAssigned ? {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${userIdentity.id}': {}
      '${deploymentIdentityId}': {}
    }
  } : {
    type: 'SystemAssigned, UserAssigned'
    userAssignedIdentities: {
      '${deploymentIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    publicNetworkAccess: 'Enabled'
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(baseAppSettings, userAssignedAppSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          // Granted on this container before the site was created, so the first deploy is not refused.
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: deploymentIdentityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        // Node 20 reached end of life on 2026-04-30; 22 is what the Flex Consumption templates deploy.
        version: '22'
      }
    }
  }
}

// Publishing with user name/password (FTP and the SCM/Kudu basic auth) is off; azd deploys with Entra.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
output principalId string = userAssigned ? userIdentity!.properties.principalId : functionApp.identity.principalId
output clientId string = clientId
