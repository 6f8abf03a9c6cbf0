import {
  connectionsQuery,
  MAX_SUBSCRIPTIONS_PER_QUERY,
  PAGE_SIZE,
  resourcesQuery,
} from '../../src/arm/resource-graph.js';
import { providerOf } from '../../src/model/provider-registry.js';
import type { ArmStore, StoredConnection } from './arm-store.js';

/**
 * A Resource Graph stand-in that answers the app's own queries (built by src/arm/resource-graph.ts, imported
 * here) from the sandbox's state, so the scan and the Resource Manager stand-in share one source of truth.
 * Pages of `$top` rows with a `$skipToken`, and the quota headers Resource Graph sends (a window of
 * `quotaPerWindow` queries, reset every `quotaWindowSeconds`). Every subscription is under the management group
 * `sandbox-root`.
 */

export interface GraphSettings {
  quotaPerWindow: number;
  quotaWindowSeconds: number;
  /** A misbehaving Resource Graph: every page after the first names the second page again as the next one. */
  repeatSkipToken: boolean;
  /** A result cut short: the first page says resultTruncated and names no next page. */
  truncate: boolean;
  /**
   * Every page says `x-ms-tenant-subscription-limit-hit: true`, as Resource Graph does when a scope holds more
   * subscriptions than it answers for (its rows then cover only some; here they still cover all).
   */
  subscriptionLimitHit: boolean;
}

export interface GraphAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface ResourceGraphStandIn {
  settings: GraphSettings;
  /**
   * Answers from the state as it is now until `thaw`, as Resource Graph lags behind Resource Manager: a change
   * made meanwhile (a connection approved in the portal) is not seen by queries yet.
   */
  freeze(): void;
  thaw(): void;
  /** Queries answered since the last reset. */
  queries(): number;
  /** Moves its clock on (quota windows): for a caller whose waits are not real time (a test's sleep). */
  advance(ms: number): void;
  answer(body: string, now: number): GraphAnswer;
  reset(): void;
}

const DEFAULTS: GraphSettings = {
  quotaPerWindow: 15,
  quotaWindowSeconds: 5,
  repeatSkipToken: false,
  truncate: false,
  subscriptionLimitHit: false,
};
export const SANDBOX_MANAGEMENT_GROUP = 'sandbox-root';

export function createResourceGraph(store: ArmStore): ResourceGraphStandIn {
  const settings = { ...DEFAULTS };
  let count = 0;
  let window = { startedAt: 0, used: 0 };
  let frozen: ReturnType<ArmStore['resources']> | undefined;
  let skew = 0;
  const resources = () => frozen ?? store.resources();
  return {
    settings,
    queries: () => count,
    advance(ms) {
      skew += ms;
    },
    freeze() {
      frozen = store.resources();
    },
    thaw() {
      frozen = undefined;
    },
    reset() {
      Object.assign(settings, DEFAULTS);
      count = 0;
      window = { startedAt: 0, used: 0 };
      frozen = undefined;
      skew = 0;
    },
    answer(text, realNow) {
      const now = realNow + skew;
      const request = parse(text);
      if (request === undefined) return refusal('the body is not a Resource Graph query request');
      // As Resource Graph: a request names subscriptions or management groups, not both, and at most 1,000
      // subscriptions.
      if (request.subscriptions.length > 0 && request.managementGroups.length > 0)
        return refusal('managementGroups cannot be used at the same time as subscriptions');
      if (request.subscriptions.length > MAX_SUBSCRIPTIONS_PER_QUERY)
        return refusal(`at most ${MAX_SUBSCRIPTIONS_PER_QUERY} subscriptions may be queried at once`);
      const rows = rowsOf(resources(), request);
      if (rows === undefined) return refusal('the sandbox answers only the queries the app builds');
      count += 1;
      if (now - window.startedAt >= settings.quotaWindowSeconds * 1000) window = { startedAt: now, used: 0 };
      const resetIn = Math.max(0, settings.quotaWindowSeconds * 1000 - (now - window.startedAt));
      // As Resource Graph: a query past the caller's quota is refused until the window resets.
      if (window.used >= settings.quotaPerWindow) return throttled(resetIn);
      window.used += 1;
      const offset =
        request.skipToken === undefined ? 0 : Number(Buffer.from(request.skipToken, 'base64url'));
      const page = rows.slice(offset, offset + request.top);
      const following = settings.repeatSkipToken ? request.top : offset + request.top;
      const next = following < rows.length && !settings.truncate ? following : undefined;
      return {
        status: 200,
        body: {
          totalRecords: rows.length,
          count: page.length,
          resultTruncated: settings.truncate && following < rows.length ? 'true' : 'false',
          data: page,
          ...(next === undefined ? {} : { $skipToken: Buffer.from(String(next)).toString('base64url') }),
        },
        headers: {
          'x-ms-user-quota-remaining': String(Math.max(0, settings.quotaPerWindow - window.used)),
          'x-ms-user-quota-resets-after': clock(resetIn),
          ...(settings.subscriptionLimitHit ? { 'x-ms-tenant-subscription-limit-hit': 'true' } : {}),
        },
      };
    },
  };
}

