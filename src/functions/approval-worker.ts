import { continueApproval, finishApproval } from '../approval/continue-approval.js';
import { parseJob } from '../approval/job.js';
import { sendReport } from '../approval/report-outbox.js';
import type { AppDeps } from '../composition-root.js';
import type { QueueDefinition } from '../http/route-types.js';
import { outboxOf, replyTo } from './work-end.js';

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
