/**
 * Private endpoint connection ids: parsed strictly, compared case-insensitively (as ARM does), and turned into
 * URLs only by encoding every segment under the configured endpoint. A connection id is a path, never a URL.
 */

export interface ConnectionId {
  subscriptionId: string;
  resourceGroup: string;
  cluster: string;
  connection: string;
}

export class InvalidResourceIdError extends Error {
  override readonly name = 'InvalidResourceIdError';
}

const LITERALS = [
  'subscriptions',
  'resourceGroups',
  'providers',
  'Microsoft.ContainerService',
  'managedClusters',
  'privateEndpointConnections',
] as const;

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// The spec's `^[-\w\._\(\)]+$` is a .NET pattern, where \w takes Unicode letters and digits.
const RESOURCE_GROUP = /^[-\p{L}\p{Mn}\p{Nd}\p{Pc}.()]+$/u;
const CLUSTER = /^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$/;
// Characters that would change the meaning of a path once it is put into a URL, or hide in logs.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[?#%\\\s\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/u;
const MAX_ID_LENGTH = 1024;
const MAX_CONNECTION_NAME = 260;

export function parseConnectionId(input: unknown): ConnectionId {
  if (typeof input !== 'string' || input.length === 0) {
    throw new InvalidResourceIdError('connectionId must be a non-empty string');
  }
  if (input.length > MAX_ID_LENGTH) {
    throw new InvalidResourceIdError(`connectionId is longer than ${MAX_ID_LENGTH} characters`);
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(input) || input.startsWith('//')) {
    throw new InvalidResourceIdError(
      'connectionId must be a resource id path starting with /subscriptions/, not a URL',
    );
  }
  const bad = FORBIDDEN.exec(input);
  if (bad) {
    throw new InvalidResourceIdError(
      `connectionId contains a forbidden character (${JSON.stringify(bad[0])}); ids may not contain ?, #, %, \\, whitespace or control characters`,
    );
  }
  if (!input.startsWith('/')) {
    throw new InvalidResourceIdError('connectionId must start with /subscriptions/');
  }
  const segments = input.slice(1).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new InvalidResourceIdError('connectionId has an empty, "." or ".." segment');
  }
  const expected =
    '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.ContainerService/managedClusters/{cluster}/privateEndpointConnections/{name}';
  if (segments.length !== 10) {
    throw new InvalidResourceIdError(
      `connectionId has ${segments.length} segments; expected the form ${expected}`,
    );
  }
  const [sub, subscriptionId, rgs, resourceGroup, prov, namespace, type, cluster, child, connection] =
    segments as [string, string, string, string, string, string, string, string, string, string];
  const literals = [sub, rgs, prov, namespace, type, child];
  literals.forEach((actual, i) => {
    const want = LITERALS[i] as string;
    // Resource Manager's own answers spell the type `managedCluster` (see the spec examples), so an id copied
    // from a response is accepted; URLs are always built with the canonical segment.
    const alias = want === 'managedClusters' && actual.toLowerCase() === 'managedcluster';
    if (actual.toLowerCase() !== want.toLowerCase() && !alias) {
      throw new InvalidResourceIdError(
        `connectionId segment "${actual}" should be "${want}"; expected the form ${expected}`,
      );
    }
  });
  if (!UUID.test(subscriptionId)) {
    throw new InvalidResourceIdError(`subscription id "${subscriptionId}" is not a UUID`);
  }
  if (resourceGroup.length > 90 || !RESOURCE_GROUP.test(resourceGroup) || resourceGroup.endsWith('.')) {
    throw new InvalidResourceIdError(
      `resource group "${resourceGroup}" must be 1-90 letters, digits, '-', '_', '.', '(' or ')' and must not end with '.'`,
    );
  }
  if (!CLUSTER.test(cluster)) {
    throw new InvalidResourceIdError(
      `cluster name "${cluster}" must be 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit`,
    );
  }
  if (connection.length > MAX_CONNECTION_NAME) {
    throw new InvalidResourceIdError(`connection name is longer than ${MAX_CONNECTION_NAME} characters`);
  }
  return { subscriptionId, resourceGroup, cluster, connection };
}

/** The id with the canonical spelling of the fixed segments; names keep the caller's casing. */
export function formatConnectionId(id: ConnectionId): string {
  return (
    `/subscriptions/${id.subscriptionId}/resourceGroups/${id.resourceGroup}` +
    `/providers/Microsoft.ContainerService/managedClusters/${id.cluster}` +
    `/privateEndpointConnections/${id.connection}`
  );
}

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
