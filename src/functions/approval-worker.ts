import { abandonedEnd, continueApproval, finishApproval } from '../approval/continue-approval.js';
import type { Abandon } from '../approval/sweep.js';
import { parseJob } from '../approval/job.js';
import { sendReport } from '../approval/report-outbox.js';
import type { AppDeps } from '../composition-root.js';
import type { QueueDefinition, RouteResponse } from '../http/route-types.js';
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
 * Queue trigger: approvals that continue after their caller was answered. A message only names a row; each one
 * is one attempt: decide again from the row (GET first, so a PUT an earlier attempt landed is recognised), then
 * either schedule the next attempt or end — the record, the caller's answer kept for its `Location`, and the
 * report to the caller's platform sent from the row.
 */
export function approvalWorker(deps: AppDeps): QueueDefinition {
  const outbox = outboxOf(deps);
  return {
    name: 'approval-worker',
    queueName: deps.stores.queue.name,
    handler: async (message, context) => {
      const job = parseJob(message);
      const logger = deps.invocationLogger(context, { requestId: job.requestId, worker: job.kind });
      if (job.kind === 'report') {
        const operation = await deps.continued.later.operations.get(job.requestId);
        if (operation?.state === 'done' && operation.generation === job.generation) {
          await sendReport(outbox, operation, logger);
        }
        return;
      }
      const continued = await continueApproval(deps.continued, job, context.invocationId, logger);
      if (continued.kind === 'not-run' && continued.operation)
        await sendReport(outbox, continued.operation, logger);
      if (continued.kind !== 'ended') return;
      const finished = await finishApproval(
        deps.continued,
        continued,
        replyTo(continued.operation.work),
      ).catch(async (error: unknown) => {
        // Give the row back, so the message's next delivery (or the sweeper) finishes it.
        await deps.continued.later.operations
          .update(continued.operation, { state: 'queued', owner: '', leaseUntil: 0 })
          .catch(() => undefined);
        throw error;
      });
      logger.info('approval.ended', {
        outcome: finished.handled.outcome.kind,
        attempts: continued.operation.attemptCount,
      });
      if (finished.operation) await sendReport(outbox, finished.operation, logger);
    },
  };
}

/**
 * Ends work the sweeper gave up on (approval/sweep.ts): failed, recorded with its attempts, its key released, the
 * failure kept for its `Location` and reported to its caller, as any end from the queue.
 */
export function abandonWork(deps: AppDeps): Abandon {
  return async (operation, logger) => {
    const ended = abandonedEnd(deps.continued, operation, logger);
    if (ended === undefined) return false;
    const finished = await finishApproval(deps.continued, ended, replyTo(operation.work));
    if (finished.operation === undefined) return false;
    await sendReport(outboxOf(deps), finished.operation, logger);
    return true;
  };
}

/** What the work's end leaves: the answer its `Location` gives, and the report to its caller's platform. */
function replyTo(work: Work): (handled: Handled) => { result: StoredResult; report: ReportMessage } {
  return (handled) => ({
    result: storedResult(work.source, handled),
    report: reportMessage(work.report, work.source, handled),
  });
}

function outboxOf(deps: AppDeps): Parameters<typeof sendReport>[0] {
  return { later: deps.continued.later, reporter: deps.reporter, audit: deps.stores.audit, now: deps.now };
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
