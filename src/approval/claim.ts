import type { Outcome } from '../model/outcome.js';
import { Refusal } from '../model/refusal.js';
import { formatConnectionId } from '../model/resource-id.js';
import type { AuditTrail, ChainLease, ClaimSettlement, Companions } from '../store/audit-trail.js';
import { chainPartition } from '../store/keys.js';
import type { Bound, ClaimToken, Failure, IdempotencyStore, Unclaimed } from '../store/idempotency-store.js';
import { fingerprint } from '../store/idempotency-store.js';
import { ClaimLostError, ConnectionBusyError } from '../store/errors.js';
import type { OperationStore } from '../store/operation-store.js';
import type { RecordDeps } from './record.js';
import { record, recordSettling, statusOf } from './record.js';
import type { Command, Decided } from './decide.js';

export interface ClaimDeps {
  idempotency: IdempotencyStore;
  /** Where a decision's claim is taken, with the connection's lease, in one transaction. */
  audit: AuditTrail;
  /** How long a request without a key counts as "the same" when repeated: only long enough for a retry. */
  derivedKeyTtlMinutes: number;
  /** Work handed to the queue, by request id: a claim still in flight may hold work accepted already. */
  operations?: Pick<OperationStore, 'get'>;
}

/** The key is ours now (with the connection's lease when asked for), or the request is answered already. */
export type Claim =
  { kind: 'claimed'; token: ClaimToken; lease?: ChainLease } | { kind: 'answered'; outcome: Outcome };

/**
 * Makes the request exactly-once across instances: claims its idempotency key, or answers from the stored
 * answer of the request that already did the work. Keys belong to the authenticated caller on this route, so
 * no caller can collide with (or squat on) another's keys. Without a key from the caller or its platform, the
 * key is the request itself — who, which connection, which way, which ticket — kept only for a short window.
 *
 * The claim is kept in the connection's chain partition, so with `lease` it is taken in one transaction with the
 * connection's lease (and later settled in one with the record); beside it (after it, when the claim carries a
 * message's replay marks) the key is bound to its payload, which keeps the same key with another payload — for
 * another connection too — a 422.
 * Throws Refusal for a key reused with another payload (422) or still in flight (409).
 */
export async function claim(
  deps: ClaimDeps,
  command: Command,
  key: string | undefined,
  options: { lease: boolean; marks?: Companions | undefined },
): Promise<Claim> {
  const kept = keyOf(deps, command, key);
  const chain = chainPartition(formatConnectionId(command.connectionId));
  const marks = options.lease ? options.marks : undefined;
  const [bound, taken] = await bindAndTake(deps, command, kept, chain, options.lease, marks);
  const claimed = taken.status === 'fulfilled' && taken.value.kind === 'claimed' ? taken.value : undefined;
  if (claimed && (bound.status === 'rejected' || bound.value.kind !== 'bound'))
    await undo(deps, command, claimed);
  if (bound.status === 'rejected') throw bound.reason;
  if (bound.value.kind !== 'bound') return answer(deps, command, key, bound.value);
  if (taken.status === 'fulfilled')
    return taken.value.kind === 'claimed' ? taken.value : answerOf(deps, command, key, taken.value);
  if (!(taken.reason instanceof ConnectionBusyError)) throw taken.reason;
  // The connection stayed busy for the whole wait, and nothing was claimed. The key is claimed alone; the decision
  // then (usually) finds the wait over and fails as busy, so the work goes to the queue like any transient
  // failure (or the failure is recorded and the key given back). Should the lease come free just then, it decides.
  const alone = await take(deps, command, kept, chain, false);
  return alone.kind === 'claimed' ? alone : answerOf(deps, command, key, alone);
}

/**
 * The key's binding and its claim: in one round trip, or, for a claim that carries a message's replay marks, the
 * claim first, so that a replay (whatever unsigned key it came with) is refused before its key is bound.
 */
