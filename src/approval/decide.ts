import type { ArmCallContext, ArmClient, ArmResult } from '../arm/arm-client.js';
import { ArmError, ConnectionSettlingError } from '../arm/arm-errors.js';
import type { Logger } from '../logger.js';
import type {
  ApprovalRequest,
  ApprovalResponse,
  CallerIdentity,
  ConnectionState,
  Decision,
  PolicyDecision,
  SourceName,
} from '../model/approval.js';
import type { Outcome } from '../model/outcome.js';
import { Refusal } from '../model/refusal.js';
import { isSettling } from '../model/provider-registry.js';
import type { ConnectionId } from '../model/resource-id.js';
import { formatConnectionId } from '../model/resource-id.js';
import type { AuditTrail, ChainLease } from '../store/audit-trail.js';

/** What policy sees and says. Structural, so the policy module stays free of approval types. */
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
 * from Resource Manager so a caller who may not act cannot probe connections through the app's identity.
 * Undefined means "go on".
 */
export type PolicyGate = (request: ApprovalRequest, caller: CallerIdentity) => PolicyCheckResult | undefined;

export interface DecideDeps {
  arm: ArmClient;
  /** Registry types this deployment may act on: checked on every path, the queue's included. */
  enabledTypes?: ReadonlySet<string>;
  policy: PolicyCheck;
  policyGate?: PolicyGate;
  audit: AuditTrail;
  now: () => number;
  newId: () => string;
}

/** One accepted request, ready to be decided. */
export interface Command {
  requestId: string;
  source: SourceName;
  caller: CallerIdentity;
  request: ApprovalRequest;
  connectionId: ConnectionId;
  dryRun: boolean;
  /** Epoch ms by which every Resource Manager call (and the wait for the connection's lease) must be done. */
  deadline: number;
  started: number;
  logger: Logger;
  /** Who holds the connection's lease for this attempt (default: the request id). */
  leaseOwner?: string;
  /** The connection's lease, when it was taken with the claim; otherwise `decide` takes it. */
  lease?: ChainLease;
  /** Called with the status about to be replaced, right before the PUT; throwing stops the attempt unwritten. */
  beforeWrite?: (previousStatus: string, correlationId: string) => Promise<void>;
  /** The status seen when the request was accepted: if another decision changed it since, this one is stale. */
  seenStatus?: string;
  /**
   * An earlier attempt's PUT started a long-running operation that was still running: wait for it (the
   * decision was made then) instead of reading and writing again.
   */
  resume?: { token: string; previousStatus: string };
}

/** A decision and what its record needs. */
export interface Decided {
  outcome: Outcome;
  correlationId: string;
  /** The state the decision met, when it was read. */
  before?: ConnectionState;
  /** Held from before the read until the record is appended: the record goes into the connection's chain. */
  lease?: ChainLease;
}

/**
 * One decision: the state-free policy gate, then — for a real decision — the connection's lease, so no other
 * decision on it runs between our read and our write; then GET, policy on the state really met, and a PUT only
 * when the state would change. A dry run takes no lease: it changes nothing and must not wait for those that do.
 * Never throws: failures are outcomes, so whatever happened is recorded.
 */
export async function decide(deps: DecideDeps, command: Command): Promise<Decided> {
  const correlationId = deps.newId();
  let lease = command.lease;
  // A lease taken with the claim goes with the outcome even when nothing is read, so the record releases it.
  const held = (): { lease?: ChainLease } => (lease ? { lease } : {});
  const disabled = disabledType(deps, command);
  if (disabled) return { outcome: { kind: 'failed', error: disabled }, correlationId, ...held() };
  const gate = gated(deps, command);
  if (gate) {
    command.logger.info('policy.decision', { allowed: false, status: 403, before: 'read' });
    return { outcome: gate, correlationId, ...held() };
  }
  let before: ConnectionState | undefined;
  try {
    if (!command.dryRun && lease === undefined) {
      // Work resumed from the queue and discovery's own decisions: the claim was taken apart from the lease.
      lease = await deps.audit.lease(
        formatConnectionId(command.connectionId),
        command.leaseOwner ?? command.requestId,
        command.deadline,
      );
    }
    const context = armContext(command, correlationId);
    if (command.resume) {
      const outcome = await awaitOperation(deps, command, context, command.resume);
      return { outcome, correlationId, ...held() };
    }
    const current = await deps.arm.getConnection(command.connectionId, context);
    before = current.value;
    const outcome = await applyPolicy(deps, command, context, current.value, current);
    return { outcome, correlationId, before, ...held() };
  } catch (error) {
    const decided: Decided = { outcome: { kind: 'failed', error }, correlationId };
    if (before) decided.before = before;
    if (lease) decided.lease = lease;
    return decided;
  }
}

