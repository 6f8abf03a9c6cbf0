import { handleApproval } from '../approval/handle-approval.js';
import type { AppDeps } from '../composition-root.js';
import type { RouteHandler } from '../http/route-types.js';
import { genericReply } from '../sources/generic-reply.js';

/** `POST /api/approvals`: the canonical request from Logic Apps, bots and scripts. */
export function approvalsRoute(deps: AppDeps): RouteHandler {
  return async (request, context) => {
    const scope = deps.beginRequest('approvals', context);
    return genericReply(
      await handleApproval(deps.approval, deps.sources.generic, request, scope),
      request.url,
    );
  };
}
