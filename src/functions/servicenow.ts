import { handleApproval } from '../approval/handle-approval.js';
import { failureToProblem } from '../approval/failure.js';
import { readConnectionId } from '../approval/respond.js';
import { admitJson } from '../approval/admit-json.js';
import type { AppDeps } from '../composition-root.js';
import type { RequestScope } from '../http/intake.js';
import { jsonResponse, problem, PROBLEM_CONTENT_TYPE, problemResponse } from '../http/problem.js';
import type { Problem } from '../http/problem.js';
import type { RouteHandler, RouteResponse } from '../http/route-types.js';
import type { Handled } from '../approval/handle-approval.js';
import {
  SERVICENOW_CONNECTION_POINTER,
  serviceNowDeliveryKey,
  serviceNowFailureNote,
  serviceNowToApprovalRequest,
  serviceNowWorkNote,
} from '../sources/servicenow.js';

/** `POST /api/approvals/servicenow`: a change request's decision, from a business rule or Flow REST step. */
export function servicenowHandler(deps: AppDeps): RouteHandler {
  const handle = servicenowFlow(deps);
  return async (request) => noteEveryProblem(await handle(request));
}

function servicenowFlow(deps: AppDeps): RouteHandler {
  return async (request) => {
    const scope = deps.beginRequest('servicenow');
    const admitted = await admitJson(
      deps.auth,
      'servicenow',
      request,
      scope,
      deps.validators.servicenow,
      'ServiceNow change',
    );
    if (!admitted.ok) return admitted.response;
    const payload = admitted.value;
    const approval =
      payload.kind === 'change' ? serviceNowToApprovalRequest(payload.change) : payload.request;
    const id = readConnectionId(
      approval.connectionId,
      scope,
      payload.kind === 'change' ? SERVICENOW_CONNECTION_POINTER : '/connectionId',
    );
    if (!id.ok) return withWorkNote(id.problem);

    const idempotencyKey =
      admitted.idempotencyKey ??
      (payload.kind === 'change' ? serviceNowDeliveryKey(payload.change) : admitted.caller.deliveryId);
    try {
      return await handleApproval(deps, {
        source: 'servicenow',
        scope,
        caller: admitted.caller,
        request: approval,
        connectionId: id.id,
        dryRun: admitted.dryRun,
        deadlineMs: deps.config.arm.deadlineMs,
        idempotencyKey,
        marks: admitted.marks,
        render: (handled) => render(handled, scope),
      });
    } catch (error) {
      const { problem: p, headers } = failureToProblem(error, scope.requestId);
      scope.logger.error('request.failed', {
        status: p.status,
        error: error instanceof Error ? error.name : 'unknown',
      });
      return withWorkNote(p, headers);
    }
  };
}

/**
 * Every problem this route answers — refusals before the payload is read included — carries a `work_note`, so
 * the business rule writes one line whatever happened.
 */
function noteEveryProblem(response: RouteResponse): RouteResponse {
  if (response.headers['content-type'] !== PROBLEM_CONTENT_TYPE) return response;
  const p = JSON.parse(response.body) as Problem;
  if (typeof p.work_note === 'string') return response;
  return {
    ...response,
    body: JSON.stringify({ ...p, work_note: serviceNowFailureNote(p.detail, p.instance, p.reasons) }),
  };
}

/** Problems carry a `work_note` too, so the business rule writes one line whatever happened. */
function withWorkNote(p: Problem, headers: Record<string, string> = {}): RouteResponse {
  return problemResponse(
    { ...p, work_note: serviceNowFailureNote(p.detail, p.instance, p.reasons) },
    headers,
  );
}

function render(handled: Handled, scope: RequestScope): RouteResponse {
  if (handled.kind === 'failure') {
    const { problem: p, headers } = failureToProblem(handled.error, scope.requestId);
    return withWorkNote(p, headers);
  }
  const result = handled.result;
  if (result.kind === 'denied') {
    const reasons = result.policy.reasons;
    return withWorkNote(
      problem(
        result.status === 409 ? 'transitionNotAllowed' : 'policyDenied',
        scope.requestId,
        result.status === 409
          ? `The connection ${result.connection ? `is ${result.connection.status} and` : 'is in a state that'} cannot go to the requested state.`
          : 'Policy denies this change.',
        { reasons },
      ),
    );
  }
  return jsonResponse(
    200,
    { ...result.response, work_note: serviceNowWorkNote(result.response) },
    scope.requestId,
  );
}
