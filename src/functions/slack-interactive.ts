import { handleApproval } from '../approval/handle-approval.js';
import type { AppDeps } from '../composition-root.js';
import type { RouteHandler } from '../http/route-types.js';
import type { Logger } from '../logger.js';
import type { Handled } from '../model/outcome.js';
import type { DeliveredReport } from '../report/reporter.js';
import { chatText, refusesTheMessage } from '../sources/chat-reply.js';
import { slackActionReply } from '../sources/slack-action-reply.js';
import { within } from '../within.js';

/**
 * How long the acknowledgement waits for the outcome's post to `response_url`. Slack shows "failed" on a click
 * not acknowledged within 3 s, and the decision may have used 2 of them: a slower post goes on after the ack.
 */
const TELL_WAIT_MS = 500;

/** `POST /api/approvals/slack/interactive`: an Approve or Reject button clicked on a message discovery posted. */
export function slackInteractiveRoute(deps: AppDeps): RouteHandler {
  return async (request, context) => {
    const scope = deps.beginRequest('slack-interactive', context);
    const handled = await handleApproval(deps.approval, deps.sources.slackActions, request, scope);
    return slackActionReply(handled, await tell(deps, handled, scope.logger));
  };
}

/**
 * An outcome known now goes to the click's response_url; accepted work is reported by the queue when it ends.
 * Undefined when there was nothing to tell or the post is still going (it logs its own end then).
 */
async function tell(deps: AppDeps, handled: Handled, logger: Logger): Promise<DeliveredReport | undefined> {
  const { requestId, outcome, report } = handled;
  if (report === undefined || outcome.kind === 'accepted') return undefined;
  // A refused message (a replayed click, say) is answered with a problem only: its response_url is not ours to use.
  if (outcome.kind === 'failed' && refusesTheMessage(outcome.error)) return undefined;
  const delivery = deps.reporter.deliver(report, chatText(outcome, requestId));
  const told = await within(delivery, TELL_WAIT_MS);
  if (told === undefined) {
    void delivery.then((late) =>
      (late.ok ? logger.info : logger.warn)('slack.told-late', {
        requestId,
        told: late.ok,
        detail: late.detail,
      }),
    );
  }
  return told;
}
