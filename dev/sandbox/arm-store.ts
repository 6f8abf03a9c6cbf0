import type { SeedDocument } from './seed.js';

/**
 * The sandbox Resource Manager's state: subscriptions → resource groups → managed clusters → private endpoint
 * connections. Every lookup is case-insensitive, as in Azure, while the stored names keep the seed's casing.
 * One store per sandbox instance; `load` replaces everything (used by reset).
 */

export interface StoredConnection {
  /** The id as Resource Manager returns it, with the spec example's casing (`resourcegroups`, `managedCluster`). */
  id: string;
  subscriptionId: string;
  resourceGroupName: string;
  clusterName: string;
  name: string;
  privateEndpointId: string;
  status: string;
  description?: string;
  provisioningState: string;
}

export interface ConnectionAddress {
  subscriptionId: string;
  resourceGroupName: string;
  clusterName: string;
  connectionName: string;
}

export type Lookup<T> =
  | { found: true; value: T }
  | { found: false; missing: 'subscription' | 'resourceGroup' | 'cluster' | 'connection' };

interface ClusterNode {
  name: string;
  connections: Map<string, StoredConnection>;
}
interface GroupNode {
  name: string;
  clusters: Map<string, ClusterNode>;
}
interface SubscriptionNode {
  subscriptionId: string;
  groups: Map<string, GroupNode>;
}

export interface ArmStore {
  load(seed: SeedDocument): void;
  /** Connections of one cluster, in seed order. */
  list(address: Omit<ConnectionAddress, 'connectionName'>): Lookup<StoredConnection[]>;
  get(address: ConnectionAddress): Lookup<StoredConnection>;
  /** Replaces the mutable part of a connection; returns the new state. */
  update(
    address: ConnectionAddress,
    change: { status: string; description: string | undefined },
  ): Lookup<StoredConnection>;
  all(): StoredConnection[];
}

export function formatConnectionId(c: Omit<StoredConnection, 'id'> | StoredConnection): string {
  return (
    `/subscriptions/${c.subscriptionId}/resourcegroups/${c.resourceGroupName}` +
    `/providers/Microsoft.ContainerService/managedCluster/${c.clusterName}/privateEndpointConnections/${c.name}`
  );
}

/**
 * The key used for per-connection counters: the canonical id, lowercased. Accepts any casing of the fixed
 * segments and both `managedClusters` and the example's `managedCluster`.
 */
export function connectionKey(address: ConnectionAddress): string {
  return (
    `/subscriptions/${address.subscriptionId}/resourcegroups/${address.resourceGroupName}` +
    `/providers/microsoft.containerservice/managedclusters/${address.clusterName}` +
    `/privateendpointconnections/${address.connectionName}`
  ).toLowerCase();
}

/** Parses a connection id (not a URL; segments are taken literally). Undefined when it is not one. */
export function parseConnectionId(id: string): ConnectionAddress | undefined {
  const s = id.split('/');
  if (s.length !== 11 || s[0] !== '') return undefined;
  const eq = (i: number, ...names: string[]): boolean => names.some((n) => s[i]?.toLowerCase() === n);
  if (
    !eq(1, 'subscriptions') ||
    !eq(3, 'resourcegroups') ||
    !eq(5, 'providers') ||
    !eq(6, 'microsoft.containerservice') ||
    !eq(7, 'managedclusters', 'managedcluster') ||
    !eq(9, 'privateendpointconnections')
  ) {
    return undefined;
  }
  const [, , subscriptionId = '', , resourceGroupName = '', , , , clusterName = '', , connectionName = ''] =
    s;
  if ([subscriptionId, resourceGroupName, clusterName, connectionName].some((v) => v.length === 0))
    return undefined;
  return { subscriptionId, resourceGroupName, clusterName, connectionName };
}

const copy = (c: StoredConnection): StoredConnection => ({ ...c });

export function createArmStore(seed: SeedDocument): ArmStore {
  let subscriptions = new Map<string, SubscriptionNode>();

  const build = (doc: SeedDocument): Map<string, SubscriptionNode> => {
    const subs = new Map<string, SubscriptionNode>();
    for (const sub of doc.subscriptions) {
      const groups = new Map<string, GroupNode>();
      for (const group of sub.resourceGroups) {
        const clusters = new Map<string, ClusterNode>();
        for (const cluster of group.managedClusters) {
          const connections = new Map<string, StoredConnection>();
          for (const c of cluster.privateEndpointConnections) {
            const base = {
              subscriptionId: sub.subscriptionId,
              resourceGroupName: group.name,
              clusterName: cluster.name,
              name: c.name,
              privateEndpointId: c.privateEndpointId,
              status: c.status,
              provisioningState: c.provisioningState,
              ...(c.description === undefined ? {} : { description: c.description }),
            };
            connections.set(c.name.toLowerCase(), { id: formatConnectionId(base), ...base });
          }
          clusters.set(cluster.name.toLowerCase(), { name: cluster.name, connections });
        }
        groups.set(group.name.toLowerCase(), { name: group.name, clusters });
      }
      subs.set(sub.subscriptionId.toLowerCase(), { subscriptionId: sub.subscriptionId, groups });
    }
    return subs;
  };

  const findCluster = (address: Omit<ConnectionAddress, 'connectionName'>): Lookup<ClusterNode> => {
    const sub = subscriptions.get(address.subscriptionId.toLowerCase());
    if (sub === undefined) return { found: false, missing: 'subscription' };
    const group = sub.groups.get(address.resourceGroupName.toLowerCase());
    if (group === undefined) return { found: false, missing: 'resourceGroup' };
    const cluster = group.clusters.get(address.clusterName.toLowerCase());
    if (cluster === undefined) return { found: false, missing: 'cluster' };
    return { found: true, value: cluster };
  };

  const findConnection = (address: ConnectionAddress): Lookup<StoredConnection> => {
    const cluster = findCluster(address);
    if (!cluster.found) return cluster;
    const connection = cluster.value.connections.get(address.connectionName.toLowerCase());
    if (connection === undefined) return { found: false, missing: 'connection' };
    return { found: true, value: connection };
  };

  subscriptions = build(seed);

  return {
    load(doc) {
      subscriptions = build(doc);
    },
    list(address) {
      const cluster = findCluster(address);
      if (!cluster.found) return cluster;
      return { found: true, value: [...cluster.value.connections.values()].map(copy) };
    },
    get(address) {
      const found = findConnection(address);
      return found.found ? { found: true, value: copy(found.value) } : found;
    },
    update(address, change) {
      const found = findConnection(address);
      if (!found.found) return found;
      const stored = found.value;
      stored.status = change.status;
      if (change.description === undefined) delete stored.description;
      else stored.description = change.description;
      stored.provisioningState = 'Succeeded';
      return { found: true, value: copy(stored) };
    },
    all() {
      const out: StoredConnection[] = [];
      for (const sub of subscriptions.values()) {
        for (const group of sub.groups.values()) {
          for (const cluster of group.clusters.values()) {
            for (const c of cluster.connections.values()) out.push(copy(c));
          }
        }
      }
      return out;
    },
  };
}
