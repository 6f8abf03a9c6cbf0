import type { ArmClient } from '../arm/arm-client.js';
import type { ConnectionId } from '../arm/resource-id.js';
import type { Logger } from '../logger.js';
import type {
  ApprovalRequest,
  ApprovalResponse,
  CallerIdentity,
  ConnectionState,
  PolicyDecision,
} from './model.js';

/** What policy sees and says. Structural, so the policy module stays free of pipeline types. */
export interface PolicyCheckInput {
  request: ApprovalRequest;
  caller: CallerIdentity;
  connection: ConnectionState;
  now: number;
}

export interface PolicyCheckResult extends PolicyDecision {
  /** What to write to ARM as the connection's description (template rendered, length capped). */
  description?: string;
  /** 409 when the transition itself is impossible (Rejected → Approved, from Disconnected), else 403. */
  status: 200 | 403 | 409;
}

export type PolicyCheck = (input: PolicyCheckInput) => PolicyCheckResult;

/**
 * The state-free part of policy (a rule covers the target and lists the caller), asked before anything is read
 * from Resource Manager so a caller who may not act cannot probe clusters through the app's identity.
 * Undefined means "go on".
 */
export type PolicyGate = (request: ApprovalRequest, caller: CallerIdentity) => PolicyCheckResult | undefined;

export interface PipelineDeps {
  arm: ArmClient;
  policy: PolicyCheck;
  policyGate?: PolicyGate;
  now: () => number;
  newId: () => string;
}

export interface ApprovalCommand {
  requestId: string;
  request: ApprovalRequest;
  connectionId: ConnectionId;
  caller: CallerIdentity;
  dryRun: boolean;
  /** Budget for every ARM call of this approval; chat sources pass a short one to answer in time. */
  deadlineMs: number;
  logger: Logger;
}

/** Refusals the pipeline decides itself; everything else it throws as a typed error (arm-errors). */
export type ApprovalResult =
  | { kind: 'done'; response: ApprovalResponse }
  | {
      kind: 'denied';
      status: 403 | 409;
      policy: PolicyDecision;
      /** Absent when policy refused the caller before the connection was read. */
      connection?: ConnectionState;
      correlationId: string;
    };

/**
 * One approval: GET the connection, ask policy (even for a no-op, so a caller who may not act learns nothing
 * from the answer), then PUT only when the state would change and this is not a dry run.
 */
export async function runApproval(deps: PipelineDeps, command: ApprovalCommand): Promise<ApprovalResult> {
  const { request, connectionId, caller, requestId, logger } = command;
  const correlationId = deps.newId();
  const context = { requestId, correlationId, deadline: deps.now() + command.deadlineMs, logger };

  const early = deps.policyGate?.(request, caller);
  if (early) {
    logger.info('policy.decision', { allowed: false, status: 403, reasons: early.reasons, before: 'read' });
    return {
      kind: 'denied',
      status: 403,
      policy: { allowed: false, reasons: early.reasons },
      correlationId,
    };
  }

  const current = await deps.arm.getConnection(connectionId, context);
  const before = current.value;
  const decision = deps.policy({ request, caller, connection: before, now: deps.now() });
  const policy: PolicyDecision = { allowed: decision.allowed, reasons: decision.reasons };
  logger.info('policy.decision', {
    allowed: decision.allowed,
    status: decision.status,
    reasons: decision.reasons,
    previousStatus: before.status,
  });
  if (!decision.allowed) {
    return {
      kind: 'denied',
      status: decision.status === 409 ? 409 : 403,
      policy,
      connection: before,
      correlationId,
    };
  }

  const arm = { status: current.status, requestId: current.armRequestId, correlationId };
  const unchanged = before.status.toLowerCase() === request.decision.toLowerCase();
  const description = decision.description ?? request.description;
  if (unchanged || command.dryRun) {
    const response: ApprovalResponse = {
      id: requestId,
      outcome: command.dryRun ? 'dry-run' : 'unchanged',
      connection: { ...before, previousStatus: before.status },
      policy,
      arm,
    };
    if (command.dryRun) {
      response.plan = { write: !unchanged, status: request.decision };
      if (!unchanged && description !== undefined) response.plan.description = description;
    }
    return { kind: 'done', response };
  }

  const updated = await deps.arm.updateConnectionState(
    connectionId,
    description === undefined ? { status: request.decision } : { status: request.decision, description },
    context,
  );
  return {
    kind: 'done',
    response: {
      id: requestId,
      outcome: request.decision === 'Approved' ? 'approved' : 'rejected',
      connection: { ...updated.value, previousStatus: before.status },
      policy,
      arm: { status: updated.status, requestId: updated.armRequestId, correlationId },
    },
  };
}
