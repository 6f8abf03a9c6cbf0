import { handleApproval } from '../approval/handle-approval.js';
import type { AppDeps } from '../composition-root.js';
import type { RouteHandler } from '../http/route-types.js';
import { teamsReply } from '../sources/teams-reply.js';

/** `POST /api/approvals/teams`: a Teams outgoing webhook (an @mention in a channel). */
export function teamsRoute(deps: AppDeps): RouteHandler {
  return async (request, context) =>
    teamsReply(
      await handleApproval(deps.approval, deps.sources.teams, request, deps.beginRequest('teams', context)),
    );
}
