/**
 * Every resource type whose private endpoint connections this app can decide, as data: the one reviewed place
 * where a provider's api-version, PUT completion, status vocabulary and quirks are written down, each row citing
 * the file its facts were read from. Code never branches on a type name; it reads a row. docs/providers.md and
 * infra/providers.json are generated from this table (`npm run providers`), and a test keeps them equal to it.
 *
 * Provenance: `verified` rows were read in the provider's own spec in Azure/azure-rest-api-specs (the PUT's
 * responses, long-running flags, headers and body). The others come from Azure/bicep-types-az (generated from
 * those specs): their api-version is a stable one that exists, not necessarily the newest, and their completion
 * is written as `sync` — the client follows any 201/202 with an operation header whatever the row says.
 * AKS stays on 2025-01-01, the version this app's contract and examples are written against (2026-10-01 has the
 * same PUT shape); moving it is a reviewed change of this row.
 *
 * To add a type: add a row (keep the order), run `npm run providers`, run the tests.
 */

/**
 * How the PUT completes, from the spec's `x-ms-long-running-operation(-options)`:
 * - `sync`: the answer carries the connection (200 or 201);
 * - `azure-async-operation` / `location`: long-running; a 201/202 names an operation to poll (the spec's
 *   `final-state-via`, or the one header its 202 declares where it names none);
 * - `accepted`: long-running without a header to poll (a bare 202, or a 200/201 whose spec declares none): the
 *   connection itself is read until its provisioning state settles.
 */
export type Completion = 'sync' | 'azure-async-operation' | 'location' | 'accepted';

/**
 * - `description-required`: the PUT must carry `description` (the app writes one when the caller gave none).
 * - `repeat-answers-400`: writing the status a connection already has is refused with 400; the app reads the
 *   connection back and, when it is in the asked state, answers as if the write had landed.
 * - `etag-in-body`: the connection carries an `etag` property; the app never sends one back.
 * - `decides-pending-only`: only a Pending connection can be approved or rejected (the provider answers 400
 *   otherwise), so the app refuses other transitions itself, before writing.
 * - `provisioning-state-is-status`: the connection's `provisioningState` names its status (`Pending`, `Approved`,
 *   `Rejected`, `Disconnected`) instead of an operation's progress, so a wait on the connection ends when it names
 *   a status other than the one being replaced (the read after it tells whether it is the one asked for).
 */
export type Quirk =
  | 'description-required'
  | 'repeat-answers-400'
  | 'etag-in-body'
  | 'decides-pending-only'
  | 'provisioning-state-is-status';

export interface NameRule {
  what: string;
  /** A regular expression (Unicode mode) the whole name must match. */
  pattern: string;
  /** What the rule says, completing "<what> "<name>" …". */
  rule: string;
}

export interface ProviderType {
  /** `Namespace/resourceType[/childType]`, spelled as the spec's path spells it. */
  type: string;
  apiVersion: string;
  /** Where the facts were read: a path in Azure/azure-rest-api-specs, or `bicep-types-az: <path>`. */
  spec: string;
  /** The PUT's operation was read in the provider's own spec (see the header). */
  verified: boolean;
  completion: Completion;
  /** `privateLinkServiceConnectionState.status` values the spec names, or a free string. */
  statuses: readonly string[] | 'free-string';
  /** `provisioningState` values during which the connection is still changing: wait, do not decide. */
  settling: readonly string[];
  /**
   * The `provisioningState` of a connection no operation is changing, where the spec's example shows one other
   * than `Succeeded` (the single-server databases answer `Ready`): a wait on the connection itself (a bare 202,
   * an answer still settling) ends when it shows.
   */
  restingState?: string;
  /**
   * The `provisioningState` of a Pending connection at rest, where the spec's example shows one other than
   * `restingState` (Container Apps environments answer `Waiting` until a decision).
   */
  pendingState?: string;
  /** The parent resource's own GET lists its connections (discovery reads them there). */
  connectionsInResourceBody: boolean;
  quirks: readonly Quirk[];
  /** RBAC actions beyond the connection's read and write that its long-running PUT needs. */
  extraActions?: readonly string[];
  /** Other spellings of `type` in Resource Manager's own answers (compared case-insensitively). */
  answerSpellings?: readonly string[];
  /** Name rules the spec states per name segment (resource, then child), beyond the generic ones. */
  names?: readonly NameRule[];
}

