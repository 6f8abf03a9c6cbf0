import { failureProblem } from '../http/failure-problem.js';
import { outcomeLog } from '../http/outcome-response.js';
import { problemResponse } from '../http/problem.js';
import type { RouteResponse } from '../http/route-types.js';
import type { Handled } from '../model/outcome.js';
import { isRefusal } from '../model/refusal.js';
import { refusesTheMessage } from './chat-reply.js';
import type { DeliveredReport } from '../report/reporter.js';

/**
 * The answer to a button click. Slack shows nothing of its body, so a click that was taken is an empty 200 (its
 * outcome went, or will go, to the click's `response_url`), a refused decision included: the clicker was told why
 * there, and a non-200 would add Slack's own error to it. A refused request (unsigned, replayed, malformed) stays
 * an HTTP problem for the operator's logs.
 */
export function slackActionReply(
  { requestId, outcome, report }: Handled,
  told?: DeliveredReport,
): RouteResponse {
  const log = { ...outcomeLog(outcome), ...(told ? { told: told.ok } : {}) };
  // A refusal with nowhere to tell it (refused before the click's response_url was read) stays a problem.
  const refused = outcome.kind === 'failed' && isRefusal(outcome.error) ? outcome.error : undefined;
  if (refused && (report === undefined || refusesTheMessage(refused))) {
    const failed = failureProblem(refused, requestId, 'Slack-Signature');
    return { ...problemResponse(failed.problem, failed.headers), log };
  }
  return { status: 200, headers: { 'x-request-id': requestId }, body: '', log };
}
