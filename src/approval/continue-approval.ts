import type { Logger } from '../logger.js';
import type { Handled } from '../model/outcome.js';
import { parseConnectionId } from '../model/resource-id.js';
import { WorkAbandonedError } from '../model/work-abandoned.js';
import { ArmUnavailableError } from '../arm/arm-errors.js';
import type { AuditTrail } from '../store/audit-trail.js';
import type { Carry, Operation, OperationPatch, StoredResult } from '../store/operation-store.js';
import { MAX_ATTEMPTS_KEPT } from '../store/operation-store.js';
import { settle, unrecorded, type ClaimDeps } from './claim.js';
import type { LaterDeps } from './continue-later.js';
import { nextDelayMs } from './continue-later.js';
import type { Command, Decided, DecideDeps } from './decide.js';
import { decide } from './decide.js';
import { askedWaitMs, attemptOf, carryOf, changeMayLand, giveBack, isTransient, reconcile } from './job.js';
import type { RecordDeps } from './record.js';
import { recordSettling } from './record.js';

export interface ContinueDeps {
  decide: DecideDeps;
  later: LaterDeps;
  claim: ClaimDeps;
  record: RecordDeps;
  audit: AuditTrail;
  now: () => number;
  /** Budget of one attempt from the queue (Resource Manager calls and the wait for the connection's lease). */
  attemptMs: number;
  /** How long a worker holds an operation before another may take it over (longer than an attempt). */
  leaseMs: number;
}

/** The row moved on under this worker (its lease ran out and another took it): it stops, writing nothing. */
export class OperationLostError extends Error {
  override readonly name = 'OperationLostError';
}

/** Another worker holds the row: the message comes back after its visibility timeout and looks again. */
export class OperationBusyError extends Error {
  override readonly name = 'OperationBusyError';
}

/** An approval that ended from the queue: what its reply needs. */
export interface Ended {
  command: Command;
  decided: Decided;
  operation: Operation;
}

export type Continued =
  | { kind: 'not-run'; why: string; operation?: Operation }
  | { kind: 'retrying'; attempts: number }
  | ({ kind: 'ended' } & Ended);

/**
 * One attempt of a queued approval: take the row (one worker at a time, only for the message of its current
 * generation), decide exactly as a request does, then either schedule the next attempt (a transient failure,
 * before the work's deadline) or hand back the end (`finishApproval`). Anything unexpected gives the row back
 * and rethrows, so the message returns and, failing every time, ends in the poison queue.
 */
export async function continueApproval(
  deps: ContinueDeps,
  job: { requestId: string; generation: number },
  owner: string,
  logger: Logger,
): Promise<Continued> {
  const taken = await deps.later.operations.take(job.requestId, job.generation, owner, deps.leaseMs);
  if (taken.kind === 'busy') throw new OperationBusyError(`operation ${job.requestId} is running elsewhere`);
  if (taken.kind === 'none') return { kind: 'not-run', why: taken.why, ...optional(taken.operation) };
  let operation = taken.operation;
  const now = deps.now();
  try {
    if (taken.takenOver) {
      // The audit then shows why a PUT may have landed before this attempt read the connection.
      operation = await keep(deps, operation, {
        attempts: withAttempt(operation, { at: iso(now), code: 'WorkerLost' }),
      });
    }
    const holder: Holder = { operation, putHere: false };
    const command = commandOf(deps, holder, owner, now, logger);
    const decided = await decide(deps.decide, command);
    operation = holder.operation;
    if (decided.outcome.kind === 'failed' && decided.outcome.error instanceof OperationLostError) {
      // Whoever took the row over decides; the connection's lease must not hold it up until it runs out.
      await giveBack(deps.audit, decided, mayStillLand(operation.carry, deps.now(), deps.leaseMs));
      return { kind: 'not-run', why: 'lost' };
    }
    if (isTransient(decided.outcome) && now < operation.deadline)
      return await retryLater(deps, operation, decided, { now, putHere: holder.putHere }, logger);
    const attempts = isTransient(decided.outcome)
      ? withAttempt(operation, attemptOf(decided, now))
      : operation.attempts;
    const ended = { ...operation, attempts };
    return {
      kind: 'ended',
      command,
      decided: reconcile(decided, operation.work.request, operation.carry),
      operation: ended,
    };
  } catch (error) {
    await deps.later.operations
      .update(operation, { state: 'queued', owner: '', leaseUntil: 0 })
      .catch(() => undefined);
    throw error;
  }
}

