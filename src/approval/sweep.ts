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
/** Beyond this many resends a row's messages keep failing (each ended in the poison queue): left to an operator. */
export const MAX_SWEEPS = 8;

export async function sweepOperations(
  deps: Pick<LaterDeps, 'operations' | 'queue' | 'now'>,
  logger: Logger,
): Promise<{ resent: number }> {
  let resent = 0;
  for await (const operation of deps.operations.unfinished()) {
    const kind = overdue(operation, deps.now());
    if (kind === undefined) continue;
    if (operation.swept >= MAX_SWEEPS) {
      logger.error('operation.abandoned', { requestId: operation.requestId, kind, swept: operation.swept });
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
  return { resent };
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
