import { webhookOrBearerScheme } from '../auth/authenticate.js';
import { handleApproval } from '../approval/handle-approval.js';
import type { AppDeps } from '../composition-root.js';
import { withPreference } from '../http/outcome-response.js';
import type { RouteHandler } from '../http/route-types.js';
import { servicenowReply } from '../sources/servicenow-reply.js';

/** `POST /api/approvals/servicenow`: a change request's decision, from a business rule or Flow REST step. */
export function servicenowRoute(deps: AppDeps): RouteHandler {
  return async (request, context) => {
    const scope = deps.beginRequest('servicenow', context);
    const handled = await handleApproval(deps.approval, deps.sources.servicenow, request, scope);
    return withPreference(servicenowReply(handled, request.url, webhookOrBearerScheme(deps.auth)), request);
  };
}
