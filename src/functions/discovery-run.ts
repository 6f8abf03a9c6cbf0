import type { Authenticated } from '../auth/authenticate.js';
import { authenticateDiscoveryRunner } from '../auth/authenticate.js';
import type { AppDeps } from '../composition-root.js';
import { checkSize, readQuery } from '../http/envelope.js';
import { failureProblem } from '../http/failure-problem.js';
import { pathWithKey } from '../http/outcome-response.js';
import { jsonResponse, problem, problemResponse } from '../http/problem.js';
import type { RouteHandler, RouteRequest } from '../http/route-types.js';
import { Refusal } from '../model/refusal.js';
import { within } from '../within.js';

/**
 * `POST /api/discovery/run`: a scan now, for an Entra caller holding the app role `Discovery.Run`. It joins a
 * scan already under way in this process. Answered 200 with the scan's counters when it ends within
 * SYNC_BUDGET_MS, else 202 with `Location: /api/discovery` (the scan goes on; its counters land there).
 * With `?dryRun=true`: 200 with what a scan would approve and whom it would ask, nothing written, within
 * SYNC_BUDGET_MS (`complete: false` when the estate takes longer).
 */
export function discoveryRunRoute(deps: AppDeps): RouteHandler {
  return async (request, context) => {
    const { requestId, logger } = deps.beginRequest('discovery-run', context);
    try {
      const { caller, dryRun } = await admit(deps, request);
      const scanner = deps.discovery;
      if (scanner === undefined) {
        const detail =
          'Discovery is off: DISCOVERY_SCOPES names no subscription or management group. Set it and restart.';
        const off = problemResponse(problem('notConfigured', requestId, detail), { 'retry-after': '60' });
        return { ...off, log: { outcome: 'off' } };
      }
      if (dryRun) {
        const deadline = deps.now() + deps.config.async.syncBudgetMs;
        const preview = await scanner.preview(logger.child({ startedBy: caller.id, dryRun }), deadline);
        return {
          ...jsonResponse(200, preview, requestId),
          log: { outcome: 'dry-run', startedBy: caller.id },
        };
      }
      // Every line of the scan names who started it (a joined scan keeps its starter's lines).
      const scan = scanner.run(logger.child({ startedBy: caller.id }));
      const ended = await within(scan, deps.config.async.syncBudgetMs);
      if (ended === undefined) {
        // Failures of the scan go on logging; nothing waits for this promise any more.
        scan.catch(() => undefined);
        return { ...accepted(request, requestId), log: { outcome: 'running', startedBy: caller.id } };
      }
      return { ...jsonResponse(200, ended, requestId), log: { outcome: 'scanned', startedBy: caller.id } };
    } catch (error) {
      const failed = failureProblem(error, requestId);
      return { ...problemResponse(failed.problem, failed.headers), log: failed.log };
    }
  };
}

async function admit(deps: AppDeps, request: RouteRequest): Promise<Authenticated & { dryRun: boolean }> {
  const dryRun = readQuery(request.url, ['dryRun']).dryRun === 'true';
  const authenticated = await authenticateDiscoveryRunner(deps.auth, request);
  checkSize(request);
  if (request.body.byteLength > 0) {
    throw new Refusal('invalid-request', 'POST /api/discovery/run takes no body: send it empty.', {
      errors: [{ pointer: '', message: 'must be empty' }],
    });
  }
  return { ...authenticated, dryRun };
}

function accepted(request: RouteRequest, requestId: string) {
  const location = pathWithKey(request.url, '/api/discovery');
  const body = {
    status: 'running',
    detail: 'The scan goes on; GET /api/discovery shows its counters when it ends.',
  };
  return {
    ...jsonResponse(202, body, requestId, { location, 'retry-after': '30' }),
    log: { outcome: 'running' },
  };
}
