import type { ConnectionId } from '../model/resource-id.js';

/**
 * The request URL: the host is always the configured endpoint, every name is percent-encoded, and the type
 * segments and api-version come from the connection's registry row.
 */
export function connectionUrl(endpoint: string, id: ConnectionId): string {
  const e = encodeURIComponent;
  const [namespace = '', ...types] = id.provider.type.split('/');
  const pairs = types.map((type, i) => `/${type}/${e(id.names[i] ?? '')}`).join('');
  const path =
    `/subscriptions/${e(id.subscriptionId)}/resourceGroups/${e(id.resourceGroup)}` +
    `/providers/${namespace}${pairs}/privateEndpointConnections/${e(id.connection)}`;
  const url = new URL(endpoint);
  url.pathname = url.pathname.replace(/\/$/, '') + path;
  url.search = `?api-version=${e(id.provider.apiVersion)}`;
  return url.toString();
}
