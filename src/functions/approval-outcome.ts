import {
  authenticatePoller,
  authenticateWebhookOrBearer,
  webhookOrBearerScheme,
} from '../auth/authenticate.js';
import { guardReplay } from '../auth/replay-guard.js';
import type { AppDeps } from '../composition-root.js';
import type { LaterDeps } from '../approval/continue-later.js';
import { lookAgainSeconds } from '../approval/continue-later.js';
import { checkRead } from '../http/envelope.js';
import { failureProblem } from '../http/failure-problem.js';
import { locationOf } from '../http/outcome-response.js';
import { jsonResponse, NOT_STORED, problem, problemResponse } from '../http/problem.js';
import type { RouteHandler, RouteRequest, RouteResponse } from '../http/route-types.js';
import type { CallerIdentity } from '../model/approval.js';
import { Refusal } from '../model/refusal.js';
import type { Operation } from '../store/operation-store.js';
import { isUuid } from '../model/uuid.js';

/**
 * `GET /api/approvals/{id}/outcome`: the `Location` of work that continues from the queue. 202 with `Location`
 * and `Retry-After` while it runs; once it ended, exactly the status and body the synchronous answer would have
 * had. Only the caller that started the work may read it, with the same kind of credentials.
 */
export function approvalOutcomeRoute(deps: AppDeps): RouteHandler {
  return async (request, context) => {
    const { requestId } = deps.beginRequest('approval-outcome', context);
    try {
      const operation = await readOperation(deps, request);
      if (operation === undefined) {
        const detail = `No work continues under request ${request.params.id ?? ''} for this caller. Only answers that were 202 Accepted have an outcome to follow; the audit record is at /api/approvals/{id}.`;
        const notFound = problemResponse(problem('notFound', requestId, detail), NOT_STORED);
        return { ...notFound, log: { outcome: 'not-found' } };
      }
      return answerFor(operation, requestId, request.url, deps.now(), deps.continued.later);
    } catch (error) {
      const failed = failureProblem(error, requestId, webhookOrBearerScheme(deps.auth));
      return { ...problemResponse(failed.problem, failed.headers), log: failed.log };
    }
  };
}

async function readOperation(deps: AppDeps, request: RouteRequest): Promise<Operation | undefined> {
  checkRead(request);
  const { caller, marks } = await authenticatePoller(deps.auth, request);
  const id = request.params.id ?? '';
  if (!isUuid(id)) {
    throw new Refusal('invalid-request', 'The id in the path must be a request id (a UUID).', {
      errors: [{ pointer: '', message: 'path parameter id is not a UUID' }],
    });
  }
  // A captured signed poll is refused too: its signature covers no path.
  await guardReplay(deps.stores.nonces, marks, `outcome:${id}`);
  const operation = await deps.stores.operations.get(id.toLowerCase());
  // Someone else's work is as good as none: nothing about it is shown.
  return operation && (await startedBy(deps, request, operation, caller)) ? operation : undefined;
}

const keyOf = (caller: CallerIdentity): string => `${caller.scheme}:${caller.id}`;

/**
 * Whether the poller started the work. The generic and ServiceNow routes may hold the same secret, and the poll
 * was taken as the first route's caller it matched: work started on the other route is then checked against that
 * route's caller too (only here, after a row was found, so no other poll pays for it).
 */
async function startedBy(
  deps: AppDeps,
  request: RouteRequest,
  operation: Operation,
  caller: CallerIdentity,
): Promise<boolean> {
  if (operation.callerKey === keyOf(caller)) return true;
  const other =
    caller.source === 'generic' ? 'servicenow' : caller.source === 'servicenow' ? 'generic' : undefined;
  if (other === undefined) return false;
  const also = await authenticateWebhookOrBearer(deps.auth, other, request).catch((error: unknown) => {
    if (error instanceof Refusal) return undefined;
    throw error;
  });
  return also !== undefined && operation.callerKey === keyOf(also.caller);
}

function answerFor(
  operation: Operation,
  requestId: string,
  url: URL,
  now: number,
  later: Pick<LaterDeps, 'retryBaseMs'>,
): RouteResponse {
  if (operation.state === 'done' && operation.result) {
    const { status, headers, body } = operation.result;
    // The answer is the caller's alone (its credentials read it): no cache keeps it, whatever its status.
    const ended = { ...headers, ...NOT_STORED, 'x-request-id': requestId };
    return { status, headers: ended, body, log: { outcome: 'ended' } };
  }
  const location = locationOf(url, operation.requestId);
  const wait = lookAgainSeconds(later, operation.nextAttemptAt - now);
  const body = {
    id: operation.requestId,
    outcome: 'in-progress',
    location,
    attempts: operation.attempts,
    nextAttemptAt: new Date(operation.nextAttemptAt).toISOString(),
  };
  return {
    ...jsonResponse(202, body, requestId, {
      location,
      'retry-after': String(wait),
      ...NOT_STORED,
    }),
    log: { outcome: 'in-progress' },
  };
}
