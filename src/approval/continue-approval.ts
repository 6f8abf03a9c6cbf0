import type { Logger } from '../logger.js';
import type { Handled, Outcome } from '../model/outcome.js';
import { parseConnectionId } from '../model/resource-id.js';
import type { AuditReport } from '../store/audit-record.js';
import type { AuditTrail } from '../store/audit-trail.js';
import type { Attempt, Operation, StoredResult } from '../store/operation-store.js';
import { settle, type ClaimDeps } from './claim.js';
import type { LaterDeps } from './continue-later.js';
import { nextAttemptDelayMs } from './continue-later.js';
import type { Command, Decided, DecideDeps } from './decide.js';
import { decide } from './decide.js';
import type { ApprovalJob } from './job.js';
import { attemptOf, isTransient, reconcile, sentPut } from './job.js';
import type { RecordDeps } from './record.js';
import { record } from './record.js';

export interface ContinueDeps {
  decide: DecideDeps;
  later: LaterDeps;
  claim: ClaimDeps;
  record: RecordDeps;
  audit: AuditTrail;
  now: () => number;
  /** Budget of one attempt from the queue (Resource Manager calls and the wait for the connection's lease). */
  attemptMs: number;
  /** How long a worker holds an operation before another may take it over. */
  leaseMs: number;
}

/** An approval that ended from the queue: what its reply and reports need, and its lease still held. */
export interface Ended {
  command: Command;
  decided: Decided;
  attempts: Attempt[];
  operation: Operation;
  job: ApprovalJob;
}

export type Continued =
  { kind: 'not-run'; why: string } | { kind: 'retrying'; attempts: number } | ({ kind: 'ended' } & Ended);

/**
 * One attempt of a queued approval: take the operation (one worker at a time), decide exactly as a request
 * does, then either schedule the next attempt (a transient failure, while the work is younger than its maximum
 * age) or hand back the end for the caller to be told and the record written (`finishApproval`).
 */
export async function continueApproval(
  deps: ContinueDeps,
  job: ApprovalJob,
  owner: string,
  logger: Logger,
): Promise<Continued> {
  const operation = await deps.later.operations.take(job.requestId, owner, deps.leaseMs);
  if (operation === undefined) return notRun(deps, job);
  const now = deps.now();
  const command: Command = {
    requestId: job.requestId,
    source: job.source,
    caller: job.caller,
    request: job.request,
    connectionId: parseConnectionId(job.connectionId),
    dryRun: false,
    deadline: now + deps.attemptMs,
    retries: true,
    started: job.started,
    logger,
  };
  const attempts = [...operation.attempts];
  // The audit then shows why an earlier worker's PUT may have landed and this attempt found it "unchanged".
  if (operation.takenOver) attempts.push({ at: new Date(now).toISOString(), code: 'WorkerLost' });
  const decided = await decide(deps.decide, command);
  const young = now - operation.acceptedAt < deps.later.maxAgeMs;
  if (isTransient(decided.outcome) && young) {
    if (decided.lease) await deps.audit.release(decided.lease).catch(() => undefined);
    attempts.push(attemptOf(decided, now));
    const delayMs = nextAttemptDelayMs(deps.later, attempts.length);
    const putSent =
      job.putSent ??
      (sentPut(decided) && decided.before ? { previousStatus: decided.before.status } : undefined);
    await deps.later.operations.requeue(operation, attempts, now + delayMs);
    await deps.later.queue.send({ ...job, ...(putSent ? { putSent } : {}) }, delayMs / 1000);
    logger.info('approval.retry-scheduled', { attempts: attempts.length, delayMs });
    return { kind: 'retrying', attempts: attempts.length };
  }
  if (isTransient(decided.outcome)) attempts.push(attemptOf(decided, now));
  return { kind: 'ended', command, decided: reconcile(decided, job), attempts, operation, job };
}

/** A message for work that is done, or that another worker runs now: nothing to do, or look again later. */
async function notRun(deps: ContinueDeps, job: ApprovalJob): Promise<Continued> {
  const current = await deps.later.operations.get(job.requestId);
  if (current?.state === 'running') {
    // Redelivered while another worker holds it: look again once that worker's lease could have ended.
    await deps.later.queue.send(job, Math.max(1, (current.leaseUntil - deps.now()) / 1000));
    return { kind: 'not-run', why: 'running elsewhere' };
  }
  return { kind: 'not-run', why: current === undefined ? 'unknown operation' : 'already done' };
}

/**
 * The end of a queued approval, once its caller has been told: the record (with every attempt and who was told
 * what, when), the idempotency claim settled, and the answer kept for the `Location` URL.
 */
export async function finishApproval(
  deps: ContinueDeps,
  ended: Ended,
  result: StoredResult,
  reports: AuditReport[],
): Promise<Handled> {
  const { command, decided, attempts, operation, job } = ended;
  const outcome: Outcome = await record(deps.record, command, decided, { attempts, reports });
  const claim = await deps.claim.idempotency.heldBy(job.claim, job.requestId).catch(() => undefined);
  if (claim) await settle(deps.claim, command, claim, outcome);
  const finished = await deps.later.operations.finish(
    operation,
    result,
    attempts,
    deps.now() + deps.later.resultTtlMs,
  );
  if (!finished) command.logger.warn('operation.finish-lost', { requestId: job.requestId });
  return { requestId: job.requestId, outcome };
}