const AKS_CLUSTER_NAME: NameRule = {
  what: 'cluster name',
  pattern: '^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$',
  rule: "must be 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit",
};

export const PROVIDERS: readonly ProviderType[] = [
  {
    type: 'Microsoft.ContainerService/managedClusters',
    apiVersion: '2025-01-01',
    spec: 'specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2025-01-01/managedClusters.json',
    verified: true,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: false,
    quirks: [],
    answerSpellings: ['Microsoft.ContainerService/managedCluster'],
    names: [AKS_CLUSTER_NAME],
  },
  {
    type: 'Microsoft.Storage/storageAccounts',
    apiVersion: '2026-09-01',
    spec: 'specification/storage/resource-manager/Microsoft.Storage/Storage/stable/2026-09-01/openapi.json',
    verified: true,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: ['repeat-answers-400'],
  },
  {
    type: 'Microsoft.KeyVault/vaults',
    apiVersion: '2026-04-01',
    spec: 'specification/keyvault/resource-manager/Microsoft.KeyVault/KeyVault/stable/2026-04-01/openapi.json',
    verified: true,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Updating', 'Creating', 'Deleting'],
    // PrivateEndpointConnectionProvisioningState: Succeeded | Creating | Updating | Deleting | Failed | Disconnected.
    connectionsInResourceBody: true,
    quirks: ['etag-in-body'],
  },
  {
    type: 'Microsoft.KeyVault/managedHSMs',
    apiVersion: '2026-04-01',
    spec: 'specification/keyvault/resource-manager/Microsoft.KeyVault/KeyVault/stable/2026-04-01/openapi.json',
    verified: true,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Updating', 'Creating', 'Deleting'],
    // PrivateEndpointConnectionProvisioningState: Succeeded | Creating | Updating | Deleting | Failed | Disconnected.
    connectionsInResourceBody: true,
    quirks: ['etag-in-body'],
  },
  {
    type: 'Microsoft.Network/privateLinkServices',
    apiVersion: '2025-05-01',
    spec: 'specification/network/resource-manager/Microsoft.Network/Network/stable/2025-05-01/privateLinkService.json',
    verified: true,
    completion: 'sync',
    statuses: 'free-string',
    settling: ['Updating', 'Deleting'],
    // network.json's ProvisioningState: Succeeded | Updating | Deleting | Failed.
    connectionsInResourceBody: true,
    quirks: ['etag-in-body'],
  },
  {
    type: 'Microsoft.Sql/servers',
    apiVersion: '2025-01-01',
    spec: 'specification/sql/resource-manager/Microsoft.Sql/SQL/stable/2025-01-01/PrivateEndpointConnections.json',
    verified: true,
    // Long-running without a final-state-via: its 202 declares Location alone, which is polled.
    completion: 'location',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Approving', 'Dropping', 'Rejecting'],
    // Its provisioning states are Approving | Dropping | Failed | Ready | Rejecting: a connection at rest is Ready.
    restingState: 'Ready',
    connectionsInResourceBody: true,
    quirks: ['description-required', 'decides-pending-only'],
    extraActions: [
      'Microsoft.Sql/locations/privateEndpointConnectionOperationResults/read',
      'Microsoft.Sql/locations/privateEndpointConnectionAzureAsyncOperation/read',
    ],
  },
  {
    type: 'Microsoft.Sql/managedInstances',
    apiVersion: '2025-01-01',
    spec: 'specification/sql/resource-manager/Microsoft.Sql/SQL/stable/2025-01-01/ManagedInstancePrivateEndpointConnections.json',
    verified: true,
    completion: 'location',
    statuses: 'free-string',
    settling: ['Approving', 'Dropping', 'Rejecting'],
    // Its provisioning state is a free string; the PUT example's answer at rest shows Ready, as the servers' do, so
    // the servers' states in progress are taken as its own.
    restingState: 'Ready',
    connectionsInResourceBody: true,
    quirks: ['description-required', 'decides-pending-only'],
    extraActions: [
      // Microsoft.Sql registers its own operation types for managed instances' connections.
      'Microsoft.Sql/locations/managedInstancePrivateEndpointConnectionOperationResults/read',
      'Microsoft.Sql/locations/managedInstancePrivateEndpointConnectionAzureAsyncOperation/read',
    ],
  },
  {
    type: 'Microsoft.DocumentDB/databaseAccounts',
    apiVersion: '2026-03-15',
    spec: 'specification/cosmos-db/resource-manager/Microsoft.DocumentDB/DocumentDB/stable/2026-03-15/openapi.json',
    verified: true,
    completion: 'location',
    statuses: 'free-string',
    settling: [],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.ContainerRegistry/registries',
    apiVersion: '2025-11-01',
    spec: 'specification/containerregistry/resource-manager/Microsoft.ContainerRegistry/Registry/stable/2025-11-01/containerregistry.json',
    verified: true,
    completion: 'azure-async-operation',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Updating', 'Creating', 'Deleting'],
    // ProvisioningState: Creating | Updating | Deleting | Succeeded | Failed | Canceled.
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Web/sites',
    apiVersion: '2026-03-15',
    spec: 'specification/web/resource-manager/Microsoft.Web/AppService/stable/2026-03-15/openapi.json',
    verified: true,
    completion: 'location',
    statuses: 'free-string',
    settling: [],
    connectionsInResourceBody: false,
    quirks: [],
  },
  {
    type: 'Microsoft.Web/sites/slots',
    apiVersion: '2026-03-15',
    spec: 'specification/web/resource-manager/Microsoft.Web/AppService/stable/2026-03-15/openapi.json',
    verified: true,
    completion: 'location',
    statuses: 'free-string',
    settling: [],
    connectionsInResourceBody: false,
    quirks: [],
  },
  {
    type: 'Microsoft.EventHub/namespaces',
    apiVersion: '2026-01-01',
    spec: 'specification/eventhub/resource-manager/Microsoft.EventHub/Eventhub/stable/2026-01-01/openapi.json',
    verified: true,
    // The PUT is not long-running (only the DELETE is): 200, 201 and 202 each carry the connection.
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    // EndPointProvisioningState: Creating | Updating | Deleting | Succeeded | Canceled | Failed.
    settling: ['Updating', 'Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.ServiceBus/namespaces',
    apiVersion: '2026-01-01',
    spec: 'specification/servicebus/resource-manager/Microsoft.ServiceBus/ServiceBus/stable/2026-01-01/openapi.json',
    verified: true,
    // The PUT is not long-running (only the DELETE is): 200, 201 and 202 each carry the connection.
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    // EndPointProvisioningState: Creating | Updating | Deleting | Succeeded | Canceled | Failed.
    settling: ['Updating', 'Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Cache/redis',
    apiVersion: '2024-11-01',
    spec: 'specification/redis/resource-manager/Microsoft.Cache/Redis/stable/2024-11-01/redis.json',
    verified: true,
    completion: 'location',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    // common-types privatelinks.json's PrivateEndpointConnectionProvisioningState: Succeeded | Creating | Deleting | Failed.
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.CognitiveServices/accounts',
    apiVersion: '2026-07-01',
    spec: 'specification/cognitiveservices/resource-manager/Microsoft.CognitiveServices/CognitiveServices/stable/2026-07-01/cognitiveservices.json',
    verified: true,
    completion: 'location',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: ['etag-in-body'],
  },
  {
    type: 'Microsoft.AppConfiguration/configurationStores',
    apiVersion: '2024-06-01',
    spec: 'specification/appconfiguration/resource-manager/Microsoft.AppConfiguration/AppConfiguration/stable/2024-06-01/appconfiguration.json',
    verified: true,
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Search/searchServices',
    apiVersion: '2025-05-01',
    spec: 'specification/search/resource-manager/Microsoft.Search/stable/2025-05-01/search.json',
    verified: true,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Updating', 'Deleting', 'Incomplete'],
    // Updating | Deleting | Failed | Succeeded | Incomplete (accepted, not yet begun) | Canceled.
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.EventGrid/topics',
    apiVersion: '2025-02-15',
    spec: 'specification/eventgrid/resource-manager/Microsoft.EventGrid/EventGrid/stable/2025-02-15/EventGrid.json',
    verified: true,
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.EventGrid/domains',
    apiVersion: '2025-02-15',
    spec: 'specification/eventgrid/resource-manager/Microsoft.EventGrid/EventGrid/stable/2025-02-15/EventGrid.json',
    verified: true,
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.SignalRService/signalR',
    apiVersion: '2024-03-01',
    spec: 'specification/signalr/resource-manager/Microsoft.SignalRService/SignalRService/stable/2024-03-01/signalr.json',
    verified: true,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting', 'Moving', 'Running', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.DBforPostgreSQL/flexibleServers',
    apiVersion: '2025-08-01',
    spec: 'specification/postgresql/resource-manager/Microsoft.DBforPostgreSQL/PostgreSQL/stable/2025-08-01/openapi.json',
    verified: true,
    completion: 'azure-async-operation',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    // common-types privatelinks.json's PrivateEndpointConnectionProvisioningState: Succeeded | Creating | Deleting | Failed.
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.DBforMySQL/flexibleServers',
    apiVersion: '2024-12-30',
    spec: 'specification/mysql/resource-manager/Microsoft.DBforMySQL/FlexibleServers/stable/2024-12-30/openapi.json',
    verified: true,
    completion: 'azure-async-operation',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    // common-types privatelinks.json's PrivateEndpointConnectionProvisioningState: Succeeded | Creating | Deleting | Failed.
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Synapse/workspaces',
    apiVersion: '2021-06-01',
    spec: 'specification/synapse/resource-manager/Microsoft.Synapse/stable/2021-06-01/privateEndpointConnections.json',
    verified: true,
    completion: 'azure-async-operation',
    statuses: 'free-string',
    settling: [],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.DataFactory/factories',
    apiVersion: '2018-06-01',
    spec: 'specification/datafactory/resource-manager/Microsoft.DataFactory/DataFactory/stable/2018-06-01/openapi.json',
    verified: true,
    completion: 'sync',
    statuses: 'free-string',
    settling: [],
    connectionsInResourceBody: false,
    quirks: ['etag-in-body'],
  },
  {
    type: 'Microsoft.MachineLearningServices/workspaces',
    apiVersion: '2026-05-01',
    spec: 'specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/2026-05-01/openapi.json',
    verified: true,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected', 'Timeout'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Devices/iotHubs',
    apiVersion: '2023-06-30',
    spec: 'specification/iothub/resource-manager/Microsoft.Devices/stable/2023-06-30/iothub.json',
    verified: true,
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: [],
    connectionsInResourceBody: true,
    quirks: ['description-required'],
  },
  {
    type: 'Microsoft.Compute/diskAccesses',
    apiVersion: '2026-03-02',
    spec: 'specification/compute/resource-manager/Microsoft.Compute/Compute/stable/2026-03-02/DiskRP.json',
    verified: true,
    completion: 'location',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.RecoveryServices/vaults',
    apiVersion: '2026-07-01',
    spec: 'specification/recoveryservicesbackup/resource-manager/Microsoft.RecoveryServices/RecoveryServicesBackup/stable/2026-07-01/bms.json',
    verified: true,
    // The spec's PUT example answers 201 with Azure-AsyncOperation (Retry-After: 60). Its examples show
    // provisioning state Pending on a connection at rest too (an Approved one included), so Pending is where a
    // wait on the connection ends, not a settling state. The spec defines no list of connections: the vault's
    // own body carries them.
    completion: 'azure-async-operation',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Deleting'],
    restingState: 'Pending',
    connectionsInResourceBody: true,
    quirks: ['etag-in-body'],
    // Its Azure-AsyncOperation is under the connection (…/privateEndpointConnections/{name}/operationsStatus/{id}).
    extraActions: ['Microsoft.RecoveryServices/vaults/privateEndpointConnections/operationsStatus/read'],
  },
  {
    type: 'Microsoft.Insights/privateLinkScopes',
    apiVersion: '2021-09-01',
    spec: 'specification/monitor/resource-manager/Microsoft.Insights/stable/2021-09-01/privateLinkScopes_API.json',
    verified: true,
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    // common-types privatelinks.json's PrivateEndpointConnectionProvisioningState: Succeeded | Creating | Deleting | Failed.
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Purview/accounts',
    apiVersion: '2021-12-01',
    spec: 'specification/purview/resource-manager/Microsoft.Purview/stable/2021-12-01/purview.json',
    verified: true,
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected', 'Unknown'],
    settling: [],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.ApiManagement/service',
    apiVersion: '2024-05-01',
    spec: 'specification/apimanagement/resource-manager/Microsoft.ApiManagement/ApiManagement/stable/2024-05-01/apimprivatelink.json',
    verified: true,
    completion: 'location',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Kusto/clusters',
    apiVersion: '2025-02-14',
    spec: 'specification/azure-kusto/resource-manager/Microsoft.Kusto/Kusto/stable/2025-02-14/kusto.json',
    verified: true,
    completion: 'location',
    statuses: 'free-string',
    settling: [],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Databricks/workspaces',
    apiVersion: '2026-01-01',
    spec: 'specification/databricks/resource-manager/Microsoft.Databricks/Databricks/stable/2026-01-01/openapi.json',
    verified: true,
    completion: 'location',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Cache/redisEnterprise',
    apiVersion: '2025-07-01',
    spec: 'specification/redisenterprise/resource-manager/Microsoft.Cache/RedisEnterprise/stable/2025-07-01/redisenterprise.json',
    verified: true,
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.SignalRService/webPubSub',
    apiVersion: '2024-03-01',
    spec: 'specification/webpubsub/resource-manager/Microsoft.SignalRService/SignalRService/stable/2024-03-01/webpubsub.json',
    verified: true,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting', 'Moving', 'Running', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.EventGrid/namespaces',
    apiVersion: '2025-02-15',
    spec: 'specification/eventgrid/resource-manager/Microsoft.EventGrid/EventGrid/stable/2025-02-15/EventGrid.json',
    verified: true,
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.EventGrid/partnerNamespaces',
    apiVersion: '2025-02-15',
    spec: 'specification/eventgrid/resource-manager/Microsoft.EventGrid/EventGrid/stable/2025-02-15/EventGrid.json',
    verified: true,
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Relay/namespaces',
    apiVersion: '2026-01-01',
    spec: 'specification/relay/resource-manager/Microsoft.Relay/Relay/stable/2026-01-01/relay.json',
    verified: true,
    // As Event Hubs and Service Bus: the PUT is not long-running, and 200, 201 and 202 each carry the connection.
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Devices/provisioningServices',
    apiVersion: '2022-12-12',
    spec: 'specification/deviceprovisioningservices/resource-manager/Microsoft.Devices/DeviceProvisioningServices/stable/2022-12-12/iotdps.json',
    verified: true,
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: [],
    connectionsInResourceBody: true,
    quirks: ['description-required'],
  },
  {
    type: 'Microsoft.DigitalTwins/digitalTwinsInstances',
    apiVersion: '2023-01-31',
    spec: 'specification/digitaltwins/resource-manager/Microsoft.DigitalTwins/DigitalTwins/stable/2023-01-31/digitaltwins.json',
    verified: true,
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: [],
    connectionsInResourceBody: true,
    // ConnectionProperties.provisioningState is the enum Pending | Approved | Rejected | Disconnected.
    quirks: ['description-required', 'provisioning-state-is-status'],
  },
  {
    type: 'Microsoft.HealthcareApis/services',
    apiVersion: '2024-03-31',
    spec: 'specification/healthcareapis/resource-manager/Microsoft.HealthcareApis/HealthcareApis/stable/2024-03-31/healthcare-apis.json',
    verified: true,
    // Its PUT is long-running (x-ms-long-running-operation) with only a 200 declared and no final-state-via: an
    // answer still changing is followed on the connection itself.
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.HealthcareApis/workspaces',
    apiVersion: '2024-03-31',
    spec: 'specification/healthcareapis/resource-manager/Microsoft.HealthcareApis/HealthcareApis/stable/2024-03-31/healthcare-apis.json',
    verified: true,
    // Its PUT is long-running (x-ms-long-running-operation) with only a 200 declared and no final-state-via: an
    // answer still changing is followed on the connection itself.
    completion: 'accepted',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.HybridCompute/privateLinkScopes',
    apiVersion: '2026-07-15',
    spec: 'bicep-types-az: generated/hybridcompute/microsoft.hybridcompute/2026-07-15/types.md',
    verified: false,
    completion: 'sync',
    statuses: 'free-string',
    settling: [],
    connectionsInResourceBody: true,
    quirks: ['description-required'],
  },
  {
    type: 'Microsoft.Automation/automationAccounts',
    apiVersion: '2024-10-23',
    spec: 'bicep-types-az: generated/automation/microsoft.automation/2024-10-23/types.md',
    verified: false,
    completion: 'sync',
    statuses: 'free-string',
    settling: [],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.BotService/botServices',
    apiVersion: '2022-09-15',
    spec: 'specification/botservice/resource-manager/Microsoft.BotService/BotService/stable/2022-09-15/botservice.json',
    verified: true,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Attestation/attestationProviders',
    apiVersion: '2021-06-01',
    spec: 'bicep-types-az: generated/attestation/microsoft.attestation/2021-06-01/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.StorageSync/storageSyncServices',
    apiVersion: '2025-12-01',
    spec: 'specification/storagesync/resource-manager/Microsoft.StorageSync/StorageSync/stable/2025-12-01/storagesync.json',
    verified: true,
    completion: 'location',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.DesktopVirtualization/hostPools',
    apiVersion: '2025-10-10',
    spec: 'bicep-types-az: generated/desktopvirtualization/microsoft.desktopvirtualization/2025-10-10/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.DesktopVirtualization/workspaces',
    apiVersion: '2025-10-10',
    spec: 'bicep-types-az: generated/desktopvirtualization/microsoft.desktopvirtualization/2025-10-10/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.DeviceUpdate/accounts',
    apiVersion: '2023-07-01',
    spec: 'specification/deviceupdate/resource-manager/Microsoft.DeviceUpdate/stable/2023-07-01/deviceupdate.json',
    verified: true,
    completion: 'azure-async-operation',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Dashboard/grafana',
    apiVersion: '2025-08-01',
    spec: 'bicep-types-az: generated/dashboard_0/microsoft.dashboard/2025-08-01/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.App/managedEnvironments',
    apiVersion: '2026-01-01',
    spec: 'specification/app/resource-manager/Microsoft.App/ContainerApps/stable/2026-01-01/ManagedEnvironments.json',
    verified: true,
    // ManagedEnvironmentPrivateEndpointConnections_CreateOrUpdate: 200/201, x-ms-long-running-operation without
    // options, so Resource Manager's default for a PUT: an Azure-AsyncOperation to poll, then the connection.
    completion: 'azure-async-operation',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    // A Pending connection rests at Waiting (the spec's ManagedEnvironmentPrivateEndpointConnections_Get example,
    // stable/2026-01-01), so Waiting is not settling: a decision on it is what it waits for.
    settling: ['Deleting', 'Updating'],
    pendingState: 'Waiting',
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.ElasticSan/elasticSans',
    apiVersion: '2025-09-01',
    spec: 'bicep-types-az: generated/elasticsan/microsoft.elasticsan/2025-09-01/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Failed'],
    settling: ['Creating', 'Deleting', 'Restoring', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.HDInsight/clusters',
    apiVersion: '2021-06-01',
    spec: 'bicep-types-az: generated/hdinsight/microsoft.hdinsight/2021-06-01/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Removed'],
    settling: ['Deleting', 'InProgress', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.PowerBI/privateLinkServicesForPowerBI',
    apiVersion: '2020-06-01',
    spec: 'bicep-types-az: generated/powerbiprivatelinks/microsoft.powerbi/2020-06-01/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Web/hostingEnvironments',
    apiVersion: '2026-03-15',
    spec: 'specification/web/resource-manager/Microsoft.Web/AppService/stable/2026-03-15/openapi.json',
    verified: true,
    completion: 'location',
    statuses: 'free-string',
    settling: [],
    connectionsInResourceBody: false,
    quirks: [],
  },
  {
    type: 'Microsoft.Web/staticSites',
    apiVersion: '2026-03-15',
    spec: 'specification/web/resource-manager/Microsoft.Web/AppService/stable/2026-03-15/openapi.json',
    verified: true,
    completion: 'location',
    statuses: 'free-string',
    settling: [],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.DocumentDB/mongoClusters',
    apiVersion: '2026-06-01',
    spec: 'bicep-types-az: generated/mongocluster/microsoft.documentdb/2026-06-01/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.NotificationHubs/namespaces',
    apiVersion: '2023-09-01',
    spec: 'bicep-types-az: generated/notificationhubs/microsoft.notificationhubs/2023-09-01/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting', 'DeletingByProxy', 'Updating', 'UpdatingByProxy'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.HealthDataAIServices/deidServices',
    apiVersion: '2024-09-20',
    spec: 'bicep-types-az: generated/healthdataaiservices/microsoft.healthdataaiservices/2024-09-20/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.HardwareSecurityModules/cloudHsmClusters',
    apiVersion: '2025-03-31',
    spec: 'bicep-types-az: generated/hardwaresecuritymodules/microsoft.hardwaresecuritymodules/2025-03-31/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting', 'Updating'],
    connectionsInResourceBody: true,
    quirks: ['etag-in-body'],
  },
  {
    type: 'Microsoft.VideoIndexer/accounts',
    apiVersion: '2025-04-01',
    spec: 'bicep-types-az: generated/vi/microsoft.videoindexer/2025-04-01/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Migrate/assessmentProjects',
    apiVersion: '2024-01-15',
    spec: 'bicep-types-az: generated/migrate_1/microsoft.migrate/2024-01-15/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Migrate/migrateProjects',
    apiVersion: '2023-01-01',
    spec: 'bicep-types-az: generated/migrate_7/microsoft.migrate/2023-01-01/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Accepted', 'InProgress'],
    connectionsInResourceBody: true,
    quirks: ['etag-in-body'],
  },
  {
    type: 'Microsoft.OffAzure/masterSites',
    apiVersion: '2023-06-06',
    spec: 'bicep-types-az: generated/migrate_13/microsoft.offazure/2023-06-06/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Running'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.DataReplication/replicationVaults',
    apiVersion: '2026-05-01',
    spec: 'bicep-types-az: generated/recoveryservicesdatareplication/microsoft.datareplication/2026-05-01/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected', 'Disconnected'],
    settling: ['Creating', 'Deleting', 'Updating'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.DurableTask/schedulers',
    apiVersion: '2026-02-01',
    spec: 'bicep-types-az: generated/durabletask_0/microsoft.durabletask/2026-02-01/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.Security/privateLinks',
    apiVersion: '2026-01-01',
    spec: 'bicep-types-az: generated/security/microsoft.security/2026-01-01/types.md',
    verified: false,
    completion: 'sync',
    statuses: ['Pending', 'Approved', 'Rejected'],
    settling: ['Creating', 'Deleting'],
    connectionsInResourceBody: true,
    quirks: [],
  },
  {
    type: 'Microsoft.DBforPostgreSQL/servers',
    apiVersion: '2018-06-01',
    spec: 'specification/postgresql/resource-manager/Microsoft.DBforPostgreSQL/stable/2018-06-01/PrivateEndpointConnections.json',
    verified: true,
    completion: 'accepted',
    statuses: 'free-string',
    settling: ['Approving', 'Dropping', 'Rejecting'],
    // PrivateEndpointProvisioningState: Approving | Ready | Dropping | Failed | Rejecting.
    restingState: 'Ready',
    connectionsInResourceBody: false,
    quirks: ['description-required'],
  },
  {
    type: 'Microsoft.DBforMySQL/servers',
    apiVersion: '2018-06-01',
    spec: 'specification/mysql/resource-manager/Microsoft.DBforMySQL/legacy/stable/2018-06-01/PrivateEndpointConnections.json',
    verified: true,
    completion: 'accepted',
    statuses: 'free-string',
    settling: ['Approving', 'Dropping', 'Rejecting'],
    // PrivateEndpointProvisioningState: Approving | Ready | Dropping | Failed | Rejecting.
    restingState: 'Ready',
    connectionsInResourceBody: false,
    quirks: ['description-required'],
  },
  {
    type: 'Microsoft.DBforMariaDB/servers',
    apiVersion: '2018-06-01',
    spec: 'specification/mariadb/resource-manager/Microsoft.DBforMariaDB/stable/2018-06-01/PrivateEndpointConnections.json',
    verified: true,
    completion: 'accepted',
    statuses: 'free-string',
    settling: ['Approving', 'Dropping', 'Rejecting'],
    // PrivateEndpointProvisioningState: Approving | Ready | Dropping | Failed | Rejecting.
    restingState: 'Ready',
    connectionsInResourceBody: true,
    quirks: ['description-required'],
  },
];