/** The attempt's row as it goes, and whether this attempt sent a PUT (its own clock does not tell). */
interface Holder {
  operation: Operation;
  putHere: boolean;
}

/** The command as accepted, with this attempt's lease owner and the fence before the PUT. */
function commandOf(deps: ContinueDeps, holder: Holder, owner: string, now: number, logger: Logger): Command {
  const { work } = holder.operation;
  return {
    requestId: holder.operation.requestId,
    source: work.source,
    caller: work.caller,
    request: work.request,
    connectionId: parseConnectionId(work.connectionId),
    dryRun: false,
    deadline: now + deps.attemptMs,
    started: work.started,
    logger,
    leaseOwner: `${holder.operation.requestId}#${owner}`,
    // An operation an earlier attempt started and saw running: wait for it, decided then, instead of writing.
    ...(holder.operation.carry.resume ? { resume: holder.operation.carry.resume } : {}),
    // Kept after an earlier PUT went out too: a status other than the one seen and the one asked for is another
    // decision's, which stands (reconcile says this request's own write may have landed before it).
    ...(work.seenStatus === undefined ? {} : { seenStatus: work.seenStatus }),
    // Written before the PUT, and only while this worker still holds the row: a worker that lost it never writes,
    // and one that takes over knows a PUT may have landed.
    beforeWrite: async (previousStatus, correlationId) => {
      const earlier = holder.operation.carry.putSent;
      holdBackAfterUnansweredPut(earlier, deps.now(), deps.leaseMs, correlationId);
      // `at` is when this PUT leaves: a worker that takes the row over waits from there.
      const carry = {
        ...holder.operation.carry,
        putSent: { previousStatus: earlier?.previousStatus ?? previousStatus, at: deps.now() },
      };
      const written = await deps.later.operations.update(holder.operation, { carry });
      if (written === undefined)
        throw new OperationLostError('the operation was taken over before the write');
      holder.operation = written;
      holder.putHere = true;
    },
  };
}

/** Whether an earlier PUT, unanswered, may still land: within a lease's length of when it went out. */
function mayStillLand(carry: Carry, now: number, settleMs: number): boolean {
  const at = carry.putSent?.at;
  return at !== undefined && now < at + settleMs;
}

/**
 * A PUT this attempt sent and was answered about (refused: throttled) will not land: its time is dropped, so the
 * next attempt does not hold back for it (its sending is still remembered, for what an earlier one may have done).
 */
function answeredPutForgotten(decided: Decided, carry: Carry, putHere: boolean): Carry {
  const { putSent } = carry;
  if (changeMayLand(decided) || !putHere || putSent?.at === undefined) return carry;
  return { ...carry, putSent: { previousStatus: putSent.previousStatus } };
}

/**
 * A PUT that went out without an answer may still be applied for a while (Resource Manager's own timeout): it is
 * not sent again until a lease's length has passed since, or another write could land between the two. Until
 * then the attempt holds back, keeping the connection's lease, as if Resource Manager asked for the wait.
 */
function holdBackAfterUnansweredPut(
  earlier: Carry['putSent'],
  now: number,
  settleMs: number,
  correlationId: string,
): void {
  if (earlier?.at === undefined || now >= earlier.at + settleMs) return;
  const waitSeconds = Math.max(1, Math.ceil((earlier.at + settleMs - now) / 1000));
  const message = `an earlier PUT went out without an answer and may still be applied; it is not sent again for ${waitSeconds} s`;
  throw new ArmUnavailableError(
    message,
    waitSeconds,
    undefined,
    undefined,
    correlationId,
    { code: 'EarlierPutUnsettled', message },
    true,
  );
}

