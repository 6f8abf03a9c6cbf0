import { handleApproval } from '../approval/handle-approval.js';
import type { AppDeps } from '../composition-root.js';
import type { RouteHandler } from '../http/route-types.js';
import { slackReply } from '../sources/slack-reply.js';

/** `POST /api/approvals/slack`: a Slack slash command. */
export function slackRoute(deps: AppDeps): RouteHandler {
  return async (request, context) =>
    slackReply(
      await handleApproval(deps.approval, deps.sources.slack, request, deps.beginRequest('slack', context)),
    );
}
