import type { ArmCallContext, ArmClient } from '../arm/arm-client.js';
import type { GraphPage, GraphScopes } from '../arm/resource-graph.js';
import {
  connectionsQuery,
  discoveredConnection,
  queryScopes,
  resourcesQuery,
} from '../arm/resource-graph.js';
import type { Logger } from '../logger.js';
import type { ConnectionState } from '../model/approval.js';
import type { ProviderType } from '../model/provider-registry.js';
import type { ConnectionId } from '../model/resource-id.js';
import { formatResourceId, parseResourceOrConnectionId, tryParseConnectionId } from '../model/resource-id.js';

/**
 * The scan: every private endpoint connection of the enabled types under the scopes, streamed page by page so
 * memory does not grow with the estate. Types whose resource body lists their connections come from one Resource
 * Graph query; the others (AKS) are listed with Resource Graph and then read one resource at a time, a bounded
 * number at once. Resource Graph's quota headers are honoured: with none left, the scan waits for the reset.
 */

export interface ScanDeps {
  arm: ArmClient;
  scopes: GraphScopes;
  types: readonly ProviderType[];
  /** Resources whose connections are read at once (types not listed in their resource body). */
  concurrency: number;
  /** A fresh context per call (its own deadline). */
  context: () => ArmCallContext;
  sleep: (ms: number) => Promise<void>;
  logger: Logger;
}

export interface Found {
  connectionId: ConnectionId;
  state: ConnectionState;
}

export interface ScanStats {
  pages: number;
  resources: number;
  connections: number;
  errors: number;
  /** Time spent waiting for Resource Graph's quota window to reset. */
  throttledMs: number;
}

/** A scan's counters before it has seen anything. */
export const noScanStats = (): ScanStats => ({
  pages: 0,
  resources: 0,
  connections: 0,
  errors: 0,
  throttledMs: 0,
});

export async function* scanConnections(deps: ScanDeps, stats: ScanStats): AsyncGenerator<Found> {
  const inBody = deps.types.filter((t) => t.connectionsInResourceBody).map((t) => t.type);
  const listed = deps.types.filter((t) => !t.connectionsInResourceBody).map((t) => t.type);
  const sets = queryScopes(deps.scopes);
  const once = firstSight(sets.length > 1);
  if (inBody.length > 0) {
    for (const scopes of sets) {
      for await (const rows of pages(deps, connectionsQuery(inBody), scopes, stats, 'connections')) {
        for (const row of rows) {
          const state = discoveredConnection(row);
          const connectionId = tryParseConnectionId(state?.id);
          if (state && connectionId && once(state.id)) {
            stats.connections += 1;
            yield { connectionId, state };
          }
        }
      }
    }
  }
  if (listed.length === 0) return;
  for (const scopes of sets) {
    for await (const rows of pages(deps, resourcesQuery(listed), scopes, stats, 'resources')) {
      const fresh = rows.filter((row) => once(String(row.id)));
      stats.resources += fresh.length;
      yield* readEach(deps, fresh, stats);
    }
  }
}

/**
 * Whether an id is seen for the first time in this scan. Only scopes split over several queries can meet an id
 * twice (a subscription named on its own and under a named management group), so only they keep the ids.
 */
function firstSight(remember: boolean): (id: string) => boolean {
  if (!remember) return () => true;
  const seen = new Set<string>();
  return (id) => {
    const key = id.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
}

/** The connections of a page of resources, read `concurrency` at a time; a resource that fails is counted. */
async function* readEach(
  deps: ScanDeps,
  rows: readonly Record<string, unknown>[],
  stats: ScanStats,
): AsyncGenerator<Found> {
  const resources = rows.flatMap((row) => parseResourceOrConnectionId(row.id)?.resource ?? []);
  for (let i = 0; i < resources.length; i += deps.concurrency) {
    const batch = resources.slice(i, i + deps.concurrency);
    const lists = await Promise.all(
      batch.map((resource) =>
        deps.arm.listConnections(resource, deps.context()).catch((error: unknown) => {
          stats.errors += 1;
          deps.logger.warn('discovery.read-failed', {
            resourceId: formatResourceId(resource),
            error: String(error),
          });
          return [];
        }),
      ),
    );
    for (const state of lists.flat()) {
      const connectionId = tryParseConnectionId(state.id);
      if (!connectionId) continue;
      stats.connections += 1;
      yield { connectionId, state };
    }
  }
}

/** Resource Graph's quota window is 5 s; a longer reset from a header is not waited for beyond this. */
const MAX_QUOTA_WAIT_MS = 60_000;

/**
 * The pages of one query. A query that fails (after the client's retries) ends that query with an error logged
 * and counted, not the scan: what was read so far has been acted on, and the other query still runs. A
 * `$skipToken` seen before would loop for ever: it ends the query the same way.
 */
async function* pages(
  deps: ScanDeps,
  query: string,
  scopes: GraphScopes,
  stats: ScanStats,
  what: 'connections' | 'resources',
): AsyncGenerator<Record<string, unknown>[]> {
  const failed = (error: string): void => {
    stats.errors += 1;
    deps.logger.error('discovery.query-failed', { query: what, scopes: scopeSummary(scopes), error });
  };
  const seen = new Set<string>();
  let skipToken: string | undefined;
  let capped = false;
  do {
    let page: GraphPage<Record<string, unknown>>;
    try {
      page = await deps.arm.queryResources(query, scopes, skipToken, deps.context());
    } catch (error) {
      return failed(String(error));
    }
    stats.pages += 1;
    yield page.rows;
    // Said once per query: the rows keep coming, but only for the subscriptions Resource Graph took.
    if (page.subscriptionsCapped && !capped) {
      capped = true;
      failed(
        'Resource Graph answered for only part of the scope (x-ms-tenant-subscription-limit-hit): name smaller management groups or the subscriptions in DISCOVERY_SCOPES',
      );
    }
    // Before any early end: the next query (this one's next batch of scopes, or the other query) needs quota too.
    if (page.quotaRemaining === 0) await waitForQuota(deps, stats, page.quotaResetsAfterMs);
    if (page.truncated) {
      return failed(
        `Resource Graph cut the result short (resultTruncated) without a $skipToken at page ${stats.pages}; the rest was not read`,
      );
    }
    if (page.skipToken !== undefined && seen.has(page.skipToken)) {
      return failed(
        `Resource Graph returned a $skipToken it had already returned (page ${stats.pages}); the query stops here`,
      );
    }
    skipToken = page.skipToken;
    if (skipToken !== undefined) seen.add(skipToken);
  } while (skipToken !== undefined);
}

/** Scopes for a log line: a batch of up to 1,000 subscriptions is counted, not listed. */
function scopeSummary(scopes: GraphScopes): Record<string, unknown> {
  const { subscriptions, managementGroups } = scopes;
  return {
    subscriptions: subscriptions.length > 10 ? subscriptions.length : subscriptions,
    managementGroups,
  };
}

/** None left in this window: the next query (this one's next page, or the other query) waits for the reset. */
async function waitForQuota(
  deps: ScanDeps,
  stats: ScanStats,
  resetsAfterMs: number | undefined,
): Promise<void> {
  const ms = Math.min(resetsAfterMs ?? 5_000, MAX_QUOTA_WAIT_MS);
  deps.logger.info('discovery.quota-wait', { ms });
  stats.throttledMs += ms;
  await deps.sleep(ms);
}
