import type { NameRule, ProviderType } from './provider-registry.js';
import { PROVIDERS, providerOf } from './provider-registry.js';
import { escapeCharacter, hiddenCharacterIn } from './visible-text.js';

/**
 * Resource ids, parsed strictly in one place: a private endpoint connection id from a caller, the same id as
 * Resource Manager answers it (other casing, `managedCluster`), resource ids in policy targets, and the consumer's
 * private endpoint id. The resource type must be a row of the provider registry. A connection id is a path,
 * never a URL; names are compared case-insensitively, as Resource Manager does.
 */

export interface ConnectionId {
  subscriptionId: string;
  resourceGroup: string;
  /** The registry row of the connection's resource type. */
  provider: ProviderType;
  /** The resource's name, then its child's for a nested type (`[site, slot]`). */
  names: readonly string[];
  connection: string;
}

/** A resource that can have private endpoint connections (policy targets name one, or a connection under it). */
export type ResourceId = Omit<ConnectionId, 'connection'>;

export interface PrivateEndpointId {
  subscriptionId: string;
  resourceGroup: string;
  privateEndpoint: string;
}

export class InvalidResourceIdError extends Error {
  override readonly name: string = 'InvalidResourceIdError';
}

/** A well-formed id of a resource type the registry does not hold. */
export class UnknownResourceTypeError extends InvalidResourceIdError {
  override readonly name = 'UnknownResourceTypeError';
  constructor(readonly type: string) {
    super(
      `resource type "${type}" is not one this app knows how to approve (it knows ${PROVIDERS.length}, listed in docs/providers.md); adding one is a row in src/model/provider-registry.ts`,
    );
  }
}