async function bindAndTake(
  deps: ClaimDeps,
  command: Command,
  kept: KeptKey,
  chain: string,
  lease: boolean,
  marks: Companions | undefined,
): Promise<[PromiseSettledResult<Bound>, PromiseSettledResult<Taken>]> {
  const bind = () => deps.idempotency.bind(kept.key, kept.payload, chain, kept.ttlMs);
  if (marks === undefined)
    return Promise.all([settled(bind()), settled(take(deps, command, kept, chain, lease))]);
  const taken = await settled(take(deps, command, kept, chain, lease, marks));
  if (taken.status === 'rejected') {
    if (!(taken.reason instanceof ConnectionBusyError)) throw taken.reason;
    // Waiting for the lease judged the marks already (a no-op then); the binding must never depend on that.
    await marks.settle();
  }
  return [await settled(bind()), taken];
}

function settled<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  );
}

/**
 * As `answer`, for a claim met in flight whose request already handed its work to the queue (it stopped between
 * writing the work and marking the claim, or the mark failed): a repeat follows that work, as for a queued claim,
 * rather than being told 409 and later deciding it again.
 */
async function answerOf(
  deps: ClaimDeps,
  command: Command,
  key: string | undefined,
  claimed: Unclaimed,
): Promise<Claim> {
  if (claimed.kind === 'in-flight' && claimed.requestId !== undefined && deps.operations) {
    const work = await deps.operations.get(claimed.requestId).catch(() => undefined);
    if (work !== undefined)
      return answer(deps, command, key, {
        kind: 'queued',
        requestId: claimed.requestId,
        reportedTo: work.work.report.kind,
      });
  }
  return answer(deps, command, key, claimed);
}

/**
 * For a request the policy gate refuses before its claim: binds its key to its payload all the same (so the same
 * key with another payload is 422, throwing that Refusal) and looks at the key's claim without taking it. A
 * repeat of a request already decided gets that request's answer, as any repeat does (the work was allowed when
 * it was done), one still at work is 409; undefined means the refusal stands.
 */
export async function refusedKey(
  deps: ClaimDeps,
  command: Command,
  key: string | undefined,
): Promise<Claim | undefined> {
  const kept = keyOf(deps, command, key);
  const chain = chainPartition(formatConnectionId(command.connectionId));
  const [bound, met] = await Promise.all([
    deps.idempotency.bind(kept.key, kept.payload, chain, kept.ttlMs),
    deps.idempotency.peek(chain, kept.key, kept.payload),
  ]);
  if (bound.kind !== 'bound') return answer(deps, command, key, bound);
  return met === undefined ? undefined : answerOf(deps, command, key, met);
}

interface KeptKey {
  key: string;
  payload: string;
  ttlMs: number | undefined;
}

function keyOf(deps: ClaimDeps, command: Command, key: string | undefined): KeptKey {
  const { source, caller, request } = command;
  const owner = [source, caller.scheme, caller.id];
  const derived = fingerprint({
    owner,
    connectionId: request.connectionId.toLowerCase(),
    decision: request.decision,
    ticket: request.ticket,
  });
  return {
    key: fingerprint({ owner, key: key ?? `derived:${derived}` }),
    payload: key === undefined ? derived : fingerprint({ owner, request }),
    ttlMs: key === undefined ? deps.derivedKeyTtlMinutes * 60_000 : undefined,
  };
}

type Taken = { kind: 'claimed'; token: ClaimToken; lease?: ChainLease } | Unclaimed;

async function take(
  deps: ClaimDeps,
  command: Command,
  kept: KeptKey,
  chain: string,
  lease: boolean,
  companions?: Companions,
): Promise<Taken> {
  const { idempotency } = deps;
  if (!lease) return idempotency.claim(kept.key, kept.payload, command.requestId, kept.ttlMs, chain);
  const beside = idempotency.besideChain(chain, kept.key, kept.payload, command.requestId, kept.ttlMs);
  const owner = command.leaseOwner ?? command.requestId;
  const connectionId = formatConnectionId(command.connectionId);
  const claimRow = companions ? { ...beside, companions } : beside;
  const leased = await deps.audit.leaseClaiming(connectionId, owner, command.deadline, claimRow);
  if (leased.kind === 'stopped') return leased.result;
  return { kind: 'claimed', token: { ...beside.owned, etag: leased.claimEtag }, lease: leased.lease };
}

/**
 * A claim taken while the key turned out bound to another payload (or answered already): removed at once, so the
 * key's row beside this chain never holds a payload it was not bound to.
 */
