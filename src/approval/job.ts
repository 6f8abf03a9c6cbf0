import type { ApprovalRequest, CallerIdentity, ReportTarget, SourceName } from '../model/approval.js';
import type { Outcome } from '../model/outcome.js';
import { isRefusal } from '../model/refusal.js';
import { ArmUnavailableError } from '../arm/arm-errors.js';
import type { Attempt } from '../store/operation-store.js';
import { ConnectionBusyError, StoreUnavailableError } from '../store/errors.js';
import type { Decided } from './decide.js';

/**
 * An approval that continues from the queue: everything the worker needs to decide it again, as JSON in the
 * queue message. Attempts live in the operation row, so a redelivered message never repeats or loses them.
 */

export interface ApprovalJob {
  kind: 'approval';
  requestId: string;
  source: SourceName;
  caller: CallerIdentity;
  request: ApprovalRequest;
  connectionId: string;
  /** When the request arrived (epoch ms). */
  started: number;
  /** The idempotency record the work owns. */
  claim: { partitionKey: string; rowKey: string; fingerprint: string; ttlMs: number };
  report: ReportTarget;
  /** An earlier attempt sent the PUT and may have applied it; the state it replaced. */
  putSent?: { previousStatus: string };
}

/** A report that failed when the approval ended, tried again from the queue; it never changes the approval. */
export interface ReportJob {
  kind: 'report';
  requestId: string;
  source: SourceName;
  connectionId: string;
  report: ReportTarget;
  text: string;
  ok: boolean;
  attempt: number;
}

export type Job = ApprovalJob | ReportJob;

/** Failures that time may heal: worth another attempt from the queue rather than an answer now. */
export function isTransient(outcome: Outcome): boolean {
  if (outcome.kind !== 'failed') return false;
  const { error } = outcome;
  if (isRefusal(error)) return error.kind === 'unavailable';
  return (
    error instanceof ArmUnavailableError ||
    error instanceof ConnectionBusyError ||
    error instanceof StoreUnavailableError
  );
}

/** What one failed attempt leaves in the operation's history. */
export function attemptOf(decided: Decided, at: number): Attempt {
  const attempt: Attempt = { at: new Date(at).toISOString() };
  const { outcome } = decided;
  if (outcome.kind !== 'failed') return attempt;
  const { error } = outcome;
  if (error instanceof ArmUnavailableError) {
    if (error.lastStatus !== undefined) attempt.armStatus = error.lastStatus;
    if (error.cloudError?.code) attempt.code = error.cloudError.code;
    if (error.mayHaveApplied) attempt.mayHaveApplied = true;
  } else if (error instanceof Error) {
    attempt.code = error.name;
  }
  return attempt;
}

/** Whether an attempt sent the PUT (the next one must not report "unchanged" for its own write). */
export function sentPut(decided: Decided): boolean {
  const { outcome } = decided;
  return (
    outcome.kind === 'failed' && outcome.error instanceof ArmUnavailableError && outcome.error.mayHaveApplied
  );
}

/**
 * An earlier attempt's PUT that landed shows up as "already in the asked state": it is this request's own
 * change, so it is reported as applied, from the state that attempt replaced.
 */
export function reconcile(decided: Decided, job: ApprovalJob): Decided {
  const { outcome } = decided;
  if (job.putSent === undefined || outcome.kind !== 'done' || outcome.response.outcome !== 'unchanged')
    return decided;
  const response = {
    ...outcome.response,
    outcome: job.request.decision === 'Approved' ? ('approved' as const) : ('rejected' as const),
    connection: { ...outcome.response.connection, previousStatus: job.putSent.previousStatus },
  };
  return { ...decided, outcome: { ...outcome, response } };
}
