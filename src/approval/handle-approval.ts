import type { CallerIdentity, ReportTarget } from '../model/approval.js';
import type { ReplayCheck, ReplayMarks } from '../auth/replay-guard.js';
import { replayCheck } from '../auth/replay-guard.js';
import type { Envelope } from '../http/envelope.js';
import { checkEnvelope } from '../http/envelope.js';
import type { RouteRequest } from '../http/route-types.js';
import type { Logger } from '../logger.js';
import type { Handled, Outcome } from '../model/outcome.js';
import { isRefusal } from '../model/refusal.js';
import type { ConnectionId } from '../model/resource-id.js';
import { connectionKey, formatConnectionId } from '../model/resource-id.js';
import type { NonceStore } from '../store/nonce-store.js';
import { chainPartition } from '../store/keys.js';
import { requestIdFor } from '../store/request-id.js';
import type { ClaimToken } from '../store/idempotency-store.js';
import type { Attempt, Carry } from '../store/operation-store.js';
import type { ClaimDeps } from './claim.js';
import type { ConnectionShare } from './connection-share.js';
import { claim, recordAndSettle, refusedKey } from './claim.js';
import type { LaterDeps } from './continue-later.js';
import { continueLater } from './continue-later.js';
import type { Command, Decided, DecideDeps } from './decide.js';
import { decide, gated, readStatus, typeNotEnabled } from './decide.js';
import { askedWaitMs, attemptOf, carryOf, giveBack, isTransient } from './job.js';
import type { RecordDeps } from './record.js';
import { record, statusOf } from './record.js';
import type { Intent, Source } from './source.js';

export interface ApprovalDeps {
  decide: DecideDeps;
  claim: ClaimDeps;
  record: RecordDeps;
  later: LaterDeps;
  nonces: NonceStore;
  /** Turns per connection: a flood on one connection does not queue the others behind it. */
  share: ConnectionShare;
  /** Registry types this deployment may act on. */
  enabledTypes: ReadonlySet<string>;
  now: () => number;
}

/** Per-request identity: every step logs with it and every answer carries it. */
export interface RequestScope {
  requestId: string;
  started: number;
  logger: Logger;
}

/**
 * One request, top to bottom: admit the envelope (size, type, query) → authenticate over the raw bytes →
 * validate the payload → a turn on its connection in this process → the state-free policy gate → refuse a replay
 * → claim the idempotency key with the connection's lease (one transaction, which also writes a new decision's
 * replay marks) → decide (GET, policy, PUT) → record and settle the claim (one transaction). Work that cannot
 * finish while the caller waits (asked for with `Prefer: respond-async`, or a transient failure within the
 * caller's budget) continues from the queue and is answered `accepted`. Every step returns a domain value or
 * throws; the route turns the result into its caller's reply. Nothing before the replay guard writes anything or
 * calls Resource Manager, and a replay is refused before anything else is written.
 */
