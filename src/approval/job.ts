import type { ApprovalRequest } from '../model/approval.js';
import type { Outcome } from '../model/outcome.js';
import { isRefusal } from '../model/refusal.js';
import { ArmOperationRunningError, ArmUnavailableError, ConnectionSettlingError } from '../arm/arm-errors.js';
import type { AuditTrail } from '../store/audit-trail.js';
import type { Attempt, Carry } from '../store/operation-store.js';
import { ConnectionBusyError, StoreUnavailableError } from '../store/errors.js';
import type { Decided } from './decide.js';
import { isUuid } from '../model/uuid.js';

/**
 * The queue's messages: which row to look at, nothing more. Everything the worker acts on is read from the
 * operation row (store/operation-store.ts), so a message written by anyone else can at most make the worker
 * look at a row that does not need it.
 */
export type Job =
  | { kind: 'approval'; requestId: string; generation: number }
  | { kind: 'report'; requestId: string; generation: number };

/** A message exactly as this app writes them; anything else throws (and ends in the poison queue). */
export function parseJob(message: unknown): Job {
  let value = message;
  if (typeof message === 'string') {
    try {
      value = JSON.parse(message) as unknown;
    } catch {
      throw new TypeError('queue message is not JSON');
    }
  }
  if (typeof value !== 'object' || value === null) throw new TypeError('queue message is not a job');
  const { kind, requestId, generation, ...rest } = value as Record<string, unknown>;
  const shaped =
    (kind === 'approval' || kind === 'report') &&
    typeof requestId === 'string' &&
    isUuid(requestId) &&
    Number.isSafeInteger(generation) &&
    (generation as number) >= 0 &&
    Object.keys(rest).length === 0;
  if (!shaped) throw new TypeError('queue message is not a job');
  return { kind, requestId: requestId.toLowerCase(), generation: generation as number };
}

/** Failures that time may heal: worth another attempt from the queue rather than an answer now. */
export function isTransient(outcome: Outcome): boolean {
  if (outcome.kind !== 'failed') return false;
  const { error } = outcome;
  // A configuration (the policy document) can be fixed while accepted work waits for it.
  if (isRefusal(error)) return error.kind === 'unavailable' || error.kind === 'not-configured';
  return (
    error instanceof ArmUnavailableError ||
    error instanceof ArmOperationRunningError ||
    error instanceof ConnectionSettlingError ||
    error instanceof ConnectionBusyError ||
    error instanceof StoreUnavailableError
  );
}

/** A platform asking for a day is not waited on for more than an hour: the work's own deadline comes first anyway. */
const MAX_ASKED_WAIT_MS = 3_600_000;

/**
 * The wait Resource Manager asked for (its Retry-After, or a long-running operation's), in ms; 0 when it asked for
 * none. The next attempt comes no sooner. Our own estimates (a busy connection's lease left, a settling one) are
 * not asks: the lease is usually given back long before it runs out.
 */
export function askedWaitMs(decided: Decided): number {
  const { outcome } = decided;
  if (outcome.kind !== 'failed') return 0;
  const { error } = outcome;
  const asked =
    error instanceof ArmUnavailableError || error instanceof ArmOperationRunningError
      ? error.retryAfterSeconds
      : 0;
  return Math.min(asked * 1000, MAX_ASKED_WAIT_MS);
}

