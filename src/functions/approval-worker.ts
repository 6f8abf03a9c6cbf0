import type { ContinueDeps } from '../approval/continue-approval.js';
import { continueApproval, finishApproval } from '../approval/continue-approval.js';
import { nextAttemptDelayMs } from '../approval/continue-later.js';
import type { ApprovalJob, Job, ReportJob } from '../approval/job.js';
import type { AppDeps } from '../composition-root.js';
import type { QueueDefinition, RouteResponse } from '../http/route-types.js';
import type { Logger } from '../logger.js';
import type { ReportTarget, SourceName } from '../model/approval.js';
import type { Handled } from '../model/outcome.js';
import type { ReportMessage } from '../report/reporter.js';
import { AuditConflictError } from '../store/errors.js';
import type { StoredResult } from '../store/operation-store.js';
import { chatReply, chatText } from '../sources/chat-reply.js';
import { genericReply } from '../sources/generic-reply.js';
import { serviceNowNote, servicenowReply } from '../sources/servicenow-reply.js';
import { slackMessage } from '../sources/slack.js';
import { teamsMessage } from '../sources/teams.js';

/** Reports that fail are tried this many times from the queue, then left in the record as failed. */
const MAX_REPORT_ATTEMPTS = 5;

/**
 * Queue trigger: approvals that continue after their caller was answered. Each message is one attempt: decide
 * again (GET first, so a PUT an earlier attempt landed is recognised), then either wait for the next attempt or
 * end — keep the answer for the caller's `Location`, tell the caller's platform, write the record.
 */
export function approvalWorker(deps: AppDeps): QueueDefinition {
  return {
    name: 'approval-worker',
    queueName: deps.stores.queue.name,
    handler: async (message, context) => {
      const job = parseJob(message);
      const logger = deps.invocationLogger(context, { requestId: job.requestId, worker: job.kind });
      if (job.kind === 'report') return reportAgain(deps, job, logger);
      const continued = await continueApproval(deps.continued, job, context.invocationId, logger);
      if (continued.kind !== 'ended') return;
      const handled: Handled = { requestId: job.requestId, outcome: continued.decided.outcome };
      const report = await deps.reporter.deliver(job.report, reportMessage(job.report, job.source, handled));
      if (!report.ok)
        await scheduleReport(deps.continued, job, reportMessage(job.report, job.source, handled), 1);
      const ended = await finishApproval(deps.continued, continued, storedResult(job.source, handled), [
        report,
      ]);
      logger.info('approval.ended', {
        outcome: ended.outcome.kind,
        attempts: continued.attempts.length,
        report,
      });
    },
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
        : chatReply(handled, source === 'slack' ? slackMessage : (text) => teamsMessage(text));
  const { 'x-request-id': _id, ...headers } = response.headers;
  return { status: response.status, headers, body: response.body };
}

function reportMessage(target: ReportTarget, source: SourceName, handled: Handled): ReportMessage {
  if (target.kind === 'servicenow' || source === 'servicenow')
    return { text: serviceNowNote(handled), ok: true };
  return chatText(handled.outcome, handled.requestId);
}

async function scheduleReport(deps: ContinueDeps, job: ApprovalJob, message: ReportMessage, attempt: number) {
  const retry: ReportJob = {
    kind: 'report',
    requestId: job.requestId,
    source: job.source,
    connectionId: job.connectionId,
    report: job.report,
    ...message,
    attempt,
  };
  await deps.later.queue.send(retry, nextAttemptDelayMs(deps.later, attempt) / 1000);
}

async function reportAgain(deps: AppDeps, job: ReportJob, logger: Logger): Promise<void> {
  const report = await deps.reporter.deliver(job.report, { text: job.text, ok: job.ok });
  if (!report.ok && job.attempt < MAX_REPORT_ATTEMPTS) {
    await deps.continued.later.queue.send(
      { ...job, attempt: job.attempt + 1 },
      nextAttemptDelayMs(deps.continued.later, job.attempt + 1) / 1000,
    );
    return;
  }
  (report.ok ? logger.info : logger.error)('approval.report-retried', { report, attempt: job.attempt });
  // The decision's own record says the first try failed; this one, read as `<id>:reported`, how retries ended.
  const noted = deps.stores.audit.note({
    requestId: `${job.requestId}:reported`,
    about: job.requestId,
    time: new Date(deps.now()).toISOString(),
    source: job.source,
    connectionId: job.connectionId,
    outcome: 'reported',
    httpStatus: report.ok ? 200 : 502,
    durationMs: 0,
    reports: [report],
  });
  // A redelivered message finds its note written already: nothing more to say.
  await noted.catch((error: unknown) => {
    if (!(error instanceof AuditConflictError)) throw error;
  });
}

/** Our own messages, but a queue is an input like any other: anything else goes to the poison queue. */
function parseJob(message: unknown): Job {
  const value = typeof message === 'string' ? (JSON.parse(message) as unknown) : message;
  if (typeof value !== 'object' || value === null) throw new TypeError('queue message is not a job');
  const job = value as Partial<Job>;
  if ((job.kind !== 'approval' && job.kind !== 'report') || typeof job.requestId !== 'string') {
    throw new TypeError('queue message is not a job');
  }
  return job as Job;
}
