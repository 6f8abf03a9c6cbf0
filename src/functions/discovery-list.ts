import { authenticateWebhookOrBearer, webhookOrBearerScheme } from '../auth/authenticate.js';
import { guardReplay } from '../auth/replay-guard.js';
import type { AppDeps } from '../composition-root.js';
import { checkRead } from '../http/envelope.js';
import { failureProblem } from '../http/failure-problem.js';
import { jsonResponse, NOT_STORED, problemResponse } from '../http/problem.js';
import type { RouteHandler, RouteRequest } from '../http/route-types.js';
import type { Discovered } from '../store/discovery-store.js';

/** Connections listed, newest first: the page an operator reads, not an export. */
const CONNECTIONS_SHOWN = 200;
const SCANS_SHOWN = 10;

/**
 * `GET /api/discovery`, for callers allowed on the generic route: what the last scans saw (pending connections,
 * what was done for each and when) and each scan's counters.
 */
export function discoveryListRoute(deps: AppDeps): RouteHandler {
  return async (request, context) => {
    const { requestId } = deps.beginRequest('discovery-list', context);
    try {
      await admit(deps, request);
      const [connections, scans] = await Promise.all([
        deps.stores.discovery.recent(CONNECTIONS_SHOWN),
        deps.stores.discovery.scans(SCANS_SHOWN),
      ]);
      const body = {
        enabled: deps.discovery !== undefined,
        ...(deps.discovery ? { schedule: deps.discovery.schedule, scopes: deps.discovery.deps.scopes } : {}),
        scans: scans.map((scan) => ({ ...scan, startedAt: iso(scan.startedAt) })),
        connections: connections.map(shown),
      };
      return jsonResponse(200, body, requestId, NOT_STORED);
    } catch (error) {
      const failed = failureProblem(error, requestId, webhookOrBearerScheme(deps.auth));
      return { ...problemResponse(failed.problem, failed.headers), log: failed.log };
    }
  };
}

async function admit(deps: AppDeps, request: RouteRequest): Promise<void> {
  checkRead(request);
  const { marks } = await authenticateWebhookOrBearer(deps.auth, 'generic', request);
  // A captured signed read is refused too: its signature covers no path, so it must not be reusable.
  await guardReplay(deps.stores.nonces, marks, 'read:discovery');
}

const iso = (at: number | undefined): string | undefined =>
  at === undefined ? undefined : new Date(at).toISOString();

function shown(row: Discovered): Record<string, unknown> {
  const {
    etag: _etag,
    busyUntil: _busy,
    expiresAt: _expires,
    firstSeenAt,
    lastSeenAt,
    askedAt,
    remindedAt,
    closedAt,
    ...rest
  } = row;
  return {
    ...rest,
    firstSeenAt: iso(firstSeenAt),
    lastSeenAt: iso(lastSeenAt),
    ...(askedAt === undefined ? {} : { askedAt: iso(askedAt) }),
    ...(remindedAt === undefined ? {} : { remindedAt: iso(remindedAt) }),
    ...(closedAt === undefined ? {} : { closedAt: iso(closedAt) }),
  };
}