export const CONNECTION_ID_FORM =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/{Namespace}/{type}/{name}[/{childType}/{childName}]/privateEndpointConnections/{connection}';

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
// The spec's `^[-\w\._\(\)]+$` is a .NET pattern, where \w takes Unicode letters and digits.
const RESOURCE_GROUP = /^[-\p{L}\p{Mn}\p{Nd}\p{Pc}.()]+$/u;
const NAMESPACE = /^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)+$/;
// Characters that would change the meaning of a path once it is put into a URL.
const URL_SIGNIFICANT = /[?#%\\\s]/u;
const MAX_ID_LENGTH = 1024;
const MAX_NAME = 260;
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

function checkScope(subscriptionId: string, resourceGroup: string): void {
  if (!UUID.test(subscriptionId)) {
    throw new InvalidResourceIdError(`subscription id "${subscriptionId}" is not a UUID`);
  }
  if (resourceGroup.length > 90 || !RESOURCE_GROUP.test(resourceGroup) || resourceGroup.endsWith('.')) {
    throw new InvalidResourceIdError(
      `resource group "${resourceGroup}" must be 1-90 letters, digits, '-', '_', '.', '(' or ')' and must not end with '.'`,
    );
  }
}

const patterns = new WeakMap<NameRule, RegExp>();
/** Compiled once per rule: parsing an id is on every request's path. */
function compiled(rule: NameRule): RegExp {
  let pattern = patterns.get(rule);
  if (pattern === undefined) {
    pattern = new RegExp(rule.pattern, 'u');
    patterns.set(rule, pattern);
  }
  return pattern;
}

function checkNames(provider: ProviderType, names: readonly string[]): void {
  names.forEach((name, i) => {
    if (name.length > MAX_NAME) {
      throw new InvalidResourceIdError(`name "${name.slice(0, 40)}…" is longer than ${MAX_NAME} characters`);
    }
    const rule = provider.names?.[i];
    if (rule !== undefined && !compiled(rule).test(name)) {
      throw new InvalidResourceIdError(`${rule.what} "${name}" ${rule.rule}`);
    }
  });
}

const literal = (actual: string | undefined, want: string): boolean =>
  actual?.toLowerCase() === want.toLowerCase();

/**
 * `subscriptions/{s}/resourceGroups/{rg}/providers/{Namespace}` then type/name pairs: the registry row they
 * name, and the names. Throws what is wrong, in the caller's terms.
 */
function resourceFrom(segments: readonly string[]): ResourceId {
  const [subs, subscriptionId = '', groups, resourceGroup = '', providers, namespace = ''] = segments;
  const pairs = segments.slice(6);
  const shaped =
    literal(subs, 'subscriptions') &&
    literal(groups, 'resourceGroups') &&
    literal(providers, 'providers') &&
    pairs.length > 0 &&
    pairs.length % 2 === 0;
  if (!shaped) throw new InvalidResourceIdError(`expected the form ${CONNECTION_ID_FORM}`);
  checkScope(subscriptionId, resourceGroup);
  if (!NAMESPACE.test(namespace)) {
    throw new InvalidResourceIdError(
      `"${namespace}" is not a resource provider namespace (such as Microsoft.Storage)`,
    );
  }
  const names = pairs.filter((_, i) => i % 2 === 1);
  const type = [namespace, ...pairs.filter((_, i) => i % 2 === 0)].join('/');
  const provider = providerOf(type);
  if (provider === undefined) throw new UnknownResourceTypeError(type);
  checkNames(provider, names);
  return { subscriptionId, resourceGroup, provider, names };
}

/** A private endpoint connection id; throws InvalidResourceIdError saying what is wrong. */
export function parseConnectionId(input: unknown): ConnectionId {
  const segments = segmentsOf(input, 'connectionId');
  const connection = segments.at(-1) ?? '';
  if (segments.length < 10 || !literal(segments.at(-2), 'privateEndpointConnections')) {
    throw new InvalidResourceIdError(
      `connectionId must end in /privateEndpointConnections/{name}; expected the form ${CONNECTION_ID_FORM}`,
    );
  }
  if (connection.length > MAX_NAME) {
    throw new InvalidResourceIdError(`connection name is longer than ${MAX_NAME} characters`);
  }
  return { ...resourceFrom(segments.slice(0, -2)), connection };
}

/** As parseConnectionId, for places where "not a connection id" is an answer rather than an error. */
export function tryParseConnectionId(input: unknown): ConnectionId | undefined {
  try {
    return parseConnectionId(input);
  } catch {
    return undefined;
  }
}

/** A resource id, or a connection id under one (policy targets name either). */
export function parseResourceOrConnectionId(
  input: unknown,
): { resource: ResourceId; connection?: string } | undefined {
  try {
    const segments = segmentsOf(input, 'id');
    if (literal(segments.at(-2), 'privateEndpointConnections')) {
      const { connection, ...resource } = parseConnectionId(input);
      return { resource, connection };
    }
    return { resource: resourceFrom(segments) };
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

/** The id with the registry's spelling of the fixed segments; names keep the caller's casing. */
export function formatConnectionId(id: ConnectionId): string {
  return `${formatResourceId(id)}/privateEndpointConnections/${id.connection}`;
}

export function formatResourceId(id: ResourceId): string {
  const [namespace = '', ...types] = id.provider.type.split('/');
  const pairs = types.map((type, i) => `/${type}/${id.names[i] ?? ''}`).join('');
  return `/subscriptions/${id.subscriptionId}/resourceGroups/${id.resourceGroup}/providers/${namespace}${pairs}`;
}

/** The resource's own name (the cluster, the storage account, the site — not a slot). */
export const resourceName = (id: ResourceId): string => id.names[0] ?? '';

/** One spelling per connection: Resource Manager compares ids case-insensitively. */
export function connectionKey(id: ConnectionId): string {
  return formatConnectionId(id).toLowerCase();
}

/** Case-insensitive equality, as Resource Manager compares ids. */
export function sameConnection(a: ConnectionId, b: ConnectionId): boolean {
  return connectionKey(a) === connectionKey(b);
}