async function retryLater(
  deps: ContinueDeps,
  operation: Operation,
  decided: Decided,
  { now, putHere }: { now: number; putHere: boolean },
  logger: Logger,
): Promise<Continued> {
  const attempts = withAttempt(operation, attemptOf(decided, now));
  const carry = answeredPutForgotten(decided, carryOf(decided, operation.carry, now), putHere);
  await giveBack(deps.audit, decided, mayStillLand(carry, deps.now(), deps.leaseMs));
  // Never past the work's deadline: the last attempt runs at it (a Slack response_url expires soon after).
  const backoff = Math.max(nextDelayMs(deps.later, operation.attemptCount + 1, carry), askedWaitMs(decided));
  const delayMs = Math.min(backoff, Math.max(0, operation.deadline - now));
  const generation = operation.generation + 1;
  await keep(deps, operation, {
    state: 'queued',
    owner: '',
    leaseUntil: 0,
    generation,
    attempts,
    attemptCount: operation.attemptCount + 1,
    nextAttemptAt: now + delayMs,
    carry,
  });
  // A send that fails leaves the row queued and overdue: the sweeper sends it.
  await deps.later.queue
    .send({ kind: 'approval', requestId: operation.requestId, generation }, delayMs / 1000)
    .catch((error: unknown) => logger.warn('queue.send-failed', { error: String(error) }));
  logger.info('approval.retry-scheduled', { attempts: operation.attemptCount + 1, delayMs });
  return { kind: 'retrying', attempts: operation.attemptCount + 1 };
}

/**
 * The end of work nothing can finish (each attempt threw, its messages poisoned, resent MAX_SWEEPS times): failed,
 * with its attempts, to be finished like any end (`finishApproval`): recorded, its key released, its caller told.
 * Undefined when the work cannot even be read as a command (its connection id no longer parses).
 */
export function abandonedEnd(deps: ContinueDeps, operation: Operation, logger: Logger): Ended | undefined {
  const now = deps.now();
  let command: Command;
  try {
    command = commandOf(deps, { operation, putHere: false }, 'sweeper', now, logger);
  } catch {
    return undefined;
  }
  const attempts = withAttempt(operation, { at: iso(now), code: 'Abandoned' });
  return {
    command,
    decided: {
      outcome: {
        kind: 'failed',
        error: new WorkAbandonedError(operation.swept, operation.carry.putSent !== undefined),
      },
      correlationId: deps.decide.newId(),
    },
    operation: { ...operation, attempts },
  };
}

/**
 * The end of a queued approval: the record (with every attempt), the idempotency claim settled, and the row
 * done with the caller's answer and the report still owed (sent next, from the row, so a crash re-sends it
 * rather than losing it).
 */
export async function finishApproval(
  deps: ContinueDeps,
  ended: Ended,
  reply: (handled: Handled) => { result: StoredResult; report: { text: string; ok: boolean } },
): Promise<{ handled: Handled; operation: Operation | undefined }> {
  const { command, decided, operation } = ended;
  const extras = { attempts: operation.attempts };
  const { outcome, kept } = await recordSettling(deps.record, command, decided, undefined, extras);
  // Built from the outcome as recorded: one whose record waits in the spool says so, as a synchronous answer does.
  const { result, report } = reply({ requestId: operation.requestId, outcome });
  const claim = await deps.claim.idempotency
    .heldBy(operation.work.claim, operation.requestId)
    .catch(() => undefined);
  if (claim) {
    await settle(deps.claim, command, claim, kept ? outcome : unrecorded);
    // Settled long after the key was bound: the binding is kept as long as the claim now is.
    await deps.claim.idempotency.keepBinding(claim).catch(() => undefined);
  }
  const now = deps.now();
  const done = await deps.later.operations.update(operation, {
    state: 'done',
    owner: '',
    leaseUntil: 0,
    attempts: operation.attempts,
    // The report owed from here is the sweeper's to resend afresh, whatever it did for the work.
    swept: 0,
    result,
    outbox: {
      target: operation.work.report,
      ...report,
      state: 'pending',
      reports: [],
      nextAt: now,
      noted: false,
    },
    expiresAt: now + deps.later.resultTtlMs,
  });
  if (done === undefined) command.logger.warn('operation.finish-lost', { requestId: operation.requestId });
  return { handled: { requestId: operation.requestId, outcome }, operation: done };
}

async function keep(deps: ContinueDeps, operation: Operation, patch: OperationPatch): Promise<Operation> {
  const written = await deps.later.operations.update(operation, patch);
  if (written === undefined) throw new OperationLostError('the operation changed under this worker');
  return written;
}

function withAttempt(operation: Operation, attempt: Operation['attempts'][number]): Operation['attempts'] {
  return [...operation.attempts, attempt].slice(-MAX_ATTEMPTS_KEPT);
}

const iso = (ms: number): string => new Date(ms).toISOString();

const optional = (operation: Operation | undefined): { operation?: Operation } =>
  operation === undefined ? {} : { operation };
