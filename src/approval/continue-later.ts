import type { ReportTarget } from '../model/approval.js';
import { backoffMs } from '../backoff.js';
import type { Outcome } from '../model/outcome.js';
import { formatConnectionId } from '../model/resource-id.js';
import type { ClaimToken, IdempotencyStore } from '../store/idempotency-store.js';
import type { Attempt, OperationStore } from '../store/operation-store.js';
import type { WorkQueue } from '../store/work-queue.js';
import type { Command } from './decide.js';
import type { ApprovalJob } from './job.js';

export interface LaterDeps {
  queue: WorkQueue;
  operations: OperationStore;
  idempotency: IdempotencyStore;
  now: () => number;
  /** How long accepted work keeps being retried. */
  maxAgeMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long an ended operation's answer stays readable at its `Location`. */
  resultTtlMs: number;
}

/** When the next attempt of work that has failed `attempts` times should run. */
export function nextAttemptDelayMs(
  deps: Pick<LaterDeps, 'retryBaseMs' | 'retryMaxMs'>,
  attempts: number,
): number {
  return Math.round(
    backoffMs(Math.max(0, attempts - 1), { baseMs: deps.retryBaseMs, maxMs: deps.retryMaxMs }),
  );
}

/**
 * Hands an accepted approval to the queue: the operation row first (so its state is readable at once), then the
 * message, then the idempotency claim moves to the queued work (so a repeat follows it instead of running it
 * twice). A crash between the steps leaves work that still runs: at worst a repeat is answered 409 until the
 * claim's lease ends. Throws when the queue or storage cannot take it; the caller then answers the failure.
 */
export async function continueLater(
  deps: LaterDeps,
  command: Command,
  claim: ClaimToken,
  report: ReportTarget,
  attempts: Attempt[],
  putSent?: { previousStatus: string },
): Promise<Outcome> {
  const now = deps.now();
  const delayMs = attempts.length === 0 ? 0 : nextAttemptDelayMs(deps, attempts.length);
  await deps.operations.open(
    {
      requestId: command.requestId,
      source: command.source,
      callerKey: `${command.caller.scheme}:${command.caller.id}`,
      connectionId: formatConnectionId(command.connectionId),
      acceptedAt: now,
      attempts,
      nextAttemptAt: now + delayMs,
    },
    now + deps.maxAgeMs + deps.resultTtlMs,
  );
  const job: ApprovalJob = {
    kind: 'approval',
    requestId: command.requestId,
    source: command.source,
    caller: command.caller,
    request: command.request,
    connectionId: formatConnectionId(command.connectionId),
    started: command.started,
    claim: {
      partitionKey: claim.partitionKey,
      rowKey: claim.rowKey,
      fingerprint: claim.fingerprint,
      ttlMs: claim.ttlMs,
    },
    report,
    ...(putSent ? { putSent } : {}),
  };
  try {
    await deps.queue.send(job, delayMs / 1000);
  } catch (error) {
    await deps.operations.discard(command.requestId).catch(() => undefined);
    throw error;
  }
  await deps.idempotency.queue(claim, now + deps.maxAgeMs).catch((error: unknown) => {
    command.logger.warn('idempotency.queue-failed', {
      error: error instanceof Error ? error.name : 'unknown',
    });
  });
  command.logger.info('approval.continues-later', { attempts: attempts.length, delayMs });
  return { kind: 'accepted', requestId: command.requestId, retryAfterSeconds: pollAfterSeconds(deps) };
}

/** How soon a caller should look again: about when the next attempt ends, never hammering. */
export function pollAfterSeconds(deps: Pick<LaterDeps, 'retryBaseMs'>): number {
  return Math.min(60, Math.max(1, Math.ceil(deps.retryBaseMs / 1000)));
}