async function applyPolicy(
  deps: DecideDeps,
  command: Command,
  context: ArmCallContext,
  before: ConnectionState,
  read: { status: number; armRequestId: string | undefined },
): Promise<Outcome> {
  const { request, caller } = command;
  if (isSettling(command.connectionId.provider, before.provisioningState)) {
    throw new ConnectionSettlingError(before.provisioningState ?? '', context.correlationId);
  }
  const refused =
    anotherEndpoint(command, before) ?? supersededBy(command, before) ?? providerRefusal(command, before);
  if (refused) return refused;
  const verdict = deps.policy({ request, caller, connection: before, now: deps.now() });
  command.logger.info('policy.decision', {
    allowed: verdict.allowed,
    status: verdict.status,
    reasons: verdict.reasons,
    previousStatus: before.status,
  });
  if (!verdict.allowed) return denied(verdict, before);

  const policy: PolicyDecision = { allowed: true, reasons: verdict.reasons };
  const unchanged = before.status.toLowerCase() === request.decision.toLowerCase();
  // The policy's rendering (cleaned and capped), '' meaning none; only a policy that renders none passes the
  // caller's text on as it came.
  const description =
    verdict.description === undefined ? request.description : verdict.description || undefined;
  if (unchanged || command.dryRun) {
    const response: ApprovalResponse = {
      id: command.requestId,
      outcome: command.dryRun ? 'dry-run' : 'unchanged',
      connection: { ...before, previousStatus: before.status },
      policy,
      arm: { status: read.status, requestId: read.armRequestId, correlationId: context.correlationId },
    };
    if (command.dryRun) {
      response.plan = { write: !unchanged, status: request.decision };
      // The description the PUT would carry, the one a provider requiring it would get included.
      const planned = withDescription(command, description).description;
      if (!unchanged && planned !== undefined) response.plan.description = planned;
    }
    return { kind: 'done', response };
  }
  const update = { status: request.decision, from: before.status, ...withDescription(command, description) };
  await command.beforeWrite?.(before.status, context.correlationId);
  const updated = await write(deps, command, context, update);
  return changed(command, updated, before.status, policy, context);
}

/** The outcome of a write that landed: what the connection is now, and what it was. */
function changed(
  command: Command,
  updated: ArmResult<ConnectionState>,
  previousStatus: string,
  policy: PolicyDecision,
  context: ArmCallContext,
): Outcome {
  const now = updated.value.status;
  if (now.toLowerCase() !== command.request.decision.toLowerCase()) {
    // A long-running change that ended with the connection decided otherwise: another decision won.
    const message = `the connection is ${now}, not ${command.request.decision}: another decision changed it while this one was applied`;
    return {
      kind: 'denied',
      transition: true,
      policy: { allowed: false, reasons: [{ rule: 'superseded', message }] },
      connection: updated.value,
    };
  }
  return {
    kind: 'done',
    response: {
      id: command.requestId,
      outcome: command.request.decision === 'Approved' ? 'approved' : 'rejected',
      connection: { ...updated.value, previousStatus },
      policy,
      arm: { status: updated.status, requestId: updated.armRequestId, correlationId: context.correlationId },
    },
  };
}

/** A provider that requires a description gets one that says who asked (quirk `description-required`). */
function withDescription(command: Command, description: string | undefined): { description?: string } {
  if (description !== undefined) return { description };
  if (!command.connectionId.provider.quirks.includes('description-required')) return {};
  return {
    description: `${command.request.decision} by private-link-approver (request ${command.requestId})`,
  };
}

/**
 * The PUT. A provider that refuses to write the status a connection already has (quirk `repeat-answers-400`)
 * is read back after a 400: when the status is the one asked for, an earlier write of ours landed.
 */
async function write(
  deps: DecideDeps,
  command: Command,
  context: ArmCallContext,
  update: { status: Decision; description?: string; from?: string },
): Promise<ArmResult<ConnectionState>> {
  try {
    return await deps.arm.updateConnectionState(command.connectionId, update, context);
  } catch (error) {
    const repeat =
      error instanceof ArmError &&
      error.status === 400 &&
      command.connectionId.provider.quirks.includes('repeat-answers-400');
    if (!repeat) throw error;
    const now = await deps.arm.getConnection(command.connectionId, context);
    if (now.value.status.toLowerCase() !== update.status.toLowerCase()) throw error;
    return now;
  }
}

/** The wait for an operation an earlier attempt started; the decision and its policy were made then. */
async function awaitOperation(
  deps: DecideDeps,
  command: Command,
  context: ArmCallContext,
  resume: { token: string; previousStatus: string },
): Promise<Outcome> {
  const updated = await deps.arm.resumeUpdate(
    command.connectionId,
    resume.token,
    { status: command.request.decision, from: resume.previousStatus },
    context,
  );
  const reasons = [
    { rule: 'resumed', message: 'decided when the write was sent; this attempt saw it finish' },
  ];
  return changed(command, updated, resume.previousStatus, { allowed: true, reasons }, context);
}