interface GraphRequest {
  query: string;
  subscriptions: string[];
  managementGroups: string[];
  top: number;
  skipToken?: string;
}

function parse(text: string): GraphRequest | undefined {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const options = (body.options ?? {}) as Record<string, unknown>;
    if (typeof body.query !== 'string') return undefined;
    const strings = (v: unknown): string[] =>
      Array.isArray(v) ? v.filter((s) => typeof s === 'string') : [];
    return {
      query: body.query,
      subscriptions: strings(body.subscriptions).map((s) => s.toLowerCase()),
      managementGroups: strings(body.managementGroups).map((s) => s.toLowerCase()),
      top: Math.min(PAGE_SIZE, typeof options.$top === 'number' ? options.$top : 100),
      ...(typeof options.$skipToken === 'string' ? { skipToken: options.$skipToken } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The rows of one of the app's two queries over the request's scopes; undefined for any other query. */
function rowsOf(
  all: ReturnType<ArmStore['resources']>,
  request: GraphRequest,
): Record<string, unknown>[] | undefined {
  const listed = /where type in~ \(([^)]*)\)/.exec(request.query)?.[1] ?? '';
  const types = listed
    .split(',')
    .map((t) => providerOf(t.trim().replace(/'/g, ''))?.type)
    .filter((t): t is string => t !== undefined);
  const wanted = new Set(types.map((t) => t.toLowerCase()));
  const everywhere = request.managementGroups.includes(SANDBOX_MANAGEMENT_GROUP);
  const inScope = all
    .filter((r) => wanted.has(r.type.toLowerCase()))
    .filter((r) => everywhere || request.subscriptions.includes(r.subscriptionId.toLowerCase()));
  const byId = (a: Record<string, unknown>, b: Record<string, unknown>): number =>
    String(a.id).localeCompare(String(b.id));
  if (request.query === connectionsQuery(types)) {
    // `mv-expand … limit 400`, as the query says: a resource's connections past the 400th are not expanded.
    return inScope
      .flatMap((r) => r.connections.slice(0, EXPAND_LIMIT).map((c) => connectionRow(r.id, c)))
      .sort(byId);
  }
  if (request.query === resourcesQuery(types)) return inScope.map((r) => ({ id: r.id })).sort(byId);
  return undefined;
}

function connectionRow(resourceId: string, c: StoredConnection): Record<string, unknown> {
  return {
    resourceId,
    id: c.id,
    name: c.name,
    status: c.status,
    description: c.description ?? '',
    provisioningState: c.provisioningState,
    privateEndpointId: c.privateEndpointId,
  };
}

const EXPAND_LIMIT = 400;

function throttled(resetIn: number): GraphAnswer {
  return {
    status: 429,
    body: {
      error: { code: 'RateLimiting', message: 'sandbox Resource Graph: the quota of this window is used up' },
    },
    headers: {
      'x-ms-user-quota-remaining': '0',
      'x-ms-user-quota-resets-after': clock(resetIn),
      'retry-after': String(Math.max(1, Math.ceil(resetIn / 1000))),
    },
  };
}

function refusal(message: string): GraphAnswer {
  return {
    status: 400,
    body: { error: { code: 'BadRequest', message: `sandbox Resource Graph: ${message}` } },
  };
}

function clock(ms: number): string {
  const s = Math.ceil(ms / 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}
