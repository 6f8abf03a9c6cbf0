/**
 * Every Resource Manager operation the ARM client performs, with the RBAC action it needs. The custom role in
 * infra/ grants exactly these actions; a consistency test keeps the two equal.
 */
export const ARM_OPERATIONS = [
  { method: 'GET', action: 'Microsoft.ContainerService/managedClusters/privateEndpointConnections/read' },
  { method: 'PUT', action: 'Microsoft.ContainerService/managedClusters/privateEndpointConnections/write' },
] as const;