/** A provider that decides only Pending connections (quirk `decides-pending-only`) is not asked to do more. */
function providerRefusal(command: Command, before: ConnectionState): Outcome | undefined {
  const { provider } = command.connectionId;
  const status = before.status.toLowerCase();
  if (!provider.quirks.includes('decides-pending-only') || status === 'pending') return undefined;
  if (status === command.request.decision.toLowerCase()) return undefined;
  const message = `${provider.type} decides only Pending connections, and this one is ${before.status}; the consumer must delete and re-create its private endpoint for a new decision`;
  return {
    kind: 'denied',
    transition: true,
    policy: { allowed: false, reasons: [{ rule: 'transitions', message }] },
    connection: before,
  };
}

/**
 * A decision about the connection of one private endpoint (what the people deciding were shown) that finds it
 * now comes from another (deleted and made again under the same name): that one was never shown, so nothing is
 * written, and the answer is 409.
 */
function anotherEndpoint(command: Command, before: ConnectionState): Outcome | undefined {
  const shown = command.request.privateEndpointId;
  const now = before.privateEndpointId;
  if (shown === undefined || now === undefined || shown.toLowerCase() === now.toLowerCase()) return undefined;
  const message = `the connection now comes from private endpoint ${now}, not ${shown} that was shown when this decision was asked for; nothing was written. Look at the connection again before deciding.`;
  return {
    kind: 'denied',
    transition: true,
    policy: { allowed: false, reasons: [{ rule: 'another-endpoint', message }] },
    connection: before,
  };
}

/**
 * Work accepted earlier that finds the connection changed by someone else since (not to the status it asks for):
 * the later decision stands, and this one is answered 409 without a write.
 */
function supersededBy(command: Command, before: ConnectionState): Outcome | undefined {
  const seen = command.seenStatus?.toLowerCase();
  const now = before.status.toLowerCase();
  if (seen === undefined || now === seen || now === command.request.decision.toLowerCase()) return undefined;
  const message = `the connection went from ${command.seenStatus} to ${before.status} after this request was accepted; the later change stands and nothing was written. Send the decision again if it still applies.`;
  return {
    kind: 'denied',
    transition: true,
    policy: { allowed: false, reasons: [{ rule: 'superseded', message }] },
    connection: before,
  };
}

const disabledType = (deps: DecideDeps, command: Command): Refusal | undefined =>
  typeNotEnabled(deps.enabledTypes, command.connectionId);

/** A type the deployment does not (or no longer) enable: nothing is read or written for it. */
export function typeNotEnabled(
  enabledTypes: ReadonlySet<string> | undefined,
  connectionId: ConnectionId,
): Refusal | undefined {
  const { type } = connectionId.provider;
  if (enabledTypes === undefined || enabledTypes.has(type)) return undefined;
  return new Refusal(
    'forbidden',
    `This deployment does not act on ${type} connections. The operator enables the type (ENABLED_RESOURCE_TYPES, and enabledResourceTypes in infra/ so the app's role covers it).`,
    { reason: 'type-not-enabled', supportedTypes: [...enabledTypes] },
  );
}

/**
 * The state-free part of policy (is this caller listed for this connection and decision at all), answered
 * before anything is read or queued; undefined when it does not already deny.
 */
export function gated(deps: DecideDeps, command: Command): Outcome | undefined {
  const gate = deps.policyGate?.(command.request, command.caller);
  return gate === undefined ? undefined : denied(gate);
}

/** A chat `status` read: only for callers some rule lists for this connection, decided before the read. */
export async function readStatus(deps: DecideDeps, command: Command): Promise<Outcome> {
  const disabled = disabledType(deps, command);
  if (disabled) return { kind: 'failed', error: disabled };
  const gate = gated(deps, command);
  if (gate) return gate;
  try {
    const current = await deps.arm.getConnection(command.connectionId, armContext(command, deps.newId()));
    return { kind: 'status', connection: current.value };
  } catch (error) {
    return { kind: 'failed', error };
  }
}

function denied(verdict: PolicyCheckResult, connection?: ConnectionState): Outcome {
  const policy = { allowed: false, reasons: verdict.reasons };
  return connection
    ? { kind: 'denied', transition: verdict.status === 409, policy, connection }
    : { kind: 'denied', transition: verdict.status === 409, policy };
}

function armContext(command: Command, correlationId: string): ArmCallContext {
  return {
    requestId: command.requestId,
    correlationId,
    deadline: command.deadline,
    logger: command.logger,
  };
}