async function undo(
  deps: ClaimDeps,
  command: Command,
  claimed: { token: ClaimToken; lease?: ChainLease },
): Promise<void> {
  if (claimed.lease) await deps.audit.release(claimed.lease).catch(() => undefined);
  await deps.idempotency
    .forget(claimed.token)
    .catch((error: unknown) => command.logger.warn('idempotency.undo-failed', { error: String(error) }));
}

function answer(deps: ClaimDeps, command: Command, key: string | undefined, claimed: Unclaimed): Claim {
  switch (claimed.kind) {
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
    case 'queued': {
      // A repeat of work that continues from the queue follows that work's result, told where it is told.
      const { requestId, reportedTo } = claimed;
      return {
        kind: 'answered',
        outcome: {
          kind: 'accepted',
          requestId,
          retryAfterSeconds: 5,
          duplicate: true,
          ...(reportedTo ? { reportedTo } : {}),
        },
      };
    }
    case 'mismatch':
      throw keyReused();
    case 'in-flight':
      throw new Refusal(
        'in-flight',
        `The same request is still being processed by another attempt; retry after ${claimed.retryAfterSeconds} s to get its answer.`,
        { retryAfterSeconds: claimed.retryAfterSeconds, reason: 'claim-in-flight' },
      );
  }
}

function keyReused(): Refusal {
  return new Refusal(
    'idempotency-key-reused',
    'This idempotency key was already used with a different payload. Use a new key for a different request, or resend the original payload unchanged.',
    { reason: 'idempotency-mismatch' },
  );
}

/**
 * The claim's settlement as a row for the record's own transaction (a claim kept beside that chain); undefined
 * when it cannot join it (a claim kept elsewhere, or an answer too large to keep: `settle` then says why).
 */
export function settlementOf(
  deps: ClaimDeps,
  command: Command,
  token: ClaimToken,
  lease: ChainLease | undefined,
  outcome: Outcome,
): ClaimSettlement | undefined {
  if (lease === undefined || lease.chain !== token.partitionKey) return undefined;
  try {
    const entity =
      outcome.kind === 'done'
        ? deps.idempotency.completionRow(token, { requestId: command.requestId, response: outcome.response })
        : deps.idempotency.releaseRow(token, failureOf(outcome));
    return { entity, etag: token.etag };
  } catch {
    return undefined;
  }
}

/**
 * The record, and the claim's end. A completed claim is a stored answer that retries get instead of deciding
 * again, so it is written only once the record is kept (in the chain, or spooled): otherwise a crash between the
 * two would leave an applied decision that nothing records. A claim kept beside the chain is settled in the
 * record's own transaction; one kept elsewhere (or that could not join it) after the record, or beside it when
 * it stores no answer.
 */
export async function recordAndSettle(
  deps: { claim: ClaimDeps; record: RecordDeps },
  command: Command,
  decided: Decided,
  token: ClaimToken | undefined,
): Promise<Outcome> {
  if (token === undefined) return record(deps.record, command, decided);
  const settlement = settlementOf(deps.claim, command, token, decided.lease, decided.outcome);
  if (settlement || decided.outcome.kind === 'done') {
    const { outcome, settled, kept } = await recordSettling(deps.record, command, decided, settlement);
    if (!settled) await settle(deps.claim, command, token, kept ? decided.outcome : unrecorded);
    return outcome;
  }
  const [outcome] = await Promise.all([
    record(deps.record, command, decided),
    settle(deps.claim, command, token, decided.outcome),
  ]);
  return outcome;
}

/**
 * What the claim is settled with when the record could be kept nowhere (storage and the local spool both failed;
 * the record is in the error log line): no answer is stored without its record, so a retry decides again
 * (reading the connection first, it converges) and records that.
 */
export const unrecorded: Outcome = {
  kind: 'failed',
  error: new Error('its audit record could not be kept (storage and the local spool failed)'),
};

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
      await deps.idempotency.release(token, failureOf(outcome));
    }
  } catch (error) {
    command.logger.error('idempotency.settle-failed', {
      error: error instanceof Error ? error.name : 'unknown',
      message: error instanceof Error ? error.message : undefined,
      lostLease: error instanceof ClaimLostError,
    });
  }
}

function failureOf(outcome: Outcome): Failure {
  const detail = outcome.kind === 'failed' ? describe(outcome.error) : 'refused by policy';
  return { status: statusOf(outcome), detail };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 500) : 'unknown failure';
}
