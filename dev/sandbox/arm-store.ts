import type { ProviderType } from '../../src/model/provider-registry.js';
import { AKS, providerOf } from '../../src/model/provider-registry.js';
import type { SeedDocument } from './seed.js';

/**
 * The sandbox Resource Manager's state: subscriptions → resource groups → resources of any registry type →
 * private endpoint connections. Every lookup is case-insensitive, as in Azure, while the stored names keep the
 * seed's casing. One store per sandbox instance; `load` replaces everything (used by reset).
 */

export interface StoredConnection {
  /** The id as Resource Manager returns it (for AKS with the spec example's `resourcegroups` and `managedCluster`). */
  id: string;
  subscriptionId: string;
  resourceGroupName: string;
  /** The registry type, as the registry spells it. */
  type: string;
  /** The resource's name, then its child's for a nested type. */
  names: string[];
  name: string;
  privateEndpointId: string;
  status: string;
  description?: string;
  provisioningState: string;
  /** Providers with the `etag-in-body` quirk carry one; it changes on every write. */
  etag?: string;
}

export interface ResourceAddress {
  subscriptionId: string;
  resourceGroupName: string;
  provider: ProviderType;
  names: string[];
}

export interface ConnectionAddress extends ResourceAddress {
  connectionName: string;
}

export type Lookup<T> =
  | { found: true; value: T }
  | { found: false; missing: 'subscription' | 'resourceGroup' | 'resource' | 'connection' };

interface ResourceNode {
  address: ResourceAddress;
  connections: Map<string, StoredConnection>;
}
interface GroupNode {
  name: string;
  resources: Map<string, ResourceNode>;
}
interface SubscriptionNode {
  subscriptionId: string;
  groups: Map<string, GroupNode>;
}

/** What a write changes; `provisioningState` only when an operation is under way or ends. */
export interface ConnectionChange {
  status: string;
  description: string | undefined;
  provisioningState?: string;
}

export interface ArmStore {
  load(seed: SeedDocument): void;
  /** Connections of one resource, in seed order. */
  list(address: ResourceAddress): Lookup<StoredConnection[]>;
  get(address: ConnectionAddress): Lookup<StoredConnection>;
  /** Replaces the mutable part of a connection; returns the new state. */
  update(address: ConnectionAddress, change: ConnectionChange): Lookup<StoredConnection>;
  /** Only the provisioning state (a long-running operation starting). */
  mark(address: ConnectionAddress, provisioningState: string): Lookup<StoredConnection>;
  /** The consumer deleted its private endpoint and made another whose connection took the same name: Pending. */
  recreate(address: ConnectionAddress, privateEndpointId: string): Lookup<StoredConnection>;
  all(): StoredConnection[];
  /** Every resource, with its id as Resource Manager spells it (what Resource Graph answers with). */
  resources(): { id: string; type: string; subscriptionId: string; connections: StoredConnection[] }[];
}

const resourceKey = (provider: ProviderType, names: readonly string[]): string =>
  `${provider.type}/${names.join('/')}`.toLowerCase();

/** The id Resource Manager answers with: the type as the provider spells it in answers. */
export function formatConnectionId(c: Omit<StoredConnection, 'id' | 'etag'>): string {
  const provider = providerOf(c.type) ?? AKS;
  const spelled = provider.answerSpellings?.[0] ?? provider.type;
  const [namespace = '', ...types] = spelled.split('/');
  const pairs = types.map((type, i) => `/${type}/${c.names[i] ?? ''}`).join('');
  const groups = provider === AKS ? 'resourcegroups' : 'resourceGroups';
  return (
    `/subscriptions/${c.subscriptionId}/${groups}/${c.resourceGroupName}/providers/${namespace}${pairs}` +
    `/privateEndpointConnections/${c.name}`
  );
}

/** The key used for per-connection counters: the canonical id, lowercased. */
export function connectionKey(address: ConnectionAddress): string {
  const [namespace = '', ...types] = address.provider.type.split('/');
  const pairs = types.map((type, i) => `/${type}/${address.names[i] ?? ''}`).join('');
  return (
    `/subscriptions/${address.subscriptionId}/resourcegroups/${address.resourceGroupName}` +
    `/providers/${namespace}${pairs}/privateendpointconnections/${address.connectionName}`
  ).toLowerCase();
}

/**
 * Parses a path (not a URL; segments are taken literally): `.../providers/{Namespace}/{type}/{name}` pairs up to
 * `privateEndpointConnections[/{connection}]`, of a registry type. Undefined when it is not one.
 */
export function parseResourcePath(
  segments: readonly string[],
): { resource: ResourceAddress; connectionName?: string } | undefined {
  const [subs, subscriptionId = '', groups, resourceGroupName = '', providers, namespace = '', ...rest] =
    segments;
  const eq = (value: string | undefined, want: string): boolean => value?.toLowerCase() === want;
  if (!eq(subs, 'subscriptions') || !eq(groups, 'resourcegroups') || !eq(providers, 'providers'))
    return undefined;
  const at = rest.findIndex((s, i) => i % 2 === 0 && eq(s, 'privateendpointconnections'));
  if (at < 2 || rest.length > at + 2) return undefined;
  const pairs = rest.slice(0, at);
  const type = [namespace, ...pairs.filter((_, i) => i % 2 === 0)].join('/');
  const provider = providerOf(type);
  const names = pairs.filter((_, i) => i % 2 === 1);
  if (provider === undefined || [subscriptionId, resourceGroupName, ...names].some((v) => v === '')) {
    return undefined;
  }
  const resource = { subscriptionId, resourceGroupName, provider, names };
  const connectionName = rest[at + 1];
  if (connectionName === '') return undefined;
  return connectionName === undefined ? { resource } : { resource, connectionName };
}

