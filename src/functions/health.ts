import { randomUUID } from 'node:crypto';
import type { AppDeps, AppState } from '../composition-root.js';
import type { DependencyState } from '../dependency-health.js';
import { READ_QUERY, readQuery } from '../http/envelope.js';
import { failureProblem } from '../http/failure-problem.js';
import { jsonResponse, NOT_CONFIGURED_RETRY_SECONDS, NOT_STORED, problemResponse } from '../http/problem.js';
import type { RouteHandler } from '../http/route-types.js';

/**
 * `GET /api/health`: whether configuration and policy loaded (503 when not), and the last known state of each
 * dependency with its age, from the calls the app made anyway: a probe never calls a dependency itself.
 * `degraded` (still 200) while one is failing or audit records wait in the local spool. Names, never values.
 */
export function healthRoute(state: AppState): RouteHandler {
  const poisoned = state.ok ? poisonWatch(state.deps) : async () => undefined;
  return async (request) => {
    const requestId = randomUUID();
    try {
      readQuery(request.url, READ_QUERY);
    } catch (error) {
      const failed = failureProblem(error, requestId);
      return problemResponse(failed.problem, failed.headers);
    }
    const policy = state.ok ? state.deps.policyStatus : undefined;
    const dependencies: Record<string, DependencyState> = state.ok ? state.deps.health.snapshot() : {};
    const pending = state.ok ? state.deps.spool.pending() : 0;
    const poison = await poisoned();
    const degraded =
      Object.values(dependencies).some((d) => d.state === 'degraded') || pending > 0 || (poison ?? 0) > 0;
    const healthy = state.ok && policy?.ok === true;
    const body = {
      status: !healthy ? 'unhealthy' : degraded ? 'degraded' : 'ok',
      checks: {
        config: state.ok ? { ok: true } : { ok: false, problems: state.problems },
        ...(policy ? { policy } : {}),
        ...dependencies,
        ...(state.ok ? { auditSpool: { pending } } : {}),
        ...(poison === undefined ? {} : { poisonQueue: { messages: poison } }),
      },
    };
    // The same Retry-After as the routes' own 503s while the configuration or policy is not loaded.
    const retry: Record<string, string> = healthy
      ? {}
      : { 'retry-after': String(NOT_CONFIGURED_RETRY_SECONDS) };
    return jsonResponse(healthy ? 200 : 503, body, requestId, { ...NOT_STORED, ...retry });
  };
}

/**
 * Messages that failed every delivery wait in the poison queue for an operator. Counted at most once a minute,
 * so probes do not turn into storage calls.
 */
function poisonWatch(deps: AppDeps): () => Promise<number | undefined> {
  let last: { at: number; count: number | undefined } | undefined;
  return async () => {
    const now = deps.now();
    if (last !== undefined && now - last.at < 60_000) return last.count;
    const count = await deps.stores.queue.poisoned().catch(() => undefined);
    last = { at: now, count };
    if (count !== undefined && count > 0)
      deps.logger.error('queue.poisoned', { queue: deps.stores.queue.poisonName, count });
    return count;
  };
}
