import type { Logger } from '../logger.js';
import type { Operation } from '../store/operation-store.js';
import type { LaterDeps } from './continue-later.js';

/**
 * The safety net under the queue: work whose message was lost — never sent (the queue was down), poisoned, or
 * held by a worker that died — is found by its row being overdue, and sent a message of a new generation (so
 * any stray older message does nothing). A report, or the record of its end, still owed is sent again the same
 * way. Each time the sweeper has to act for a row it waits twice as long before acting for it again, so a
 * queue that is merely slow is not flooded with messages that make each other stale.
 */

/** How late a row must be before the sweeper first acts (a message may legitimately wait for a poll). */
export const SWEEP_GRACE_MS = 2 * 60_000;
const MAX_BACKOFF_DOUBLINGS = 6;
/** Beyond this many resends a row's messages keep failing (each ended in the poison queue): its work ends failed. */
export const MAX_SWEEPS = 8;

/** Ends work nothing can finish: recorded failed, its caller told; false when it could not be ended now. */
export type Abandon = (operation: Operation, logger: Logger) => Promise<boolean>;

export async function sweepOperations(
  deps: Pick<LaterDeps, 'operations' | 'queue' | 'now'> & { abandon?: Abandon },
  logger: Logger,
): Promise<{ resent: number; abandoned: number }> {
  let resent = 0;
  let abandoned = 0;
  for await (const operation of deps.operations.unfinished()) {
    const kind = overdue(operation, deps.now());
    if (kind === undefined) continue;
    if (operation.swept >= MAX_SWEEPS) {
      // Work still owed an end gets one (failed), so its caller is not left polling a 202; a report still owed
      // after its outcome was recorded is left, logged.
      const ended =
        kind === 'approval' && deps.abandon ? await endIt(deps.abandon, operation, logger) : false;
      if (ended) abandoned += 1;
      logger.error('operation.abandoned', {
        requestId: operation.requestId,
        kind,
        swept: operation.swept,
        endedFailed: ended,
      });
      continue;
    }
    try {
      const bumped = await deps.operations.update(operation, {
        generation: operation.generation + 1,
        swept: operation.swept + 1,
      });
      if (bumped === undefined) continue;
      await deps.queue.send({ kind, requestId: bumped.requestId, generation: bumped.generation });
      resent += 1;
      logger.warn('operation.swept', { requestId: operation.requestId, kind, state: operation.state });
    } catch (error) {
      // One row that cannot be helped now does not stop the others; the next sweep tries it again.
      logger.error('operation.sweep-failed', { requestId: operation.requestId, error: String(error) });
    }
  }
  return { resent, abandoned };
}

async function endIt(abandon: Abandon, operation: Operation, logger: Logger): Promise<boolean> {
  try {
    return await abandon(operation, logger);
  } catch (error) {
    logger.error('operation.abandon-failed', { requestId: operation.requestId, error: String(error) });
    return false;
  }
}

function overdue(operation: Operation, now: number): 'approval' | 'report' | undefined {
  const grace = SWEEP_GRACE_MS * 2 ** Math.min(operation.swept, MAX_BACKOFF_DOUBLINGS);
  const late = (at: number): boolean => at + grace < now;
  if (operation.state === 'queued' && late(operation.nextAttemptAt)) return 'approval';
  if (operation.state === 'running' && late(operation.leaseUntil)) return 'approval';
  const outbox = operation.outbox;
  if (
    operation.state === 'done' &&
    outbox &&
    (outbox.state === 'pending' || !outbox.noted) &&
    late(outbox.nextAt)
  ) {
    return 'report';
  }
  return undefined;
}
