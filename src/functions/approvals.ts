import { handleApproval } from '../approval/handle-approval.js';
import { approvalResponse, failureResponse, readConnectionId } from '../approval/respond.js';
import { authenticateWebhookOrBearer } from '../auth/authenticate.js';
import { guardReplay } from '../auth/replay-guard.js';
import type { AppDeps } from '../composition-root.js';
import { checkEnvelope, parseJsonBody, readDryRun, readIdempotencyKey } from '../http/intake.js';
import { problemResponse } from '../http/problem.js';
import type { RouteHandler } from '../http/route-types.js';

/** `POST /api/approvals`: the canonical request from Logic Apps, bots and scripts. */
export function approvalsHandler(deps: AppDeps): RouteHandler {
  return async (request) => {
    const scope = deps.beginRequest('approvals');
    const refused = checkEnvelope(request, scope, 'json');
    if (refused) return refused;
    const dry = readDryRun(request.url, scope);
    if (!dry.ok) return dry.response;
    const key = readIdempotencyKey(request, scope);
    if (!key.ok) return key.response;

    const auth = await authenticateWebhookOrBearer(deps.auth, 'generic', request, scope);
    if (!auth.ok) return auth.response;

    const parsed = parseJsonBody(request.body, deps.validators.approvalRequest, scope, 'ApprovalRequest');
    if (!parsed.ok) return parsed.response;
    const id = readConnectionId(parsed.value.connectionId, scope);
    if (!id.ok) return problemResponse(id.problem);

    const idempotencyKey = key.key ?? auth.caller.deliveryId;
    try {
      await deps.stores.ensureTables();
      const replayed = await guardReplay(deps.stores.nonces, auth.marks, idempotencyKey, scope);
      if (replayed) return replayed;
      return await handleApproval(deps, {
        source: 'generic',
        scope,
        caller: auth.caller,
        request: parsed.value,
        connectionId: id.id,
        dryRun: dry.dryRun,
        deadlineMs: deps.config.arm.deadlineMs,
        idempotencyKey,
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