export async function handleApproval(
  deps: ApprovalDeps,
  source: Source,
  request: RouteRequest,
  intake: RequestScope,
): Promise<Handled> {
  let scope = intake;
  let report: ReportTarget | undefined;
  const handled = (outcome: Outcome): Handled =>
    report ? { requestId: scope.requestId, outcome, report } : { requestId: scope.requestId, outcome };
  let command: Command | undefined;
  let leave: (() => void) | undefined;
  try {
    const envelope = checkEnvelope(request, source.accepts, source.query);
    if (source.isProbe?.(request)) return handled({ kind: 'ping' });
    const authenticated = await source.authenticate(request);
    const admission = source.admit(request.body, authenticated, deps.now());
    // Help and pings read and write nothing: one sent again is answered again, with no replay mark to write.
    if (admission.intent.kind === 'answer') return handled(admission.intent.outcome);
    const intent = admission.intent;
    scope = named(deps, scope, intent.connectionId);
    if (intent.kind === 'decide') report = reportOf(intent.report, envelope, source);
    refuseDisabledType(deps.enabledTypes, intent.connectionId);
    // The caller's budget counts from here: waiting for a turn uses it up.
    const admitted = deps.now();
    const queued = goesToQueue(source, envelope, report);
    const turn = () => deps.share.enter(connectionKey(intent.connectionId), admitted + source.deadlineMs / 2);
    // Work that goes straight to the queue (a 202 at once) takes no turn: the queue's attempt does the work.
    if (!queued) leave = await turn();
    command = toCommand(source, admission.caller, intent, envelope.dryRun, scope, admitted);
    const { gate, marks } = await gateAndMarks(deps, command, intent.kind, admission.marks, envelope, queued);
    if (intent.kind === 'status') return handled(await readStatus(deps.decide, command));
    const key = envelope.idempotencyKey ?? intent.deliveryKey;
    // A refusal's key is bound to its body all the same, so the same key with another body is 422 even after it.
    if (gate) {
      const repeat = command.dryRun ? undefined : await refusedKey(deps.claim, command, key);
      const decided =
        repeat?.kind === 'answered' ? answered(repeat.outcome) : refusedAtGate(deps, command, gate);
      return handled(await record(deps.record, command, decided));
    }
    // Work for the queue is claimed without the lease: the queue's attempt takes it when it runs.
    const claimed = command.dryRun
      ? undefined
      : await claim(deps.claim, command, key, { lease: !queued, marks });
    if (claimed?.kind === 'answered')
      return handled(await record(deps.record, command, answered(claimed.outcome)));
    const token = claimed?.token;
    const later = token && report ? { token, report } : undefined;
    if (later && queued) {
      const accepted = await tryLater(deps, command, later, []);
      if (accepted) return handled(accepted);
      // Without a queue to take it, the work is done while the caller waits (a 200), in its turn like any other.
      leave = await turn();
    }
    // Calls are retried within the caller's budget; what still fails transiently at its end goes to the queue.
    const decided = await decide(deps.decide, { ...command, lease: claimed?.lease });
    if (later && isTransient(decided.outcome)) {
      const accepted = await handOff(deps, command, decided, later);
      if (accepted) return handled(accepted);
    }
    return handled(await recordAndSettle(deps, command, decided, token));
  } catch (error) {
    return handled(await failed(deps, command, error));
  } finally {
    leave?.();
  }
}

/**
 * Refused or failed before anything was decided: recorded once a command exists (a duplicate, a reused key), but
 * never a replay, of which nothing is written.
 */
async function failed(deps: ApprovalDeps, command: Command | undefined, error: unknown): Promise<Outcome> {
  const outcome: Outcome = { kind: 'failed', error };
  if (command === undefined || !isRefusal(error) || error.kind === 'replayed') return outcome;
  return record(deps.record, command, { outcome, correlationId: '' });
}

/**
 * The state-free policy gate (a caller policy does not list is refused before the claim, the lease and any read of
 * the connection), and the message's replay marks. A new decision's marks go in the transaction that claims its
 * key and takes the connection's lease (returned, for the claim to carry); every other request's are judged here,
 * on their own. Either way a replay is refused before anything else is written or read.
 */
async function gateAndMarks(
  deps: ApprovalDeps,
  command: Command,
  kind: Exclude<Intent, { kind: 'answer' }>['kind'],
  marks: ReplayMarks,
  envelope: Envelope,
  queued: boolean,
): Promise<{ gate?: Outcome; marks?: ReplayCheck }> {
  const gate = kind === 'decide' ? gated(deps.decide, command) : undefined;
  // What is signed names the connection, so a message's marks are met beside its chain whenever it comes again;
  // but a delivery id accepted once whatever it names (Teams) must be met wherever it comes: in its own table.
  const beside = marks.delivery?.retries !== false;
  const chain = chainPartition(formatConnectionId(command.connectionId));
  const nonces = beside ? deps.nonces.beside(chain) : deps.nonces;
  const check = replayCheck(nonces, marks, envelope.idempotencyKey, envelope.dryRun);
  if (beside && !check.empty && kind === 'decide' && !envelope.dryRun && !queued && !gate)
    return { marks: check };
  await check.settle();
  return gate ? { gate } : {};
}

