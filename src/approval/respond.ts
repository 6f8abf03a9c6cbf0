import type { ConnectionId } from '../arm/resource-id.js';
import { InvalidResourceIdError, parseConnectionId } from '../arm/resource-id.js';
import type { RequestScope } from '../http/intake.js';
import { jsonResponse, problem, problemResponse } from '../http/problem.js';
import type { Problem } from '../http/problem.js';
import type { RouteResponse } from '../http/route-types.js';
import { failureToProblem } from './failure.js';
import type { ApprovalResult } from './pipeline.js';

export type ParsedId = { ok: true; id: ConnectionId } | { ok: false; problem: Problem };

/** The connection id after the schema: 400 with a pointer at the field, before anything is sent anywhere. */
export function readConnectionId(value: string, scope: RequestScope, pointer = '/connectionId'): ParsedId {
  try {
    return { ok: true, id: parseConnectionId(value) };
  } catch (error) {
    if (!(error instanceof InvalidResourceIdError)) throw error;
    return {
      ok: false,
      problem: problem('invalidResourceId', scope.requestId, `${error.message}.`, {
        errors: [{ pointer, message: error.message }],
      }),
    };
  }
}

/** A pipeline result or failure as the generic JSON answer (DESIGN §2). */
export function approvalResponse(result: ApprovalResult, scope: RequestScope): RouteResponse {
  if (result.kind === 'done') return jsonResponse(200, result.response, scope.requestId);
  const detail =
    result.status === 409
      ? `The connection cannot go from ${result.connection?.status ?? 'its current status'} to the requested state: ${result.policy.reasons.map((r) => r.message).join(' ')}`
      : `Policy denies this request: ${result.policy.reasons.map((r) => r.message).join(' ')}`;
  return problemResponse(
    problem(result.status === 409 ? 'transitionNotAllowed' : 'policyDenied', scope.requestId, detail, {
      reasons: result.policy.reasons,
    }),
  );
}

export function failureResponse(error: unknown, scope: RequestScope): RouteResponse {
  const { problem: p, headers } = failureToProblem(error, scope.requestId);
  const log = p.status >= 500 ? scope.logger.error : scope.logger.warn;
  log('request.failed', {
    status: p.status,
    error: error instanceof Error ? error.name : typeof error,
    message: error instanceof Error ? error.message : undefined,
  });
  return problemResponse(p, headers);
}
