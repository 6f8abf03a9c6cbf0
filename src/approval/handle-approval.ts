import type { ConnectionId } from '../arm/resource-id.js';
import type { ReplayMarks } from '../auth/replay-guard.js';
import { guardReplay } from '../auth/replay-guard.js';
import type { NonceStore } from '../store/nonce-store.js';
import { formatConnectionId } from '../arm/resource-id.js';
import type { RequestScope } from '../http/intake.js';
import { problem, problemResponse } from '../http/problem.js';
import type { RouteResponse } from '../http/route-types.js';
import type { AuditOutcome, AuditRecord } from '../store/audit-record.js';
import type { AuditTrail } from '../store/audit-trail.js';
import type { IdempotencyStore } from '../store/idempotency-store.js';
import { fingerprint } from '../store/idempotency-store.js';
import { ClaimLostError } from '../store/errors.js';
import { failureToProblem } from './failure.js';
import { ArmUnavailableError } from '../arm/arm-errors.js';
import type { ApprovalRequest, CallerIdentity, SourceName } from './model.js';
import type { ApprovalResult, PipelineDeps } from './pipeline.js';
import { runApproval } from './pipeline.js';

/** The store parts one approval uses: the claim and the audit trail. */
export interface ApprovalStores {
  idempotency: IdempotencyStore;
  audit: AuditTrail;
}

export interface HandleDeps {
  pipeline: PipelineDeps;
  stores: ApprovalStores & { nonces: NonceStore; ensureTables(): Promise<void> };
  now: () => number;
}

/** What happened, handed to the source so it answers in its own format. */
export type Handled = { kind: 'result'; result: ApprovalResult } | { kind: 'failure'; error: unknown };

export interface ApprovalIntake {
  source: SourceName;
  scope: RequestScope;
  caller: CallerIdentity;
  request: ApprovalRequest;
  connectionId: ConnectionId;
  dryRun: boolean;
  deadlineMs: number;
  /** `Idempotency-Key` header or the source's delivery id; a payload fingerprint when neither exists. */
  idempotencyKey?: string;
  /** Replay marks from authentication; absent when the route already ran the replay guard itself. */
  marks?: ReplayMarks;
  render(handled: Handled): RouteResponse;
}

export const REPLAYED_HEADER = 'idempotent-replayed';

/**
 * After authentication and validation: the replay guard, then claim the idempotency key (atomic, across instances),
 * run the approval, record it in the audit trail, and store the answer for retries. A request that fails or is
 * refused after it was accepted is recorded, and released so a retry may try again.
 */
export async function handleApproval(deps: HandleDeps, intake: ApprovalIntake): Promise<RouteResponse> {
  const { scope, request, source } = intake;
  // Without a key from the caller, the key is what makes it "the same approval" — for this caller only — and the
  // payload is compared on those same parts, so a caller that sent no key never gets a 422.
  const derivedParts = { source, caller: intake.caller.id, request: requestKeyParts(request) };
  const derived = fingerprint(derivedParts);
  const payloadFingerprint =
    intake.idempotencyKey === undefined
      ? derived
      : fingerprint({ source, request, caller: intake.caller.id });
  const key = `${source}:${intake.idempotencyKey ?? `fp:${derived}`}`;
  const audit = auditor(deps, intake);

  await deps.stores.ensureTables();
  if (intake.marks) {
    const replayed = await guardReplay(
      deps.stores.nonces,
      intake.marks,
      intake.idempotencyKey,
      scope,
      intake.dryRun,
    );
    if (replayed) return replayed;
  }

  if (intake.dryRun) {
    // A dry run changes nothing, so it claims no key and stores no answer.
    const handled = await run(deps, intake);
    const response = intake.render(handled);
    await audit(handled, response);
    return response;
  }

  const claim = await deps.stores.idempotency.claim(key, payloadFingerprint, scope.requestId);
  if (claim.kind === 'replay') {
    scope.logger.info('idempotency.replayed', { originalRequestId: claim.response.requestId });
    await audit.raw('replayed', claim.response.status);
    return {
      status: claim.response.status,
      headers: { ...claim.response.headers, [REPLAYED_HEADER]: 'true', 'x-request-id': scope.requestId },
      body: claim.response.body,
    };
  }
  if (claim.kind === 'mismatch') {
    const response = problemResponse(
      problem(
        'idempotencyMismatch',
        scope.requestId,
        'This idempotency key was already used with a different payload. Use a new key for a different request, or resend the original payload unchanged.',
      ),
    );
    await audit.raw('invalid', response.status);
    return response;
  }
  if (claim.kind === 'in-flight') {
    const response = problemResponse(
      problem(
        'inFlight',
        scope.requestId,
        `The same request is still being processed by another attempt; retry after ${claim.retryAfterSeconds} s to get its answer.`,
      ),
      { 'retry-after': String(claim.retryAfterSeconds) },
    );
    await audit.raw('in-flight', response.status);
    return response;
  }

  const handled = await run(deps, intake);
  const response = intake.render(handled);
  // Only a completed approval is kept for replay. Failures and refusals are released, so a retry after the
  // cause is fixed (ARM back, policy changed, transition) is evaluated again rather than answered from storage.
  const settle =
    handled.kind === 'result' && handled.result.kind === 'done'
      ? deps.stores.idempotency.complete(claim.token, {
          status: response.status,
          headers: response.headers,
          body: response.body,
          requestId: scope.requestId,
        })
      : deps.stores.idempotency.release(claim.token, {
          status: response.status,
          detail: handled.kind === 'failure' ? failureDetail(handled.error) : 'refused by policy',
        });
  await Promise.all([
    audit(handled, response),
    settle.catch((error: unknown) => {
      // The work is done (a PUT may have landed) and the caller gets its answer: failing to keep the replay copy
      // must not turn it into "try again". A retry then runs the GET-first flow and converges.
      scope.logger.error('idempotency.settle-failed', {
        error: error instanceof Error ? error.name : 'unknown',
        message: error instanceof Error ? error.message : undefined,
        lostLease: error instanceof ClaimLostError,
      });
    }),
  ]);
  return response;
}