const BY_TYPE = new Map(
  PROVIDERS.flatMap((p) => [p.type, ...(p.answerSpellings ?? [])].map((t) => [t.toLowerCase(), p] as const)),
);

/** The row for a type, compared case-insensitively (as Resource Manager compares them); undefined if unknown. */
export function providerOf(type: string): ProviderType | undefined {
  return BY_TYPE.get(type.toLowerCase());
}

/**
 * The `provisioningState` a connection of this type shows at rest with `status`: once a change to that status has
 * landed, and as the sandbox seeds it.
 */
export function restingStateOf(provider: ProviderType, status: string): string {
  if (provider.quirks.includes('provisioning-state-is-status')) return status;
  if (provider.pendingState !== undefined && status.toLowerCase() === 'pending') return provider.pendingState;
  return provider.restingState ?? 'Succeeded';
}

/**
 * Whether a connection read while a change from `from` to `asked` is applied shows it at rest: in the row's
 * resting state for `asked`, or, where the provisioning state names the status, in any status but the one being
 * replaced (another decision that landed first ends the wait too; the read after it tells which one landed).
 */
export function restsAt(
  provider: ProviderType,
  provisioningState: string,
  change: { status: string; from?: string | undefined },
): boolean {
  const state = provisioningState.toLowerCase();
  if (provider.quirks.includes('provisioning-state-is-status') && change.from !== undefined) {
    const statuses = provider.statuses === 'free-string' ? [change.status] : provider.statuses;
    return state !== change.from.toLowerCase() && statuses.some((s) => s.toLowerCase() === state);
  }
  return state === restingStateOf(provider, change.status).toLowerCase();
}

/** Whether a connection in `provisioningState` is still changing, by the row's `settling` states. */
export function isSettling(provider: ProviderType, provisioningState: string | undefined): boolean {
  const state = provisioningState?.toLowerCase();
  return state !== undefined && provider.settling.some((s) => s.toLowerCase() === state);
}

/** The connection's read and write, and whatever its long-running PUT needs besides: what the role grants. */
export function actionsOf(provider: ProviderType): string[] {
  const connections = `${provider.type}/privateEndpointConnections`;
  return [`${connections}/read`, `${connections}/write`, ...(provider.extraActions ?? [])];
}

export const AKS = providerOf('Microsoft.ContainerService/managedClusters') as ProviderType;
