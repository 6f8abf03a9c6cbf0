import { createHash } from 'node:crypto';
import { Refusal } from '../model/refusal.js';
import type { DeliveryMarks, DraftMarks, Mark, MarkDraft, NonceStore } from '../store/nonce-store.js';
import { SLACK_DEFAULT_TOLERANCE_SECONDS } from './slack-signature.js';
import { STANDARD_WEBHOOKS_DEFAULT_TOLERANCE_SECONDS } from './standard-webhooks.js';
import { TEAMS_TIMESTAMP_TOLERANCE_SECONDS } from './teams-signature.js';

/**
 * Replay protection for signed requests, shared by every instance through Table Storage: beside the chain of the
 * connection a message names (see NonceStore.beside), or in the nonce table for what names none. Two marks:
 * - the signed content: what a sender signed is accepted once (a captured request sent again is refused, whatever
 *   idempotency key, query string or spelling of the signature header it is given — none of those is signed);
 * - the delivery id (webhook-id, Teams Activity id), bound to the idempotency key it first came with: the sender's
 *   own retry (same id, fresh timestamp and signature, same key) passes on to the stored answer; the same id
 *   under another key is a replay.
 * Marks are written only after the caller is authenticated and the payload is valid.
 */
export interface ReplayMarks {
  /**
   * What was signed, with the scope its marks are kept under (the scheme, or the route where only one route
   * verifies with that secret). Digested only by the guard, once the payload is valid: a request refused at
   * validation never pays for it.
   */
  signature?: SignedContent;
  /**
   * `retries: true` for senders that retry a delivery under the same id (Standard Webhooks): the id is then bound
   * to the idempotency key. Teams never resends an Activity, so its ids are accepted once, full stop.
   */
  delivery?: { scope: string; id: string; retries: boolean };
}

/** The widest freshness window any scheme accepts, either side of our clock. */
export const MAX_TIMESTAMP_TOLERANCE_SECONDS = Math.max(
  STANDARD_WEBHOOKS_DEFAULT_TOLERANCE_SECONDS,
  SLACK_DEFAULT_TOLERANCE_SECONDS,
  TEAMS_TIMESTAMP_TOLERANCE_SECONDS,
);

/** Clock difference allowed between our instances (and the storage clock that expiry is judged by). */
export const INSTANCE_CLOCK_SKEW_SECONDS = 5 * 60;

/**
 * How long a mark is remembered: a message stamped at the future edge of the window stays acceptable for two
 * windows after it arrives, and the mark must outlive that on every instance's clock.
 */
export const REPLAY_TTL_SECONDS = 2 * MAX_TIMESTAMP_TOLERANCE_SECONDS + INSTANCE_CLOCK_SKEW_SECONDS;

export interface SignedContent {
  scope: string;
  parts: readonly (string | Uint8Array)[];
}

/**
 * The mark of a signed message is a digest of what was signed (for example id, timestamp and body), never of the
 * signature header's text: many header spellings verify the same message (extra or reordered entries, hex case),
 * but the signed content cannot change without breaking the signature.
 */
export function signedContentMark({ scope, parts }: SignedContent): Mark {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    // Length-prefixed, so the split between parts cannot be shifted.
    hash.update(String(bytes.byteLength)).update(':').update(bytes);
  }
  return { scope: `${scope}:signed-content`, id: hash.digest('base64url') };
}

/** Resolves when the request is new (or a legitimate retry); throws Refusal('replayed') for a replay. */
export function guardReplay(
  nonces: Pick<NonceStore, 'draft'>,
  marks: ReplayMarks,
  idempotencyKey: string | undefined,
  dryRun = false,
): Promise<void> {
  return replayCheck(nonces, marks, idempotencyKey, dryRun).settle();
}

/**
 * A message's replay check (the audit trail's claim Companions), to be made by the transaction that claims its key
 * beside its connection's chain (`rows` join it; `landed` once it committed) or, when that cannot be (the
 * connection is busy, the transaction failed), by `settle`, which writes and judges the marks alone and throws
 * Refusal('replayed') for a replay. Either way the marks are judged before the claim is, and a replay is refused
 * before anything else is written.
 */
export interface ReplayCheck {
  rows: MarkDraft['rows'];
  landed(): void;
  settle(): Promise<void>;
  /** No marks to keep (a bearer caller's request): nothing to write or judge. */
  readonly empty: boolean;
}

export function replayCheck(
  nonces: Pick<NonceStore, 'draft'>,
  marks: ReplayMarks,
  idempotencyKey: string | undefined,
  dryRun: boolean,
): ReplayCheck {
  const kept = marksOf(marks, idempotencyKey, dryRun);
  const draft = nonces.draft(kept, REPLAY_TTL_SECONDS);
  let state: 'pending' | 'landed' | Promise<void> = 'pending';
  return {
    empty: kept.delivery === undefined && kept.signature === undefined,
    rows: (now) => (state === 'pending' ? draft.rows(now) : []),
    landed: () => {
      if (state === 'pending') state = 'landed';
    },
    settle: () => {
      if (state === 'landed') return Promise.resolve();
      if (state === 'pending') state = draft.remember().then((judged) => refuseReplay(judged, marks));
      return state;
    },
  };
}

/** The marks to keep: the delivery id bound to its key (when its sender retries), and the signed content. */
function marksOf(marks: ReplayMarks, idempotencyKey: string | undefined, dryRun: boolean): DraftMarks {
  const delivery = marks.delivery;
  const deliveryMark = delivery && {
    scope: delivery.scope,
    id: delivery.id,
    // A delivery first sent as a dry run stays one: retrying it as a real run needs a new message.
    ...(delivery.retries ? { binding: `${idempotencyKey ?? ''}|${dryRun ? 'dry-run' : 'apply'}` } : {}),
  };
  const signature = marks.signature && signedContentMark(marks.signature);
  return { ...(deliveryMark ? { delivery: deliveryMark } : {}), ...(signature ? { signature } : {}) };
}

function refuseReplay({ signatureNew, deliveryNew }: DeliveryMarks, marks: ReplayMarks): void {
  if (!signatureNew) throw replayed('signature');
  if (!deliveryNew)
    throw replayed(marks.delivery?.retries ? 'delivery id with a different idempotency key' : 'delivery id');
}

function replayed(what: string): Refusal {
  return new Refusal(
    'replayed',
    `This message was already received (same ${what}); a replayed message is refused. A sender's retry must be signed anew (fresh timestamp) and keep its delivery id and idempotency key.`,
    { reason: `replay: ${what}` },
  );
}
