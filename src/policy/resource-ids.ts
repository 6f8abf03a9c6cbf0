/**
 * Minimal, private parsers for the resource ids policy needs. Resource Manager may answer with other casing
 * (`resourcegroups`, `managedCluster`), so segment names are matched case-insensitively and the singular
 * `managedCluster` seen in the AKS examples is accepted. Values keep their original spelling; comparisons
 * lower-case them.
 */

export interface ClusterParts {
  subscription: string;
  resourceGroup: string;
  cluster: string;
}

export interface ConnectionParts extends ClusterParts {
  connection: string;
}

export interface PrivateEndpointParts {
  subscription: string;
  resourceGroup: string;
  privateEndpoint: string;
}

// Characters that never belong in a resource id path (DESIGN §1): query, fragment, escapes, whitespace, controls.
const FORBIDDEN = /[?#%\\\s\p{Cc}]/u;

function segments(id: unknown): string[] | undefined {
  if (typeof id !== 'string' || id.length > 2048 || !id.startsWith('/') || id.startsWith('//'))
    return undefined;
  if (FORBIDDEN.test(id)) return undefined;
  const parts = id.split('/').slice(1);
  if (parts.some((part) => part === '' || part === '.' || part === '..')) return undefined;
  return parts;
}

const same = (actual: string | undefined, ...expected: string[]): boolean =>
  actual !== undefined && expected.includes(actual.toLowerCase());

function clusterFrom(parts: string[]): ClusterParts | undefined {
  const [subs, subscription, groups, resourceGroup, providers, namespace, type, cluster] = parts;
  if (
    !same(subs, 'subscriptions') ||
    !same(groups, 'resourcegroups') ||
    !same(providers, 'providers') ||
    !same(namespace, 'microsoft.containerservice') ||
    !same(type, 'managedclusters', 'managedcluster') ||
    subscription === undefined ||
    resourceGroup === undefined ||
    cluster === undefined
  ) {
    return undefined;
  }
  return { subscription, resourceGroup, cluster };
}

/** `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{c}/privateEndpointConnections/{n}` */
export function parseConnectionId(id: unknown): ConnectionParts | undefined {
  const parts = segments(id);
  if (parts?.length !== 10) return undefined;
  const cluster = clusterFrom(parts);
  const [kind, connection] = parts.slice(8);
  if (cluster === undefined || !same(kind, 'privateendpointconnections') || connection === undefined) {
    return undefined;
  }
  return { ...cluster, connection };
}

/** A cluster id, or a connection id (then the connection part is returned too). */
export function parseClusterOrConnectionId(
  id: unknown,
): { cluster: ClusterParts; connection?: string } | undefined {
  const parts = segments(id);
  if (parts?.length === 8) {
    const cluster = clusterFrom(parts);
    return cluster === undefined ? undefined : { cluster };
  }
  const connection = parseConnectionId(id);
  if (connection === undefined) return undefined;
  const { connection: name, ...cluster } = connection;
  return { cluster, connection: name };
}

/** `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/privateEndpoints/{pe}` */
export function parsePrivateEndpointId(id: unknown): PrivateEndpointParts | undefined {
  const parts = segments(id);
  if (parts?.length !== 8) return undefined;
  const [subs, subscription, groups, resourceGroup, providers, namespace, type, privateEndpoint] = parts;
  if (
    !same(subs, 'subscriptions') ||
    !same(groups, 'resourcegroups') ||
    !same(providers, 'providers') ||
    !same(namespace, 'microsoft.network') ||
    !same(type, 'privateendpoints') ||
    subscription === undefined ||
    resourceGroup === undefined ||
    privateEndpoint === undefined
  ) {
    return undefined;
  }
  return { subscription, resourceGroup, privateEndpoint };
}

/** Case-insensitive equality of two parsed connections. */
export function sameConnection(a: ConnectionParts, b: ConnectionParts): boolean {
  return (
    a.subscription.toLowerCase() === b.subscription.toLowerCase() &&
    a.resourceGroup.toLowerCase() === b.resourceGroup.toLowerCase() &&
    a.cluster.toLowerCase() === b.cluster.toLowerCase() &&
    a.connection.toLowerCase() === b.connection.toLowerCase()
  );
}

export function formatCluster(parts: ClusterParts): string {
  return `/subscriptions/${parts.subscription}/resourceGroups/${parts.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${parts.cluster}`;
}