/**
 * Where a decision's outcome goes when it ends after the answer: the caller's own channel (a work note, a
 * chat message, a Location), or, for a caller that can poll and asked with `Prefer: respond-async`, its Location.
 */
function reportOf(
  own: ReportTarget | undefined,
  envelope: Envelope,
  source: Source,
): ReportTarget | undefined {
  return own ?? (asksForLocation(source, envelope) ? { kind: 'location' } : undefined);
}

/** `Prefer: respond-async` from a caller that can poll a Location (the other routes do not vary on it). */
function asksForLocation(source: Source, envelope: Envelope): boolean {
  return envelope.respondAsync && source.pollable === true;
}

/**
 * A decision the caller asked to continue from the queue (`Prefer: respond-async` where it can poll, a Slack
 * click). Only a decision has somewhere to report to.
 */
function goesToQueue(source: Source, envelope: Envelope, report: ReportTarget | undefined): boolean {
  if (envelope.dryRun || report === undefined) return false;
  return asksForLocation(source, envelope) || source.respondAsync === true;
}

function refusedAtGate(deps: ApprovalDeps, command: Command, gate: Outcome): Decided {
  command.logger.info('policy.decision', { allowed: false, status: statusOf(gate), before: 'read' });
  return { outcome: gate, correlationId: deps.decide.newId() };
}

function answered(outcome: Outcome): { outcome: Outcome; correlationId: string } {
  return { outcome, correlationId: outcome.kind === 'done' ? outcome.response.arm.correlationId : '' };
}

/** A transient failure the caller need not wait out: the work continues from the queue. Undefined if it cannot. */
export async function handOff(
  deps: ApprovalDeps,
  command: Command,
  decided: Decided,
  later: Later,
): Promise<Outcome | undefined> {
  await giveBack(deps.decide.audit, decided);
  const before = decided.before?.status;
  // The state met now: if another decision changes it before the queue runs this one, this one is stale.
  const seen = before === undefined ? {} : { seenStatus: before };
  const now = deps.now();
  const attempts = [attemptOf(decided, now)];
  return tryLater(
    deps,
    command,
    later,
    attempts,
    { ...carryOf(decided, {}, now), ...seen },
    askedWaitMs(decided),
  );
}

type Later = { token: ClaimToken; report: ReportTarget };

async function tryLater(
  deps: ApprovalDeps,
  command: Command,
  later: Later,
  attempts: Attempt[],
  carry: Carry & { seenStatus?: string } = {},
  askedMs = 0,
): Promise<Outcome | undefined> {
  try {
    return await continueLater(deps.later, command, later.token, later.report, attempts, carry, askedMs);
  } catch (error) {
    command.logger.warn('approval.hand-off-failed', {
      error: error instanceof Error ? error.name : 'unknown',
    });
    return undefined;
  }
}

/**
 * From admission on, the request's id names its connection's audit chain: a chained record is then found by that
 * id through a row written in its own transaction, with no locator of its own. Nothing before admission logs or
 * answers under the id the request arrived with, so every trace of an admitted request carries this one.
 */
function named(deps: ApprovalDeps, scope: RequestScope, connectionId: ConnectionId): RequestScope {
  const requestId = requestIdFor(formatConnectionId(connectionId), deps.decide.newId());
  return { ...scope, requestId, logger: scope.logger.child({ requestId }) };
}

/** A type the deployment did not enable is refused before anything is written or read. */
function refuseDisabledType(enabled: ReadonlySet<string>, connectionId: ConnectionId): void {
  const refusal = typeNotEnabled(enabled, connectionId);
  if (refusal) throw refusal;
}

function toCommand(
  source: Source,
  caller: CallerIdentity,
  intent: Exclude<Intent, { kind: 'answer' }>,
  dryRun: boolean,
  scope: RequestScope,
  now: number,
): Command {
  return {
    requestId: scope.requestId,
    source: source.name,
    caller,
    request: intent.request,
    connectionId: intent.connectionId,
    dryRun,
    deadline: now + source.deadlineMs,
    started: scope.started,
    logger: scope.logger,
  };
}
