import type { ConnectionId, ResourceId } from '../model/resource-id.js';

/**
 * The request URLs: the host is always the configured endpoint, every name is percent-encoded, and the type
 * segments and api-version come from the registry row.
 */
export function connectionUrl(endpoint: string, id: ConnectionId): string {
  return urlOf(endpoint, id, `/privateEndpointConnections/${encodeURIComponent(id.connection)}`);
}

/** The list of a resource's connections (discovery, for types whose own body does not carry them). */
export function connectionsListUrl(endpoint: string, resource: ResourceId): string {
  return urlOf(endpoint, resource, '/privateEndpointConnections');
}

function urlOf(endpoint: string, resource: ResourceId, tail: string): string {
  const e = encodeURIComponent;
  const [namespace = '', ...types] = resource.provider.type.split('/');
  const pairs = types.map((type, i) => `/${type}/${e(resource.names[i] ?? '')}`).join('');
  const path =
    `/subscriptions/${e(resource.subscriptionId)}/resourceGroups/${e(resource.resourceGroup)}` +
    `/providers/${namespace}${pairs}${tail}`;
  const url = new URL(endpoint);
  url.pathname = url.pathname.replace(/\/$/, '') + path;
  url.search = `?api-version=${e(resource.provider.apiVersion)}`;
  return url.toString();
}
