/** The one Resource Manager api-version each resource type is called with. */
export const API_VERSIONS = {
  'Microsoft.ContainerService/managedClusters/privateEndpointConnections': '2025-01-01',
} as const;

export const PRIVATE_ENDPOINT_CONNECTIONS_API_VERSION =
  API_VERSIONS['Microsoft.ContainerService/managedClusters/privateEndpointConnections'];