/** A connection id (a path) as the app sends it; undefined when it is not one of a registry type. */
export function parseConnectionId(id: string): ConnectionAddress | undefined {
  const segments = id.split('/');
  if (segments[0] !== '') return undefined;
  const parsed = parseResourcePath(segments.slice(1));
  if (parsed?.connectionName === undefined) return undefined;
  return { ...parsed.resource, connectionName: parsed.connectionName };
}

const copy = (c: StoredConnection): StoredConnection => ({ ...c, names: [...c.names] });

function buildSubscriptions(doc: SeedDocument): Map<string, SubscriptionNode> {
  const subs = new Map<string, SubscriptionNode>();
  for (const sub of doc.subscriptions) {
    const groups = new Map<string, GroupNode>();
    for (const group of sub.resourceGroups) {
      const resources = new Map<string, ResourceNode>();
      for (const resource of group.resources) {
        const provider = providerOf(resource.type) ?? AKS;
        const connections = new Map<string, StoredConnection>();
        for (const c of resource.privateEndpointConnections) {
          const base = {
            subscriptionId: sub.subscriptionId,
            resourceGroupName: group.name,
            type: provider.type,
            names: [...resource.names],
            name: c.name,
            privateEndpointId: c.privateEndpointId,
            status: c.status,
            provisioningState: c.provisioningState,
            ...(c.description === undefined ? {} : { description: c.description }),
          };
          const etag = provider.quirks.includes('etag-in-body') ? { etag: newEtag() } : {};
          connections.set(c.name.toLowerCase(), { id: formatConnectionId(base), ...base, ...etag });
        }
        const address = {
          subscriptionId: sub.subscriptionId,
          resourceGroupName: group.name,
          provider,
          names: [...resource.names],
        };
        resources.set(resourceKey(provider, resource.names), { address, connections });
      }
      groups.set(group.name.toLowerCase(), { name: group.name, resources });
    }
    subs.set(sub.subscriptionId.toLowerCase(), { subscriptionId: sub.subscriptionId, groups });
  }
  return subs;
}

let etags = 0;
const newEtag = (): string => `W/"${(++etags).toString(16).padStart(8, '0')}"`;

export function createArmStore(seed: SeedDocument): ArmStore {
  let subscriptions = buildSubscriptions(seed);

  const findResource = (address: ResourceAddress): Lookup<ResourceNode> => {
    const sub = subscriptions.get(address.subscriptionId.toLowerCase());
    if (sub === undefined) return { found: false, missing: 'subscription' };
    const group = sub.groups.get(address.resourceGroupName.toLowerCase());
    if (group === undefined) return { found: false, missing: 'resourceGroup' };
    const resource = group.resources.get(resourceKey(address.provider, address.names));
    if (resource === undefined) return { found: false, missing: 'resource' };
    return { found: true, value: resource };
  };

  const findConnection = (address: ConnectionAddress): Lookup<StoredConnection> => {
    const resource = findResource(address);
    if (!resource.found) return resource;
    const connection = resource.value.connections.get(address.connectionName.toLowerCase());
    if (connection === undefined) return { found: false, missing: 'connection' };
    return { found: true, value: connection };
  };

  const change = (address: ConnectionAddress, apply: (c: StoredConnection) => void) => {
    const found = findConnection(address);
    if (!found.found) return found;
    apply(found.value);
    if (found.value.etag !== undefined) found.value.etag = newEtag();
    return { found: true as const, value: copy(found.value) };
  };

  return {
    load(doc) {
      subscriptions = buildSubscriptions(doc);
    },
    list(address) {
      const resource = findResource(address);
      if (!resource.found) return resource;
      return { found: true, value: [...resource.value.connections.values()].map(copy) };
    },
    get(address) {
      const found = findConnection(address);
      return found.found ? { found: true, value: copy(found.value) } : found;
    },
    update: (address, next) =>
      change(address, (stored) => {
        stored.status = next.status;
        if (next.description === undefined) delete stored.description;
        else stored.description = next.description;
        stored.provisioningState = next.provisioningState ?? 'Succeeded';
      }),
    mark: (address, provisioningState) =>
      change(address, (stored) => {
        stored.provisioningState = provisioningState;
      }),
    recreate: (address, privateEndpointId) =>
      change(address, (stored) => {
        stored.privateEndpointId = privateEndpointId;
        stored.status = 'Pending';
        stored.provisioningState = 'Succeeded';
      }),
    resources() {
      const out: { id: string; type: string; subscriptionId: string; connections: StoredConnection[] }[] = [];
      for (const sub of subscriptions.values()) {
        for (const group of sub.groups.values()) {
          for (const resource of group.resources.values()) {
            const { provider, names } = resource.address;
            const [namespace = '', ...types] = provider.type.split('/');
            const pairs = types.map((type, i) => `/${type}/${names[i] ?? ''}`).join('');
            out.push({
              id: `/subscriptions/${sub.subscriptionId}/resourceGroups/${group.name}/providers/${namespace}${pairs}`,
              type: provider.type,
              subscriptionId: sub.subscriptionId,
              connections: [...resource.connections.values()].map(copy),
            });
          }
        }
      }
      return out;
    },
    all() {
      const out: StoredConnection[] = [];
      for (const sub of subscriptions.values()) {
        for (const group of sub.groups.values()) {
          for (const resource of group.resources.values()) {
            for (const c of resource.connections.values()) out.push(copy(c));
          }
        }
      }
      return out;
    },
  };
}
