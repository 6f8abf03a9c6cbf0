import { handleApproval } from '../approval/handle-approval.js';
import { webhookOrBearerScheme } from '../auth/authenticate.js';
import type { AppDeps } from '../composition-root.js';
import { withPreference } from '../http/outcome-response.js';
import type { RouteHandler } from '../http/route-types.js';
import { genericReply } from '../sources/generic-reply.js';

/** `POST /api/approvals`: the canonical request from Logic Apps, bots and scripts. */
export function approvalsRoute(deps: AppDeps): RouteHandler {
  return async (request, context) => {
    const scope = deps.beginRequest('approvals', context);
    const handled = await handleApproval(deps.approval, deps.sources.generic, request, scope);
    return withPreference(genericReply(handled, request.url, webhookOrBearerScheme(deps.auth)), request);
  };
}
