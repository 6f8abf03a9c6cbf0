import type { Outcome } from '../model/outcome.js';
import { Refusal } from '../model/refusal.js';
import type { ClaimToken, IdempotencyStore } from '../store/idempotency-store.js';
import { fingerprint } from '../store/idempotency-store.js';
import { ClaimLostError } from '../store/errors.js';
import { statusOf } from './record.js';
import type { Command } from './decide.js';

export interface ClaimDeps {
  idempotency: IdempotencyStore;
  /** How long a request without a key counts as "the same" when repeated: only long enough for a retry. */
  derivedKeyTtlMinutes: number;
}

/** The key is ours now, or the request is answered already (a stored answer, or work still on the queue). */
export type Claim = { kind: 'claimed'; token: ClaimToken } | { kind: 'answered'; outcome: Outcome };

/**
 * Makes the request exactly-once across instances: claims its idempotency key, or answers from the stored
 * answer of the request that already did the work. Keys belong to the authenticated caller on this route, so
 * no caller can collide with (or squat on) another's keys. Without a key from the caller or its platform, the
 * key is the request itself — who, which connection, which way, which ticket — kept only for a short window.
 * Throws Refusal for a key reused with another payload (422) or still in flight (409).
 */
export async function claim(deps: ClaimDeps, command: Command, key: string | undefined): Promise<Claim> {
  const { source, caller, request } = command;
  const owner = [source, caller.scheme, caller.id];
  const derived = fingerprint({
    owner,
    connectionId: request.connectionId.toLowerCase(),
    decision: request.decision,
    ticket: request.ticket,
  });
  const payload = key === undefined ? derived : fingerprint({ owner, request });
  const ttlMs = key === undefined ? deps.derivedKeyTtlMinutes * 60_000 : undefined;
  const claimed = await deps.idempotency.claim(
    fingerprint({ owner, key: key ?? `derived:${derived}` }),
    payload,
    command.requestId,
    ttlMs,
  );
  switch (claimed.kind) {
    case 'claimed':
      return claimed;
    case 'replay': {
      command.logger.info('idempotency.replayed', { originalRequestId: claimed.answer.requestId });
      const replay =
        key === undefined
          ? {
              originalRequestId: claimed.answer.requestId,
              basis: 'derived' as const,
              windowMinutes: deps.derivedKeyTtlMinutes,
            }
          : { originalRequestId: claimed.answer.requestId, basis: 'key' as const };
      return { kind: 'answered', outcome: { kind: 'done', response: claimed.answer.response, replay } };
    }
    case 'queued':
      // A repeat of work that continues from the queue follows that work's result.
      return {
        kind: 'answered',
        outcome: { kind: 'accepted', requestId: claimed.requestId, retryAfterSeconds: 5, duplicate: true },
      };
    case 'mismatch':
      throw new Refusal(
        'idempotency-key-reused',
        'This idempotency key was already used with a different payload. Use a new key for a different request, or resend the original payload unchanged.',
        { reason: 'idempotency-mismatch' },
      );
    case 'in-flight':
      throw new Refusal(
        'in-flight',
        `The same request is still being processed by another attempt; retry after ${claimed.retryAfterSeconds} s to get its answer.`,
        { retryAfterSeconds: claimed.retryAfterSeconds, reason: 'claim-in-flight' },
      );
  }
}

/**
 * Keeps a completed approval's answer for replay; gives the key back after anything else, so a retry once the
 * cause is fixed (Resource Manager back, policy changed) is decided again rather than answered from storage.
 * Never changes the answer: the work is done either way, and a retry converges through the GET-first flow.
 */
export async function settle(
  deps: ClaimDeps,
  command: Command,
  token: ClaimToken,
  outcome: Outcome,
): Promise<void> {
  try {
    if (outcome.kind === 'done') {
      await deps.idempotency.complete(token, { requestId: command.requestId, response: outcome.response });
    } else {
      const detail = outcome.kind === 'failed' ? describe(outcome.error) : 'refused by policy';
      await deps.idempotency.release(token, { status: statusOf(outcome), detail });
    }
  } catch (error) {
    command.logger.error('idempotency.settle-failed', {
      error: error instanceof Error ? error.name : 'unknown',
      message: error instanceof Error ? error.message : undefined,
      lostLease: error instanceof ClaimLostError,
    });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : 'unknown failure';
}
