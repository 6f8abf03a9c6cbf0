import { readFileSync } from 'node:fs';
import { AKS, PROVIDERS, providerOf, restingStateOf } from '../../src/model/provider-registry.js';
import defaultSeedJson from './seed.json' with { type: 'json' };

/**
 * Seed data for the sandbox Resource Manager.
 *
 * File format (JSON):
 * ```json
 * {
 *   "$comment": "optional free text",
 *   "subscriptions": [
 *     {
 *       "subscriptionId": "00000000-0000-0000-0000-000000000000",
 *       "resourceGroups": [
 *         {
 *           "name": "rg1",
 *           "managedClusters": [
 *             {
 *               "name": "clustername1",
 *               "privateEndpointConnections": [
 *                 {
 *                   "name": "privateendpointconnection1",
 *                   "privateEndpointId": "/subscriptions/.../providers/Microsoft.Network/privateEndpoints/pe2",
 *                   "status": "Pending",
 *                   "description": "optional",
 *                   "provisioningState": "Succeeded"
 *                 }
 *               ]
 *             }
 *           ],
 *           "resources": [
 *             { "type": "Microsoft.Web/sites/slots", "name": "site1/staging", "privateEndpointConnections": [] }
 *           ]
 *         }
 *       ]
 *     }
 *   ]
 * }
 * ```
 * `status` is any non-empty string (the spec's enum is extensible, so unknown values are allowed on purpose);
 * `provisioningState` defaults to `Succeeded`; `description` is optional. Names are unique case-insensitively
 * within their parent, as in Azure. Empty `resourceGroups` / `managedClusters` / `privateEndpointConnections`
 * arrays are allowed (they exercise the different 404 codes). `managedClusters` is the AKS shorthand; `resources`
 * holds any registry type (a nested type's name is `parent/child`). Either may be left out.
 */

export interface SeedConnection {
  name: string;
  privateEndpointId: string;
  status: string;
  description?: string;
  provisioningState: string;
}

export interface SeedCluster {
  name: string;
  privateEndpointConnections: SeedConnection[];
}

/** A resource of any registry type; `names` is the resource's name, then its child's for a nested type. */
export interface SeedResource {
  type: string;
  names: string[];
  privateEndpointConnections: SeedConnection[];
}

export interface SeedResourceGroup {
  name: string;
  resources: SeedResource[];
}

export interface SeedSubscription {
  subscriptionId: string;
  resourceGroups: SeedResourceGroup[];
}

/** The file as written (what `parseSeed` reads): AKS clusters in shorthand, other types as `resources`. */
export interface SeedFile {
  subscriptions: {
    subscriptionId: string;
    resourceGroups: {
      name: string;
      managedClusters?: SeedCluster[];
      resources?: { type: string; name: string; privateEndpointConnections: SeedConnection[] }[];
    }[];
  }[];
}

/** The seed once read: every resource, AKS clusters included, in one list per resource group. */
export interface SeedDocument {
  subscriptions: SeedSubscription[];
}

export class SeedError extends Error {
  override readonly name = 'SeedError';
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new SeedError(`${where} must be a non-empty string`);
  return value;
}

function requireArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new SeedError(`${where} must be an array`);
  return value;
}

function requireObject(value: unknown, where: string, allowed: readonly string[]): Json {
  if (!isRecord(value)) throw new SeedError(`${where} must be an object`);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new SeedError(`${where} has unknown property '${key}'`);
  }
  return value;
}

