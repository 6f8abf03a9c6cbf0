import { escapeCharacter, hiddenCharacterIn } from './visible-text.js';

/**
 * Resource ids, parsed strictly in one place: a private endpoint connection id from a caller, the same id as
 * Resource Manager answers it (other casing, `managedCluster`), cluster ids in policy targets, and the consumer's
 * private endpoint id. A connection id is a path, never a URL; names are compared case-insensitively, as ARM does.
 */

export interface ConnectionId {
  subscriptionId: string;
  resourceGroup: string;
  cluster: string;
  connection: string;
}

export interface ClusterId {
  subscriptionId: string;
  resourceGroup: string;
  cluster: string;
}

export interface PrivateEndpointId {
  subscriptionId: string;
  resourceGroup: string;
  privateEndpoint: string;
}

export class InvalidResourceIdError extends Error {
  override readonly name = 'InvalidResourceIdError';
}

export const CONNECTION_ID_FORM =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.ContainerService/managedClusters/{cluster}/privateEndpointConnections/{name}';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// The spec's `^[-\w\._\(\)]+$` is a .NET pattern, where \w takes Unicode letters and digits.
const RESOURCE_GROUP = /^[-\p{L}\p{Mn}\p{Nd}\p{Pc}.()]+$/u;
const CLUSTER = /^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$/;
// Characters that would change the meaning of a path once it is put into a URL.
const URL_SIGNIFICANT = /[?#%\\\s]/u;
const MAX_ID_LENGTH = 1024;
const MAX_CONNECTION_NAME = 260;

/** The id's segments after the checks every resource id gets; throws with what is wrong. */
function segmentsOf(input: unknown, what: string): string[] {
  if (typeof input !== 'string' || input.length === 0) {
    throw new InvalidResourceIdError(`${what} must be a non-empty string`);
  }
  if (input.length > MAX_ID_LENGTH) {
    throw new InvalidResourceIdError(`${what} is longer than ${MAX_ID_LENGTH} characters`);
  }
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(input) || input.startsWith('//')) {
    throw new InvalidResourceIdError(
      `${what} must be a resource id path starting with /subscriptions/, not a URL`,
    );
  }
  const hidden = hiddenCharacterIn(input);
  if (hidden !== undefined) {
    throw new InvalidResourceIdError(
      `${what} contains ${escapeCharacter(hidden)}, an invisible, control, direction-changing or look-alike character; type the id again or copy it from the portal`,
    );
  }
  const bad = URL_SIGNIFICANT.exec(input);
  if (bad) {
    throw new InvalidResourceIdError(
      `${what} contains a forbidden character (${JSON.stringify(bad[0])}); ids may not contain ?, #, %, \\ or whitespace`,
    );
  }
  if (!input.startsWith('/')) throw new InvalidResourceIdError(`${what} must start with /subscriptions/`);
  const segments = input.slice(1).split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new InvalidResourceIdError(`${what} has an empty, "." or ".." segment`);
  }
  return segments;
}

/** Literal segments compared case-insensitively; `managedCluster` is how ARM's own answers spell the type. */
function expectLiterals(actual: readonly string[], wanted: readonly string[], form: string): void {
  wanted.forEach((want, i) => {
    const got = actual[i] ?? '';
    const alias = want === 'managedClusters' && got.toLowerCase() === 'managedcluster';
    if (got.toLowerCase() !== want.toLowerCase() && !alias) {
      throw new InvalidResourceIdError(`segment "${got}" should be "${want}"; expected the form ${form}`);
    }
  });
}

function checkCluster(subscriptionId: string, resourceGroup: string, cluster: string): void {
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
}

const CLUSTER_LITERALS = [
  'subscriptions',
  'resourceGroups',
  'providers',
  'Microsoft.ContainerService',
  'managedClusters',
];

function clusterFrom(segments: readonly string[], form: string): ClusterId {
  const literals = [segments[0], segments[2], segments[4], segments[5], segments[6]].map((s) => s ?? '');
  expectLiterals(literals, CLUSTER_LITERALS, form);
  const [, subscriptionId = '', , resourceGroup = '', , , , cluster = ''] = segments;
  checkCluster(subscriptionId, resourceGroup, cluster);
  return { subscriptionId, resourceGroup, cluster };
}

/** A private endpoint connection id; throws InvalidResourceIdError saying what is wrong. */
export function parseConnectionId(input: unknown): ConnectionId {
  const segments = segmentsOf(input, 'connectionId');
  if (segments.length !== 10) {
    throw new InvalidResourceIdError(
      `connectionId has ${segments.length} segments; expected the form ${CONNECTION_ID_FORM}`,
    );
  }
  const cluster = clusterFrom(segments, CONNECTION_ID_FORM);
  expectLiterals([segments[8] ?? ''], ['privateEndpointConnections'], CONNECTION_ID_FORM);
  const connection = segments[9] ?? '';
  if (connection.length > MAX_CONNECTION_NAME) {
    throw new InvalidResourceIdError(`connection name is longer than ${MAX_CONNECTION_NAME} characters`);
  }
  return { ...cluster, connection };
}

/** As parseConnectionId, for places where "not a connection id" is an answer rather than an error. */
export function tryParseConnectionId(input: unknown): ConnectionId | undefined {
  try {
    return parseConnectionId(input);
  } catch {
    return undefined;
  }
}

/** A cluster id, or a connection id under one (policy targets name either). */
export function parseClusterOrConnectionId(
  input: unknown,
): { cluster: ClusterId; connection?: string } | undefined {
  try {
    const segments = segmentsOf(input, 'id');
    if (segments.length === 8) return { cluster: clusterFrom(segments, CONNECTION_ID_FORM) };
    const { connection, ...cluster } = parseConnectionId(input);
    return { cluster, connection };
  } catch {
    return undefined;
  }
}

/**
 * The consumer's `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/privateEndpoints/{pe}`, as
 * Resource Manager reports it. The subscription is not held to the UUID form: the API examples use `subid2`.
 */
export function parsePrivateEndpointId(input: unknown): PrivateEndpointId | undefined {
  let segments: string[];
  try {
    segments = segmentsOf(input, 'privateEndpointId');
  } catch {
    return undefined;
  }
  const [subs, subscriptionId, groups, resourceGroup, providers, namespace, type, privateEndpoint] = segments;
  const literal = (actual: string | undefined, want: string): boolean => actual?.toLowerCase() === want;
  if (
    segments.length !== 8 ||
    !literal(subs, 'subscriptions') ||
    !literal(groups, 'resourcegroups') ||
    !literal(providers, 'providers') ||
    !literal(namespace, 'microsoft.network') ||
    !literal(type, 'privateendpoints') ||
    subscriptionId === undefined ||
    resourceGroup === undefined ||
    privateEndpoint === undefined
  ) {
    return undefined;
  }
  return { subscriptionId, resourceGroup, privateEndpoint };
}

/** The id with the canonical spelling of the fixed segments; names keep the caller's casing. */
export function formatConnectionId(id: ConnectionId): string {
  return `${formatClusterId(id)}/privateEndpointConnections/${id.connection}`;
}

export function formatClusterId(id: ClusterId): string {
  return `/subscriptions/${id.subscriptionId}/resourceGroups/${id.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${id.cluster}`;
}

/** Case-insensitive equality, as Resource Manager compares ids. */
export function sameConnection(a: ConnectionId, b: ConnectionId): boolean {
  const key = (id: ConnectionId): string => formatConnectionId(id).toLowerCase();
  return key(a) === key(b);
}
