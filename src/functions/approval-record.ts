import { authenticateWebhookOrBearer, webhookOrBearerScheme } from '../auth/authenticate.js';
import { guardReplay } from '../auth/replay-guard.js';
import type { AppDeps } from '../composition-root.js';
import { checkRead } from '../http/envelope.js';
import { failureProblem } from '../http/failure-problem.js';
import { jsonResponse, NOT_STORED, problem, problemResponse } from '../http/problem.js';
import type { RouteHandler, RouteRequest } from '../http/route-types.js';
import { Refusal } from '../model/refusal.js';
import { isUuid } from '../model/uuid.js';

/** `GET /api/approvals/{id}`: the audit record of one request, for callers allowed on the generic route. */
export function approvalRecordRoute(deps: AppDeps): RouteHandler {
  return async (request, context) => {
    const { requestId } = deps.beginRequest('approval-record', context);
    try {
      const record = await readRecord(deps, request);
      if (record === undefined) {
        const detail = `No audit record for request ${request.params.id ?? ''}. Request ids come from the "id" of an answer or its x-request-id header.`;
        const notFound = problemResponse(problem('notFound', requestId, detail), NOT_STORED);
        return { ...notFound, log: { outcome: 'not-found' } };
      }
      return jsonResponse(200, record, requestId, NOT_STORED);
    } catch (error) {
      const failed = failureProblem(error, requestId, webhookOrBearerScheme(deps.auth));
      return { ...problemResponse(failed.problem, failed.headers), log: failed.log };
    }
  };
}

/** The audit record; for work still continuing from the queue, where it stands (attempts, next attempt). */
async function readRecord(deps: AppDeps, request: RouteRequest): Promise<object | undefined> {
  checkRead(request);
  const { marks } = await authenticateWebhookOrBearer(deps.auth, 'generic', request);
  const id = request.params.id ?? '';
  if (!isUuid(id)) {
    throw new Refusal('invalid-request', 'The id in the path must be a request id (a UUID).', {
      errors: [{ pointer: '', message: 'path parameter id is not a UUID' }],
    });
  }
  // A captured signed read is refused too: its signature covers no path, so it must not be reusable.
  await guardReplay(deps.stores.nonces, marks, `read:${id}`);
  const [record, operation, reported] = await Promise.all([
    deps.stores.audit.get(id.toLowerCase()),
    deps.stores.operations.get(id.toLowerCase()),
    deps.stores.audit.get(`${id.toLowerCase()}:reported`),
  ]);
  if (operation === undefined || operation.state === 'done') {
    // Who was told a late outcome, and when, is kept beside the decision's record.
    return record && reported?.reports ? { ...record, reports: reported.reports } : record;
  }
  return {
    requestId: operation.requestId,
    outcome: 'in-progress',
    source: operation.work.source,
    connectionId: operation.work.connectionId,
    acceptedAt: new Date(operation.acceptedAt).toISOString(),
    attemptCount: operation.attemptCount,
    attempts: operation.attempts,
    nextAttemptAt: new Date(operation.nextAttemptAt).toISOString(),
  };
}