/** Names are compared case-insensitively in Azure, so duplicates that differ only in case are still duplicates. */
function uniqueBy<T>(items: T[], name: (item: T) => string, where: string): T[] {
  const seen = new Set<string>();
  for (const item of items) {
    const key = name(item).toLowerCase();
    if (seen.has(key)) throw new SeedError(`${where} has a duplicate name '${name(item)}'`);
    seen.add(key);
  }
  return items;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseConnection(value: unknown, where: string): SeedConnection {
  const o = requireObject(value, where, [
    'name',
    'privateEndpointId',
    'status',
    'description',
    'provisioningState',
  ]);
  const connection: SeedConnection = {
    name: requireString(o.name, `${where}.name`),
    privateEndpointId: requireString(o.privateEndpointId, `${where}.privateEndpointId`),
    status: requireString(o.status, `${where}.status`),
    provisioningState:
      o.provisioningState === undefined
        ? 'Succeeded'
        : requireString(o.provisioningState, `${where}.provisioningState`),
  };
  if (o.description !== undefined) {
    if (typeof o.description !== 'string') throw new SeedError(`${where}.description must be a string`);
    connection.description = o.description;
  }
  return connection;
}

function parseCluster(value: unknown, where: string): SeedCluster {
  const o = requireObject(value, where, ['name', 'privateEndpointConnections']);
  const list = requireArray(o.privateEndpointConnections, `${where}.privateEndpointConnections`);
  return {
    name: requireString(o.name, `${where}.name`),
    privateEndpointConnections: uniqueBy(
      list.map((item, i) => parseConnection(item, `${where}.privateEndpointConnections[${i}]`)),
      (c) => c.name,
      `${where}.privateEndpointConnections`,
    ),
  };
}

function parseResource(value: unknown, where: string): SeedResource {
  const o = requireObject(value, where, ['type', 'name', 'privateEndpointConnections']);
  const type = requireString(o.type, `${where}.type`);
  const provider = providerOf(type);
  if (provider === undefined) throw new SeedError(`${where}.type '${type}' is not a registry type`);
  const names = requireString(o.name, `${where}.name`).split('/');
  if (names.length !== provider.type.split('/').length - 1 || names.some((n) => n === '')) {
    throw new SeedError(`${where}.name must have one segment per level of ${provider.type}`);
  }
  const { privateEndpointConnections } = parseCluster(
    { name: names.join('/'), privateEndpointConnections: o.privateEndpointConnections },
    where,
  );
  return { type: provider.type, names, privateEndpointConnections };
}

function parseResourceGroup(value: unknown, where: string): SeedResourceGroup {
  const o = requireObject(value, where, ['name', 'managedClusters', 'resources']);
  const clusters = requireArray(o.managedClusters ?? [], `${where}.managedClusters`).map((item, i) => {
    const cluster = parseCluster(item, `${where}.managedClusters[${i}]`);
    return {
      type: AKS.type,
      names: [cluster.name],
      privateEndpointConnections: cluster.privateEndpointConnections,
    };
  });
  const others = requireArray(o.resources ?? [], `${where}.resources`).map((item, i) =>
    parseResource(item, `${where}.resources[${i}]`),
  );
  return {
    name: requireString(o.name, `${where}.name`),
    resources: uniqueBy([...clusters, ...others], (r) => `${r.type}/${r.names.join('/')}`, `${where}`),
  };
}

function parseSubscription(value: unknown, where: string): SeedSubscription {
  const o = requireObject(value, where, ['subscriptionId', 'resourceGroups']);
  const subscriptionId = requireString(o.subscriptionId, `${where}.subscriptionId`);
  if (!UUID.test(subscriptionId)) throw new SeedError(`${where}.subscriptionId must be a UUID`);
  const list = requireArray(o.resourceGroups, `${where}.resourceGroups`);
  return {
    subscriptionId,
    resourceGroups: uniqueBy(
      list.map((item, i) => parseResourceGroup(item, `${where}.resourceGroups[${i}]`)),
      (g) => g.name,
      `${where}.resourceGroups`,
    ),
  };
}

/** Validates an already-parsed seed document; `source` names it in error messages. */
export function parseSeed(value: unknown, source: string): SeedDocument {
  try {
    const o = requireObject(value, 'seed', ['$comment', 'subscriptions']);
    const list = requireArray(o.subscriptions, 'seed.subscriptions');
    return {
      subscriptions: uniqueBy(
        list.map((item, i) => parseSubscription(item, `seed.subscriptions[${i}]`)),
        (s) => s.subscriptionId,
        'seed.subscriptions',
      ),
    };
  } catch (error) {
    if (error instanceof SeedError) throw new SeedError(`${source}: ${error.message}`);
    throw error;
  }
}

/** Synchronous so `sandbox.reset()` can stay synchronous; the file is small. */
export function loadSeedFile(path: string): SeedDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SeedError(`${path}: cannot read seed file (${(error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (error) {
    throw new SeedError(`${path}: not valid JSON (${(error as Error).message})`);
  }
  return parseSeed(json, path);
}

/**
 * The seed shipped next to this file. It is imported rather than read from disk so the compiled sandbox
 * (dist/dev/sandbox) finds it without a copy step.
 */
export function defaultSeed(): SeedDocument {
  const seed = parseSeed(structuredClone(defaultSeedJson as unknown), 'dev/sandbox/seed.json');
  seed.subscriptions[0]?.resourceGroups.push(exampleResourceGroup(), providersResourceGroup());
  seed.subscriptions.push(discoverySubscription());
  return seed;
}

/**
 * What `npm start` points discovery at (DISCOVERY_SCOPES): a subscription of its own, so the scan leaves the
 * examples alone. A storage account whose Pending connection comes from the platform team's own subscription
 * (policy/examples/sandbox.yaml trusts it: approved by the scan) and an AKS cluster whose Pending connection comes
 * from a subscription no rule trusts (people are asked).
 */
export const DISCOVERY_DEMO_SUBSCRIPTION = '5a2d0c1e-7b3f-4c6a-9d2e-00000000d15c';
export const DISCOVERY_TRUSTED_CONSUMER = '3c3c3c3c-3c3c-4c3c-8c3c-3c3c3c3c3c3c';
export const DISCOVERY_UNKNOWN_CONSUMER = '4d4d4d4d-4d4d-4d4d-8d4d-4d4d4d4d4d4d';

function discoverySubscription(): SeedSubscription {
  const endpoint = (subscription: string, name: string): string =>
    `/subscriptions/${subscription}/resourceGroups/rg-apps/providers/Microsoft.Network/privateEndpoints/${name}`;
  const pending = (name: string, consumer: string, description: string): SeedConnection => ({
    name,
    privateEndpointId: endpoint(consumer, name),
    status: 'Pending',
    description,
    provisioningState: 'Succeeded',
  });
  return {
    subscriptionId: DISCOVERY_DEMO_SUBSCRIPTION,
    resourceGroups: [
      {
        name: 'rg-shared',
        resources: [
          {
            type: 'Microsoft.Storage/storageAccounts',
            names: ['stshareddemo'],
            privateEndpointConnections: [
              pending('pe-build-agents', DISCOVERY_TRUSTED_CONSUMER, 'Build agents of the platform team'),
            ],
          },
          {
            type: AKS.type,
            names: ['aks-shared'],
            privateEndpointConnections: [
              pending('pe-partner-app', DISCOVERY_UNKNOWN_CONSUMER, 'Partner app, ticket to follow'),
            ],
          },
        ],
      },
    ],
  };
}

/** Where `npm start` and `npm run example` point their requests: each example gets a Pending connection of its own. */
export const EXAMPLE_CLUSTER =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-examples/providers/Microsoft.ContainerService/managedClusters/examples';
export const EXAMPLE_CONNECTION_COUNT = 60;

export function exampleConnectionId(index: number): string {
  return `${EXAMPLE_CLUSTER}/privateEndpointConnections/${exampleConnectionName(index)}`;
}

const exampleConnectionName = (index: number): string => `pe-example-${String(index + 1).padStart(2, '0')}`;

function exampleResourceGroup(): SeedResourceGroup {
  const consumer =
    '/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-consumer-a/providers/Microsoft.Network/privateEndpoints';
  return {
    name: 'rg-examples',
    resources: [
      {
        type: AKS.type,
        names: ['examples'],
        privateEndpointConnections: Array.from({ length: EXAMPLE_CONNECTION_COUNT }, (_, i) => ({
          name: exampleConnectionName(i),
          privateEndpointId: `${consumer}/${exampleConnectionName(i)}`,
          status: 'Pending',
          provisioningState: 'Succeeded',
        })),
      },
    ],
  };
}

/** Where each registry type's seeded resource lives: one per type, with connections of every status. */
export const PROVIDERS_RESOURCE_GROUP = 'rg-providers';
export const PROVIDER_CONNECTION_NAMES = [
  'pe-pending',
  'pe-pending-2',
  'pe-approved',
  'pe-rejected',
] as const;
const PROVIDER_STATUSES = ['Pending', 'Pending', 'Approved', 'Rejected'] as const;

/** Resource names valid for every type: lowercase letters and digits, a letter first. */
const providerResourceNames = (type: string): string[] =>
  type
    .split('/')
    .slice(1)
    .map(
      (t, i) =>
        `${t
          .toLowerCase()
          .replace(/[^a-z0-9]/g, '')
          .slice(0, 14)}${i === 0 ? 'x1' : 'y1'}`,
    );

/** The seeded connection `name` (one of PROVIDER_CONNECTION_NAMES) of a registry type. */
export function providerConnectionId(
  type: string,
  name: (typeof PROVIDER_CONNECTION_NAMES)[number] = 'pe-pending',
): string {
  const provider = providerOf(type);
  if (provider === undefined) throw new SeedError(`'${type}' is not a registry type`);
  const [namespace = '', ...types] = provider.type.split('/');
  const names = providerResourceNames(provider.type);
  const pairs = types.map((t, i) => `/${t}/${names[i] ?? ''}`).join('');
  return `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${PROVIDERS_RESOURCE_GROUP}/providers/${namespace}${pairs}/privateEndpointConnections/${name}`;
}

function providersResourceGroup(): SeedResourceGroup {
  const consumer =
    '/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-consumer-b/providers/Microsoft.Network/privateEndpoints';
  return {
    name: PROVIDERS_RESOURCE_GROUP,
    resources: PROVIDERS.map((provider) => ({
      type: provider.type,
      names: providerResourceNames(provider.type),
      privateEndpointConnections: PROVIDER_CONNECTION_NAMES.map((name, i) => ({
        name,
        privateEndpointId: `${consumer}/${providerResourceNames(provider.type).join('-')}-${name}`,
        status: PROVIDER_STATUSES[i] ?? 'Pending',
        provisioningState: restingStateOf(provider, PROVIDER_STATUSES[i] ?? 'Pending'),
      })),
    })),
  };
}
