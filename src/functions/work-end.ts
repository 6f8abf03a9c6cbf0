import { abandonedEnd, finishApproval } from '../approval/continue-approval.js';
import { sendReport } from '../approval/report-outbox.js';
import type { Abandon } from '../approval/sweep.js';
import type { AppDeps } from '../composition-root.js';
import type { RouteResponse } from '../http/route-types.js';
import type { ReportTarget, SourceName } from '../model/approval.js';
import type { Handled } from '../model/outcome.js';
import type { ReportMessage } from '../report/reporter.js';
import type { StoredResult, Work } from '../store/operation-store.js';
import { chatText } from '../sources/chat-reply.js';
import { genericReply } from '../sources/generic-reply.js';
import { serviceNowNote, servicenowReply } from '../sources/servicenow-reply.js';
import { slackReply } from '../sources/slack-reply.js';
import { teamsReply } from '../sources/teams-reply.js';

/**
 * How work that continued from the queue ends, in the caller's own terms: the answer its `Location` keeps and the
 * report to its platform, for the queue worker and for the sweeper when it gives up on work.
 */

/** What the work's end leaves: the answer its `Location` gives, and the report to its caller's platform. */
export function replyTo(work: Work): (handled: Handled) => { result: StoredResult; report: ReportMessage } {
  return (handled) => ({
    result: storedResult(work.source, handled),
    report: reportMessage(work.report, work.source, handled),
  });
}

export function outboxOf(deps: AppDeps): Parameters<typeof sendReport>[0] {
  return { later: deps.continued.later, reporter: deps.reporter, audit: deps.stores.audit, now: deps.now };
}

/**
 * Ends work the sweeper gave up on (approval/sweep.ts): failed, recorded with its attempts, its key released, the
 * failure kept for its `Location` and reported to its caller, as any end from the queue. The row is held first,
 * as a worker holds it, so a worker that took it meanwhile goes on undisturbed and nothing is written twice.
 */
export function abandonWork(deps: AppDeps): Abandon {
  return async (operation, logger) => {
    const { operations } = deps.continued.later;
    const leaseUntil = deps.now() + deps.continued.leaseMs;
    const held = await operations.update(operation, { state: 'running', owner: 'sweeper', leaseUntil });
    if (held === undefined) return false;
    const ended = abandonedEnd(deps.continued, held, logger);
    if (ended === undefined) {
      // Not even readable as a command: left as it was, for an operator (logged by the sweeper).
      await operations
        .update(held, { state: operation.state, owner: '', leaseUntil: 0 })
        .catch(() => undefined);
      return false;
    }
    const finished = await finishApproval(deps.continued, ended, replyTo(held.work));
    if (finished.operation === undefined) return false;
    // Ended: a report that fails now is owed from the row, and the sweeper resends it like any other.
    await sendReport(outboxOf(deps), finished.operation, logger).catch((error: unknown) =>
      logger.warn('operation.report-failed', { requestId: operation.requestId, error: String(error) }),
    );
    return true;
  };
}

/** The answer the caller's `Location` gives once the work ended: what the synchronous answer would have been. */
function storedResult(source: SourceName, handled: Handled): StoredResult {
  // No `accepted` outcome reaches here, so the URL (used only for a Location) is never read.
  const unused = new URL('https://localhost/');
  const response: RouteResponse =
    source === 'generic'
      ? genericReply(handled, unused)
      : source === 'servicenow'
        ? servicenowReply(handled, unused)
        : source === 'slack'
          ? slackReply(handled)
          : teamsReply(handled);
  const { 'x-request-id': _id, ...headers } = response.headers;
  return { status: response.status, headers, body: response.body };
}

function reportMessage(target: ReportTarget, source: SourceName, handled: Handled): ReportMessage {
  if (target.kind === 'servicenow' || source === 'servicenow')
    return { text: serviceNowNote(handled), ok: true };
  return chatText(handled.outcome, handled.requestId);
}
