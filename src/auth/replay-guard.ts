import { createHash } from 'node:crypto';
import type { RequestScope } from '../http/intake.js';
import { problem, problemResponse } from '../http/problem.js';
import type { RouteResponse } from '../http/route-types.js';
import type { NonceStore } from '../store/nonce-store.js';

/**
 * Replay protection for signed requests, shared by every instance through the nonce table. Two marks:
 * - the signature itself: the exact bytes a sender signed are accepted once (a captured request sent again is
 *   refused, whatever idempotency key or query string it is given — neither is signed);
 * - the delivery id (webhook-id, Teams Activity id), bound to the idempotency key it first came with: the sender's
 *   own retry (same id, fresh timestamp and signature, same key) passes on to the stored answer; the same id
 *   under another key is a replay.
 * Marks are written only after the caller is authenticated and the payload is valid.
 */
export interface ReplayMarks {
  /** Digest of the signature header, with the route it came to. */
  signature?: { scope: string; id: string };
  /**
   * `retries: true` for senders that retry a delivery under the same id (Standard Webhooks): the id is then bound
   * to the idempotency key. Teams never resends an Activity, so its ids are accepted once, full stop.
   */
  delivery?: { scope: string; id: string; retries: boolean };
}

/** Timestamps are accepted five minutes either way: remembering for longer covers the whole window. */
export const REPLAY_TTL_SECONDS = 15 * 60;

export function signatureMark(scope: string, signatureHeader: string): { scope: string; id: string } {
  return {
    scope: `${scope}:signature`,
    id: createHash('sha256').update(signatureHeader).digest('base64url'),
  };
}

/** Undefined when the request is new (or a legitimate retry); otherwise the 401 to answer. */
export async function guardReplay(
  nonces: NonceStore,
  marks: ReplayMarks,
  idempotencyKey: string | undefined,
  scope: RequestScope,
): Promise<RouteResponse | undefined> {
  const refuse = (what: string): RouteResponse => {
    scope.logger.warn('auth.replay', { mark: what });
    return problemResponse(
      problem(
        'unauthorized',
        scope.requestId,
        `This message was already received (same ${what}); a replayed message is refused. A sender's retry must be signed anew (fresh timestamp) and keep its delivery id and idempotency key.`,
      ),
    );
  };
  // Independent marks, written together: one storage round trip instead of two.
  const delivery = marks.delivery;
  const [signatureNew, deliveryNew] = await Promise.all([
    marks.signature
      ? nonces.remember(marks.signature.scope, marks.signature.id, REPLAY_TTL_SECONDS)
      : Promise.resolve(true),
    delivery
      ? nonces.remember(
          delivery.scope,
          delivery.id,
          REPLAY_TTL_SECONDS,
          delivery.retries ? (idempotencyKey ?? '') : undefined,
        )
      : Promise.resolve(true),
  ]);
  if (!signatureNew) return refuse('signature');
  if (!deliveryNew) {
    return refuse(delivery?.retries ? 'delivery id with a different idempotency key' : 'delivery id');
  }
  return undefined;
}