async function run(deps: HandleDeps, intake: ApprovalIntake): Promise<Handled> {
  try {
    const result = await runApproval(deps.pipeline, {
      requestId: intake.scope.requestId,
      request: intake.request,
      connectionId: intake.connectionId,
      caller: intake.caller,
      dryRun: intake.dryRun,
      deadlineMs: intake.deadlineMs,
      logger: intake.scope.logger,
    });
    return { kind: 'result', result };
  } catch (error) {
    return { kind: 'failure', error };
  }
}

/** What identifies "the same approval" when the caller gives no key: who, which connection, which way, why. */
function requestKeyParts(request: ApprovalRequest): unknown {
  return {
    connectionId: request.connectionId.toLowerCase(),
    decision: request.decision,
    ticket: request.ticket,
  };
}

function failureDetail(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : 'unknown failure';
}

type Auditor = ((handled: Handled, response: RouteResponse) => Promise<void>) & {
  raw(outcome: AuditOutcome, httpStatus: number): Promise<void>;
};

function auditor(deps: HandleDeps, intake: ApprovalIntake): Auditor {
  const { scope, request, caller } = intake;
  const base = (): Omit<AuditRecord, 'outcome' | 'httpStatus'> => {
    const record: Omit<AuditRecord, 'outcome' | 'httpStatus'> = {
      requestId: scope.requestId,
      time: new Date(scope.started).toISOString(),
      source: intake.source,
      callerId: caller.id,
      callerScheme: caller.scheme,
      connectionId: formatConnectionId(intake.connectionId),
      decision: request.decision,
      durationMs: Math.round(deps.now() - scope.started),
    };
    if (request.approver !== undefined) record.approver = request.approver;
    if (request.requester !== undefined) record.requester = request.requester;
    if (request.ticket !== undefined) record.ticket = request.ticket;
    return record;
  };
  const write = async (record: AuditRecord): Promise<void> => {
    try {
      await deps.stores.audit.append(record);
    } catch (error) {
      // The answer stands (the change may have happened); the log line keeps the record.
      scope.logger.error('audit.append-failed', {
        record,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };
  const fn = async (handled: Handled, response: RouteResponse): Promise<void> => {
    const record: AuditRecord = { ...base(), outcome: 'failed', httpStatus: response.status };
    if (handled.kind === 'result') {
      const r = handled.result;
      if (r.kind === 'done') {
        record.outcome = r.response.outcome;
        record.previousStatus = r.response.connection.previousStatus;
        record.newStatus = r.response.connection.status;
        record.arm = { status: r.response.arm.status, correlationId: r.response.arm.correlationId };
        if (r.response.arm.requestId) record.arm.requestId = r.response.arm.requestId;
        if (r.response.policy.reasons.length > 0) record.policyReasons = r.response.policy.reasons;
      } else {
        record.outcome = 'denied';
        if (r.connection) record.previousStatus = r.connection.status;
        record.policyReasons = r.policy.reasons;
        record.arm = { correlationId: r.correlationId };
      }
    } else {
      if (handled.error instanceof ArmUnavailableError && handled.error.mayHaveApplied)
        record.outcome = 'indeterminate';
      const { problem: p } = failureToProblem(handled.error, scope.requestId);
      const arm = p.arm as
        | { status?: number; code?: string; message?: string; requestId?: string; correlationId?: string }
        | undefined;
      if (arm) {
        record.arm = { status: arm.status, requestId: arm.requestId, correlationId: arm.correlationId };
        if (arm.code || arm.message) record.arm.error = { code: arm.code, message: arm.message };
      }
    }
    await write(record);
  };
  return Object.assign(fn, {
    raw: async (outcome: AuditOutcome, httpStatus: number) => write({ ...base(), outcome, httpStatus }),
  });
}
