import type { PipelineResponse } from '@azure/core-rest-pipeline';
import { parseConnection } from './connection-body.js';
import type { ConnectionState } from '../model/approval.js';

/**
 * Azure Resource Graph (`POST /providers/Microsoft.ResourceGraph/resources`, api-version 2022-10-01): the
 * queries discovery runs, and how their pages are read. The queries are built here, and only here, so the
 * sandbox answers exactly these (it imports them) from its own state.
 */

export const RESOURCE_GRAPH_PATH = '/providers/Microsoft.ResourceGraph/resources';
export const RESOURCE_GRAPH_API_VERSION = '2022-10-01';
/** Rows per page: Resource Graph's maximum. */
export const PAGE_SIZE = 1000;
/** Subscriptions one query may name: Resource Graph refuses more, and asks for batches. */
export const MAX_SUBSCRIPTIONS_PER_QUERY = 1000;

export interface GraphScopes {
  subscriptions: readonly string[];
  managementGroups: readonly string[];
}

/** One row of `connectionsQuery`: a connection as the resource's own body lists it. */
export interface DiscoveredConnection extends ConnectionState {
  /** The parent resource's id. */
  resourceId: string;
}

export interface GraphPage<T> {
  rows: T[];
  skipToken?: string;
  /** Resource Graph cut the result short and gave no `$skipToken` to read the rest (`resultTruncated`). */
  truncated?: boolean;
  /**
   * The scope holds more subscriptions than Resource Graph answers for in one query
   * (`x-ms-tenant-subscription-limit-hit`): the rows cover only some of them.
   */
  subscriptionsCapped?: boolean;
  /** Queries left in the current quota window, and when it resets (ms), from Resource Graph's headers. */
  quotaRemaining?: number;
  quotaResetsAfterMs?: number;
}

const kqlList = (types: readonly string[]): string =>
  types.map((t) => `'${t.toLowerCase().replace(/'/g, '')}'`).join(', ');

/**
 * Resource Graph expands at most 128 array items per row unless told otherwise, and 400 at most: a Private Link
 * Service with more connections than 128 would have the rest silently dropped.
 */
const MV_EXPAND_LIMIT = 400;

/** Connections of the types whose resource body lists them, one row each, with the state discovery needs. */
export function connectionsQuery(types: readonly string[]): string {
  return [
    'resources',
    `| where type in~ (${kqlList(types)})`,
    `| mv-expand connection = properties.privateEndpointConnections limit ${MV_EXPAND_LIMIT}`,
    '| where isnotnull(connection)',
    '| project resourceId = id, id = tostring(connection.id), name = tostring(connection.name),',
    '  status = tostring(connection.properties.privateLinkServiceConnectionState.status),',
    '  description = tostring(connection.properties.privateLinkServiceConnectionState.description),',
    '  provisioningState = tostring(connection.properties.provisioningState),',
    '  privateEndpointId = tostring(connection.properties.privateEndpoint.id)',
    '| order by id asc',
  ].join('\n');
}

/** Resources of the types whose body does not list their connections (AKS): read one by one after. */
export function resourcesQuery(types: readonly string[]): string {
  return ['resources', `| where type in~ (${kqlList(types)})`, '| project id', '| order by id asc'].join(
    '\n',
  );
}

/**
 * The scopes of the separate queries that cover `scopes`: a request names subscriptions or management groups,
 * never both (Resource Graph refuses the mix), and at most MAX_SUBSCRIPTIONS_PER_QUERY subscriptions. An
 * empty scope stays one query over whatever the identity can read.
 */
export function queryScopes(scopes: GraphScopes): GraphScopes[] {
  const { subscriptions, managementGroups } = scopes;
  const mixed = subscriptions.length > 0 && managementGroups.length > 0;
  if (!mixed && subscriptions.length <= MAX_SUBSCRIPTIONS_PER_QUERY) return [scopes];
  const sets: GraphScopes[] = [];
  for (let i = 0; i < subscriptions.length; i += MAX_SUBSCRIPTIONS_PER_QUERY) {
    sets.push({
      subscriptions: subscriptions.slice(i, i + MAX_SUBSCRIPTIONS_PER_QUERY),
      managementGroups: [],
    });
  }
  if (managementGroups.length > 0) sets.push({ subscriptions: [], managementGroups });
  return sets;
}

export function graphRequestBody(query: string, scopes: GraphScopes, skipToken?: string): string {
  return JSON.stringify({
    query,
    ...(scopes.subscriptions.length > 0 ? { subscriptions: scopes.subscriptions } : {}),
    ...(scopes.managementGroups.length > 0 ? { managementGroups: scopes.managementGroups } : {}),
    options: {
      $top: PAGE_SIZE,
      resultFormat: 'objectArray',
      ...(skipToken ? { $skipToken: skipToken } : {}),
    },
  });
}

/** A page of rows; `$skipToken` when there is more. Throws a TypeError on a body that is not one. */
export function graphPage(response: PipelineResponse): GraphPage<Record<string, unknown>> {
  const body = JSON.parse(response.bodyAsText ?? '{}') as {
    data?: unknown;
    $skipToken?: unknown;
    resultTruncated?: unknown;
  };
  if (!Array.isArray(body.data)) throw new TypeError('Resource Graph answered without a data array');
  const rows = body.data.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null);
  const page: GraphPage<Record<string, unknown>> = { rows };
  if (typeof body.$skipToken === 'string' && body.$skipToken !== '') page.skipToken = body.$skipToken;
  if (String(body.resultTruncated).toLowerCase() === 'true' && page.skipToken === undefined)
    page.truncated = true;
  if (response.headers.get('x-ms-tenant-subscription-limit-hit')?.toLowerCase() === 'true')
    page.subscriptionsCapped = true;
  const remaining = Number(response.headers.get('x-ms-user-quota-remaining'));
  if (Number.isFinite(remaining) && response.headers.has('x-ms-user-quota-remaining')) {
    page.quotaRemaining = remaining;
  }
  const resets = /^(\d+):(\d{2}):(\d{2})$/.exec(response.headers.get('x-ms-user-quota-resets-after') ?? '');
  if (resets) {
    page.quotaResetsAfterMs = (Number(resets[1]) * 3600 + Number(resets[2]) * 60 + Number(resets[3])) * 1000;
  }
  return page;
}

/** A `connectionsQuery` row as a connection; undefined for a row that is not one. */
export function discoveredConnection(row: Record<string, unknown>): DiscoveredConnection | undefined {
  const { resourceId, id, name, status, description, provisioningState, privateEndpointId } = row;
  const body = {
    id,
    name,
    properties: {
      privateLinkServiceConnectionState: { status, ...(description ? { description } : {}) },
      ...(provisioningState ? { provisioningState } : {}),
      ...(privateEndpointId ? { privateEndpoint: { id: privateEndpointId } } : {}),
    },
  };
  const connection = parseConnection(JSON.stringify(body));
  if (connection === undefined || typeof resourceId !== 'string') return undefined;
  return { ...connection, resourceId };
}
