import { createHash } from 'node:crypto';
import type { ApprovalDeps } from '../approval/handle-approval.js';
import { handOff } from '../approval/handle-approval.js';
import { ArmOperationRunningError } from '../arm/arm-errors.js';
import { claim, recordAndSettle } from '../approval/claim.js';
import type { Command } from '../approval/decide.js';
import { decide } from '../approval/decide.js';
import type { Logger } from '../logger.js';
import type { Decision } from '../model/approval.js';
import { DISCOVERY_CALLER } from '../model/approval.js';
import type { Outcome } from '../model/outcome.js';
import type { ConnectionId } from '../model/resource-id.js';
import { connectionKey, formatConnectionId } from '../model/resource-id.js';
import { requestIdFor } from '../store/request-id.js';

/**
 * Discovery decides through the same pipeline as any request — policy, claim, lease, GET, PUT, record — as the
 * caller `discovery:scan`, which policy grants like any other caller (`source: discovery`). The idempotency key
 * names the connection, its private endpoint and what the decision says, so two scans never decide one
 * connection twice.
 */

export { DISCOVERY_CALLER };

export interface ActDeps {
  approval: ApprovalDeps;
  now: () => number;
  newId: () => string;
  /** Budget of one decision's Resource Manager calls. */
  deadlineMs: number;
}

function commandOf(
  deps: ActDeps,
  target: ConnectionId,
  decision: Decision,
  description: string,
  logger: Logger,
): Command {
  const now = deps.now();
  const connectionId = formatConnectionId(target);
  return {
    requestId: requestIdFor(connectionId, deps.newId()),
    source: 'discovery',
    caller: DISCOVERY_CALLER,
    request: { connectionId, decision, description },
    connectionId: target,
    // The scan acts on what it saw Pending: a decision taken meanwhile stands (superseded, nothing written).
    seenStatus: 'Pending',
    dryRun: false,
    deadline: now + deps.deadlineMs,
    started: now,
    logger,
  };
}

/**
 * Whether policy would approve it for discovery: everything but the write, on the state really met. Resource Graph
 * lags behind Resource Manager by minutes, so a connection it lists as Pending that Resource Manager shows decided
 * (approved in the portal a minute ago) is `decided`: nobody is asked about it, and nothing is recorded as
 * approved by discovery. A connection the policy refuses before reading it is read all the same, for that.
 */
export async function trusted(
  deps: ActDeps,
  target: ConnectionId,
  logger: Logger,
): Promise<{ trusted: boolean; rule?: string; decided?: string }> {
  const command = { ...commandOf(deps, target, 'Approved', '', logger), dryRun: true };
  const decided = await decide(deps.approval.decide, command);
  const { outcome } = decided;
  if (outcome.kind === 'failed') throw outcome.error;
  const met =
    decided.before?.status ?? (outcome.kind === 'denied' ? await statusNow(deps, command) : undefined);
  if (met !== undefined && met.toLowerCase() !== 'pending') return { trusted: false, decided: met };
  if (outcome.kind !== 'done') return { trusted: false };
  const rule = outcome.response.policy.reasons[0]?.rule;
  return rule === undefined ? { trusted: true } : { trusted: true, rule };
}

/**
 * The connection's status in Resource Manager now (the scan's read may be minutes old); undefined when it cannot
 * be read, and people are asked on the scan's word.
 */
async function statusNow(deps: ActDeps, command: Command): Promise<string | undefined> {
  const { requestId, deadline, logger } = command;
  const context = { requestId, correlationId: deps.newId(), deadline, logger };
  try {
    const current = await deps.approval.decide.arm.getConnection(command.connectionId, context);
    return current.value.status;
  } catch (error) {
    logger.warn('discovery.check-failed', {
      connectionId: command.request.connectionId,
      error: String(error),
    });
    return undefined;
  }
}

/** A decision taken by discovery: claimed under the connection's own key, decided, recorded, settled. */
export async function act(
  deps: ActDeps,
  target: ConnectionId,
  privateEndpointId: string,
  decision: Decision,
  description: string,
  logger: Logger,
): Promise<{ requestId: string; outcome: Outcome }> {
  const command = commandOf(deps, target, decision, description, logger);
  // The key holds what the request says (its description names the rule, and an expiry its days): a key bound to
  // one body answers another 422 for as long as it is kept, so a renamed rule would stall the connection for days.
  const said = createHash('sha256').update(description).digest('hex').slice(0, 16);
  const key = `discovery:${decision}:${connectionKey(target)}:${privateEndpointId.toLowerCase()}:${said}`;
  const claimed = await claim(deps.approval.claim, command, key, { lease: true });
  if (claimed.kind === 'answered') {
    // The decision made earlier (a scan that stopped before writing it down, or one still continuing from the
    // queue): its request id leads to its record. This request's own id would lead nowhere.
    return { requestId: earlierRequestId(claimed.outcome) ?? command.requestId, outcome: claimed.outcome };
  }
  const decided = await decide(deps.approval.decide, { ...command, lease: claimed.lease });
  // A write the provider accepted and is still applying at the deadline (a long-running PUT) continues from the
  // queue, waiting on the same operation, as a request's would: ended here, the app's own write would be recorded
  // as failed. Its record, readable by its id, tells its end. Other failures end here: the next scan tries again.
  if (decided.outcome.kind === 'failed' && decided.outcome.error instanceof ArmOperationRunningError) {
    const later = { token: claimed.token, report: { kind: 'location' as const } };
    const accepted = await handOff(deps.approval, command, decided, later);
    if (accepted) return { requestId: command.requestId, outcome: accepted };
  }
  const outcome = await recordAndSettle(deps.approval, command, decided, claimed.token);
  return { requestId: command.requestId, outcome };
}

function earlierRequestId(outcome: Outcome): string | undefined {
  if (outcome.kind === 'accepted') return outcome.requestId;
  return outcome.kind === 'done' ? outcome.replay?.originalRequestId : undefined;
}