/** What one failed attempt leaves in the operation's history. */
export function attemptOf(decided: Decided, at: number): Attempt {
  const attempt: Attempt = { at: new Date(at).toISOString() };
  const { outcome } = decided;
  if (outcome.kind !== 'failed') return attempt;
  const { error } = outcome;
  if (error instanceof ArmUnavailableError) {
    if (error.lastStatus !== undefined) attempt.armStatus = error.lastStatus;
    if (error.cloudError?.code) attempt.code = error.cloudError.code.slice(0, 100);
    if (error.mayHaveApplied) attempt.mayHaveApplied = true;
  } else if (isRefusal(error)) {
    attempt.code = error.details.reason ?? error.kind;
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
 * Whether an attempt left a change that may still land: a PUT sent without an answer, or a long-running one still
 * running. Its connection's lease is then handed over, not given back, so that no other decision is made in
 * between: the next attempt of the same request takes the lease up (AuditTrail.handOver).
 */
export function changeMayLand(decided: Decided): boolean {
  const { outcome } = decided;
  return sentPut(decided) || (outcome.kind === 'failed' && outcome.error instanceof ArmOperationRunningError);
}

/**
 * The connection's lease after an attempt that ends unfinished: handed over to the request's next attempt while
 * a change may still land (this attempt's, or an earlier unanswered PUT's), so no other decision comes between;
 * otherwise given back. Best effort: a lease not written back runs out by itself.
 */
export async function giveBack(audit: AuditTrail, decided: Decided, earlierMayLand = false): Promise<void> {
  if (decided.lease === undefined) return;
  const keep = earlierMayLand || changeMayLand(decided);
  await (keep ? audit.handOver(decided.lease) : audit.release(decided.lease)).catch(() => undefined);
}

/**
 * What an attempt that failed hands to the next: that its PUT went out (from the state it replaced), and the
 * long-running operation to wait on when it was still running.
 */
export function carryOf(decided: Decided, earlier: Carry = {}, at?: number): Carry {
  const { outcome } = decided;
  const running =
    outcome.kind === 'failed' && outcome.error instanceof ArmOperationRunningError
      ? outcome.error
      : undefined;
  const previousStatus =
    decided.before?.status ?? earlier.resume?.previousStatus ?? earlier.putSent?.previousStatus;
  const sent = changeMayLand(decided);
  // `at` (the attempt's end, no earlier than its PUT) starts the wait before the PUT may be sent again.
  const putSent =
    earlier.putSent ??
    (sent && previousStatus ? { previousStatus, ...(at === undefined ? {} : { at }) } : undefined);
  // An operation still to wait for stays the one to wait for until an attempt ends the work.
  const resume = running && previousStatus ? { token: running.resumeToken, previousStatus } : earlier.resume;
  return { ...(putSent ? { putSent } : {}), ...(resume ? { resume } : {}) };
}

/**
 * An earlier attempt's PUT that landed shows up as "already in the asked state": it is this request's own
 * change, so it is reported as applied, from the state that attempt replaced.
 */
export function reconcile(decided: Decided, request: ApprovalRequest, carry: Carry): Decided {
  const { outcome } = decided;
  if (carry.putSent === undefined) return decided;
  if (outcome.kind === 'failed') return mayHaveApplied(decided, outcome.error);
  if (outcome.kind === 'denied') return ownWriteBefore(decided, outcome);
  if (outcome.kind !== 'done' || outcome.response.outcome !== 'unchanged') return decided;
  const response = {
    ...outcome.response,
    outcome: request.decision === 'Approved' ? ('approved' as const) : ('rejected' as const),
    connection: { ...outcome.response.connection, previousStatus: carry.putSent.previousStatus },
  };
  return { ...decided, outcome: { ...outcome, response } };
}

/** Superseded after an earlier attempt's PUT went out unanswered: that write may have landed before the change. */
function ownWriteBefore(decided: Decided, outcome: Extract<Outcome, { kind: 'denied' }>): Decided {
  if (!outcome.policy.reasons.some((r) => r.rule === 'superseded')) return decided;
  const note =
    " This request's earlier attempt sent its PUT without an answer: it may have landed before that change.";
  const reasons = outcome.policy.reasons.map((r) =>
    r.rule === 'superseded' ? { ...r, message: `${r.message}${note}` } : r,
  );
  return { ...decided, outcome: { ...outcome, policy: { ...outcome.policy, reasons } } };
}

/**
 * An earlier attempt's PUT went out unanswered: however the last attempt failed (its own PUT throttled, its read
 * unanswered), the change may have been applied, and the end must not say nothing was changed.
 */
function mayHaveApplied(decided: Decided, error: unknown): Decided {
  if (!(error instanceof ArmUnavailableError) || error.mayHaveApplied) return decided;
  return { ...decided, outcome: { kind: 'failed', error: error.afterPutSent() } };
}
