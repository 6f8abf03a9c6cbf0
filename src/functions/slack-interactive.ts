import { handleApproval } from '../approval/handle-approval.js';
import type { AppDeps } from '../composition-root.js';
import type { RouteHandler } from '../http/route-types.js';
import type { Handled } from '../model/outcome.js';
import type { DeliveredReport } from '../report/reporter.js';
import { chatText } from '../sources/chat-reply.js';
import { slackActionReply } from '../sources/slack-action-reply.js';

/** `POST /api/approvals/slack/interactive`: an Approve or Reject button clicked on a message discovery posted. */
export function slackInteractiveRoute(deps: AppDeps): RouteHandler {
  return async (request, context) => {
    const scope = deps.beginRequest('slack-interactive', context);
    const handled = await handleApproval(deps.approval, deps.sources.slackActions, request, scope);
    return slackActionReply(handled, await tell(deps, handled));
  };
}

/** An outcome known now goes to the click's response_url; accepted work is reported by the queue when it ends. */
async function tell(
  deps: AppDeps,
  { requestId, outcome, report }: Handled,
): Promise<DeliveredReport | undefined> {
  if (report === undefined || outcome.kind === 'accepted') return undefined;
  return deps.reporter.deliver(report, chatText(outcome, requestId));
}
