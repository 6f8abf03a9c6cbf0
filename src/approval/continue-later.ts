import type { ReportTarget } from '../model/approval.js';
import { backoffMs } from '../backoff.js';
import { within } from '../within.js';
import type { Outcome } from '../model/outcome.js';
import { formatConnectionId } from '../model/resource-id.js';
import type { ClaimToken, IdempotencyStore } from '../store/idempotency-store.js';
import type { Attempt, Carry, OperationStore } from '../store/operation-store.js';
import type { WorkQueue } from '../store/work-queue.js';
import type { Command } from './decide.js';

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
 * The work's first message. The caller is answered without waiting out a slow queue (its retries take seconds,
 * Slack allows 3 s in all): the send goes on, and a message that never arrives is sent by the sweeper.
 */
async function sendFirst(deps: LaterDeps, command: Command, delayMs: number): Promise<void> {
  const sent = deps.queue
    .send({ kind: 'approval', requestId: command.requestId, generation: 0 }, delayMs / 1000)
    .then(
      () => true,
      (error: unknown) => {
        command.logger.warn('queue.send-failed', { error: error instanceof Error ? error.name : 'unknown' });
        return false;
      },
    );
  if ((await within(sent, QUEUE_SEND_WAIT_MS)) === undefined)
    command.logger.warn('queue.send-slow', { waitedMs: QUEUE_SEND_WAIT_MS });
}

/** How long the caller's answer waits for the queue to take the message. */
const QUEUE_SEND_WAIT_MS = 500;

/** A Slack `response_url` takes posts for 30 minutes from the command. */
export const SLACK_RESPONSE_URL_LIFETIME_MS = 30 * 60_000;

/** Work reported on a `response_url` ends 5 minutes before it expires, leaving its report time for a few tries. */
const SLACK_RESPONSE_URL_MS = SLACK_RESPONSE_URL_LIFETIME_MS - 5 * 60_000;

/**
 * Hands an accepted approval to the queue: the operation row first, holding the whole validated command (the
 * worker trusts nothing else), then the idempotency claim moves to the queued work (a repeat follows it instead
 * of running it twice), then a message naming the row. Once the row exists the work is accepted: a message that
 * could not be sent is sent by the sweeper. Throws only when the row cannot be written; the caller then answers
 * the failure itself.
 */
export async function continueLater(
  deps: LaterDeps,
  command: Command,
  claim: ClaimToken,
  report: ReportTarget,
  attempts: Attempt[],
  carry: Carry & { seenStatus?: string } = {},
  askedMs = 0,
): Promise<Outcome> {
  // Without a queue endpoint nothing could ever run the work: the caller is answered now instead.
  if (deps.queue.clients === undefined) throw new TypeError('no queue to continue on');
  const now = deps.now();
  const lifetime = report.kind === 'slack' ? Math.min(deps.maxAgeMs, SLACK_RESPONSE_URL_MS) : deps.maxAgeMs;
  // No sooner than the failure asked (Resource Manager's Retry-After), as an attempt before then is refused again;
  // never past the work's deadline, where its last attempt runs.
  const backoff = attempts.length === 0 ? 0 : Math.max(nextDelayMs(deps, attempts.length, carry), askedMs);
  const delayMs = Math.min(backoff, lifetime);
  const { seenStatus, ...rest } = carry;
  // The row, and the claim that sends a repeat to it, are kept until the work's answer has been readable a while.
  const keptUntil = now + lifetime + deps.resultTtlMs;
  const opened = deps.operations.open(
    {
      requestId: command.requestId,
      callerKey: `${command.caller.scheme}:${command.caller.id}`,
      acceptedAt: now,
      deadline: now + lifetime,
      attempts,
      nextAttemptAt: now + delayMs,
      work: {
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
        ...(seenStatus === undefined ? {} : { seenStatus }),
      },
      carry: rest,
    },
    keptUntil,
  );
  await opened.catch((error: unknown) => landedAnyway(deps, command.requestId, error));
  // Not only to the work's deadline: its last attempt runs at it, and work whose messages were lost ends later
  // still (the sweeper's); a repeat meanwhile follows it, never reruns it.
  await deps.idempotency.queue(claim, keptUntil, report.kind).catch((error: unknown) => {
    // The claim then frees itself when its lease ends; a repeat after that runs again, serialised by the lease.
    command.logger.warn('idempotency.queue-failed', {
      error: error instanceof Error ? error.name : 'unknown',
    });
  });
  await sendFirst(deps, command, delayMs);
  command.logger.info('approval.continues-later', { attempts: attempts.length, delayMs });
  return {
    kind: 'accepted',
    requestId: command.requestId,
    // As its Location answers while it waits.
    retryAfterSeconds: lookAgainSeconds(deps, delayMs),
    reportedTo: report.kind,
  };
}

/**
 * The row's insert failed as far as this process saw: if it landed all the same (every try's answer lost), the
 * work is accepted and the sweeper would run it, so it is answered as accepted; otherwise the failure stands.
 */
async function landedAnyway(deps: LaterDeps, requestId: string, error: unknown): Promise<void> {
  const row = await deps.operations.get(requestId).catch(() => undefined);
  if (row === undefined) throw error;
}

/** Backoff after a failure; an operation that is running is looked at again at the base interval. */
export function nextDelayMs(
  deps: Pick<LaterDeps, 'retryBaseMs' | 'retryMaxMs'>,
  attempts: number,
  carry: Carry,
): number {
  return carry.resume ? deps.retryBaseMs : nextAttemptDelayMs(deps, attempts);
}

/** How soon a caller should look again: about when the next attempt ends, never hammering. */
export function pollAfterSeconds(deps: Pick<LaterDeps, 'retryBaseMs'>): number {
  return Math.min(60, Math.max(1, Math.ceil(deps.retryBaseMs / 1000)));
}

/**
 * A waiting caller's `Retry-After`: about when the next attempt runs (`untilNextMs` from now), within a minute, and
 * never sooner than the retry interval, so a late row is not hammered.
 */
export function lookAgainSeconds(deps: Pick<LaterDeps, 'retryBaseMs'>, untilNextMs: number): number {
  return Math.max(pollAfterSeconds(deps), Math.min(60, Math.ceil(untilNextMs / 1000)));
}
