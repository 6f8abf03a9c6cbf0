import { handleApproval } from '../approval/handle-approval.js';
import { approvalResponse, failureResponse, readConnectionId } from '../approval/respond.js';
import { admitJson } from '../approval/admit-json.js';
import type { AppDeps } from '../composition-root.js';
import { problemResponse } from '../http/problem.js';
import type { RouteHandler } from '../http/route-types.js';

/** `POST /api/approvals`: the canonical request from Logic Apps, bots and scripts. */
export function approvalsHandler(deps: AppDeps): RouteHandler {
  return async (request) => {
    const scope = deps.beginRequest('approvals');
    const admitted = await admitJson(
      deps.auth,
      'generic',
      request,
      scope,
      deps.validators.approvalRequest,
      'ApprovalRequest',
    );
    if (!admitted.ok) return admitted.response;
    const id = readConnectionId(admitted.value.connectionId, scope);
    if (!id.ok) return problemResponse(id.problem);

    const idempotencyKey = admitted.idempotencyKey ?? admitted.caller.deliveryId;
    try {
      return await handleApproval(deps, {
        source: 'generic',
        scope,
        caller: admitted.caller,
        request: admitted.value,
        connectionId: id.id,
        dryRun: admitted.dryRun,
        deadlineMs: deps.config.arm.deadlineMs,
        idempotencyKey,
        marks: admitted.marks,
        render: (handled) =>
          handled.kind === 'result'
            ? approvalResponse(handled.result, scope)
            : failureResponse(handled.error, scope),
      });
    } catch (error) {
      return failureResponse(error, scope);
    }
  };
}
