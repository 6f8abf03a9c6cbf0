import { ArmError, ArmUnavailableError } from '../arm/arm-errors.js';
import { failureStatus } from '../http/failure-problem.js';
import type { Outcome } from '../model/outcome.js';
import { isRefusal } from '../model/refusal.js';
import { formatConnectionId } from '../model/resource-id.js';
import type { AuditAttempt, AuditOutcome, AuditRecord, AuditReport } from '../store/audit-record.js';
import type { SpooledRecord } from '../store/audit-spool.js';
import type { AuditSpool } from '../store/audit-spool.js';
import type { AuditTrail, ClaimSettlement } from '../store/audit-trail.js';
import { ConnectionBusyError } from '../store/errors.js';
import type { Command, Decided } from './decide.js';

export interface RecordDeps {
  audit: AuditTrail;
  spool: AuditSpool;
  now: () => number;
  /** The policy that decided, named in every record. */
  policySha256?: string;
}

/** What an approval that continued from the queue adds to its record. */
export interface RecordExtras {
  attempts?: AuditAttempt[];
  reports?: AuditReport[];
}

/**
 * Writes the request's audit record, built from its outcome: into the connection's chain when the decision held
 * the connection's lease (and so releases it), beside the chain otherwise. When storage cannot take it, the
 * record goes to the local spool and the outcome says so: nothing accepted is answered without its record kept.
 */
export async function record(
  deps: RecordDeps,
  command: Command,
  decided: Decided,
  extras: RecordExtras = {},
): Promise<Outcome> {
  return (await recordSettling(deps, command, decided, undefined, extras)).outcome;
}

/**
 * As `record`, with the claim's settlement in the record's own transaction when the record goes into the chain;
 * `settled` says whether it went (if not, the claim is the caller's to settle), `kept` whether the record is kept
 * anywhere (stored, or in the local spool).
 */
export async function recordSettling(
  deps: RecordDeps,
  command: Command,
  decided: Decided,
  settlement: ClaimSettlement | undefined,
  extras: RecordExtras = {},
): Promise<{ outcome: Outcome; settled: boolean; kept: boolean }> {
  const entry: SpooledRecord = {
    record: { ...auditRecord(deps, command, decided), ...withoutEmpty(extras) },
    chained: decided.lease !== undefined,
  };
  try {
    let settled = false;
    if (decided.lease && settlement)
      settled = await deps.audit.appendSettling(decided.lease, entry.record, settlement);
    else if (decided.lease) await deps.audit.appendLeased(decided.lease, entry.record);
    else await deps.audit.note(entry.record);
    return { outcome: decided.outcome, settled, kept: true };
  } catch (error) {
    command.logger.error('audit.spooled', { record: entry.record, error: describe(error) });
    if (decided.lease) await deps.audit.release(decided.lease).catch(() => undefined);
    const kept = await deps.spool.keep(entry).then(
      () => true,
      (spoolError: unknown) => {
        command.logger.error('audit.spool-failed', {
          requestId: command.requestId,
          error: describe(spoolError),
        });
        return false;
      },
    );
    const outcome =
      decided.outcome.kind === 'done' || decided.outcome.kind === 'failed'
        ? { ...decided.outcome, recordPending: true as const }
        : decided.outcome;
    return { outcome, settled: false, kept };
  }
}

/** Writes what the spool holds; a record already stored (its first write landed after all) is not written twice. */
export function flushSpool(deps: RecordDeps, leaseSeconds: number): Promise<number> {
  return deps.spool.flush(async ({ record, chained }) => {
    if (await deps.audit.has(record)) return;
    if (chained) await deps.audit.appendOnce(record, deps.now() + leaseSeconds * 1_000);
    else await deps.audit.note(record);
  });
}

function withoutEmpty(extras: RecordExtras): RecordExtras {
  const out: RecordExtras = {};
  if (extras.attempts && extras.attempts.length > 0) out.attempts = extras.attempts;
  if (extras.reports && extras.reports.length > 0) out.reports = extras.reports;
  return out;
}

export function auditRecord(
  deps: { now: () => number; policySha256?: string },
  command: Command,
  decided: Decided,
): AuditRecord {
  const { request, caller } = command;
  const { outcome } = decided;
  const record: AuditRecord = {
    requestId: command.requestId,
    time: new Date(command.started).toISOString(),
    source: command.source,
    callerId: caller.id,
    callerScheme: caller.scheme,
    connectionId: formatConnectionId(command.connectionId),
    decision: request.decision,
    outcome: auditOutcome(outcome),
    httpStatus: statusOf(outcome),
    durationMs: Math.round(deps.now() - command.started),
  };
  if (decided.correlationId !== '') record.arm = { correlationId: decided.correlationId };
  if (deps.policySha256) record.policySha256 = deps.policySha256;
  if (request.approver !== undefined) record.approver = request.approver;
  if (request.requester !== undefined) record.requester = request.requester;
  if (request.ticket !== undefined) record.ticket = request.ticket;
  if (decided.before) record.previousStatus = decided.before.status;
  const full: AuditRecord = { ...record, ...outcomeFields(outcome, decided.correlationId) };
  // Kept here because the provider keeps no copy once this decision's description replaces it. Only when the read
  // is of the state this decision replaced: an attempt that found an earlier attempt's write read its description.
  const before = decided.before;
  if (before?.description && before.status === full.previousStatus)
    full.previousDescription = before.description;
  return full;
}

function outcomeFields(outcome: Outcome, correlationId: string): Partial<AuditRecord> {
  switch (outcome.kind) {
    case 'done': {
      const { response } = outcome;
      const fields: Partial<AuditRecord> = {
        previousStatus: response.connection.previousStatus,
        newStatus: response.connection.status,
        arm: { status: response.arm.status, requestId: response.arm.requestId, correlationId },
      };
      if (response.policy.reasons.length > 0) fields.policyReasons = response.policy.reasons;
      return fields;
    }
    case 'denied':
      return { policyReasons: outcome.policy.reasons };
    case 'failed':
      return failureFields(outcome.error, correlationId);
    default:
      return {};
  }
}

function failureFields(error: unknown, correlationId: string): Partial<AuditRecord> {
  if (error instanceof ArmError) {
    return {
      arm: {
        status: error.status,
        requestId: error.armRequestId,
        correlationId,
        error: { code: error.code, message: error.cloudError.message },
      },
    };
  }
  if (error instanceof ArmUnavailableError) {
    return {
      arm: {
        status: error.lastStatus,
        requestId: error.armRequestId,
        correlationId,
        ...(error.cloudError?.code ? { error: { code: error.cloudError.code } } : {}),
      },
    };
  }
  return {};
}

export function auditOutcome(outcome: Outcome): AuditOutcome {
  switch (outcome.kind) {
    case 'done':
      return outcome.replay ? 'replayed' : outcome.response.outcome;
    case 'denied':
      return 'denied';
    case 'failed': {
      const { error } = outcome;
      if (error instanceof ArmUnavailableError && error.mayHaveApplied) return 'indeterminate';
      if (error instanceof ConnectionBusyError || (isRefusal(error) && error.kind === 'in-flight'))
        return 'in-flight';
      if (isRefusal(error) && error.kind === 'idempotency-key-reused') return 'invalid';
      return 'failed';
    }
    case 'accepted':
      return 'in-flight';
    default:
      return 'failed';
  }
}

export function statusOf(outcome: Outcome): number {
  if (outcome.kind === 'denied') return outcome.transition ? 409 : 403;
  if (outcome.kind === 'failed') return failureStatus(outcome.error);
  if (outcome.kind === 'accepted') return 202;
  return 200;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : 'unknown failure';
}
