// Assigns the approver role to the app's identity on one existing AKS cluster. Deployed into the cluster's
// resource group; fails if the cluster does not exist, so a typo cannot silently grant nothing.
targetScope = 'resourceGroup'

param clusterName string
param principalId string

@description('Name (GUID) of the approver custom role; resolved in this subscription.')
param roleDefinitionGuid string

resource cluster 'Microsoft.ContainerService/managedClusters@2025-01-01' existing = {
  name: clusterName
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(cluster.id, principalId, roleDefinitionGuid)
  scope: cluster
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
    description: 'private-link-approver: approve/reject private endpoint connections on this cluster.'
  }
}

output scope string = cluster.id
