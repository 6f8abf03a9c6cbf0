import type { ConnectionId } from '../model/resource-id.js';

/** The request URL: the host is always the configured endpoint, and every segment is percent-encoded. */
export function connectionUrl(endpoint: string, id: ConnectionId, apiVersion: string): string {
  const e = encodeURIComponent;
  const path =
    `/subscriptions/${e(id.subscriptionId)}/resourceGroups/${e(id.resourceGroup)}` +
    `/providers/Microsoft.ContainerService/managedClusters/${e(id.cluster)}` +
    `/privateEndpointConnections/${e(id.connection)}`;
  const url = new URL(endpoint);
  url.pathname = url.pathname.replace(/\/$/, '') + path;
  url.search = `?api-version=${e(apiVersion)}`;
  return url.toString();
}
