import type { TableEntity } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { ApprovalResponse } from '../model/approval.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import { ClaimLostError } from './errors.js';
import { hashedKey, int64, readInt, readString } from './keys.js';
import { statusOf, toStoreError } from './table-call.js';
import type { StoreTable } from './table-clients.js';

/**
 * Idempotency records in Table Storage, one entity per key.
 *
 * Every state change is a conditional write, so concurrent duplicates on any number of instances produce
 * exactly one owner: the first claim is insert-if-absent (409 → someone else has it), and every later
 * transition (takeover of an expired lease, re-claim after release, overwrite of an expired record, complete,
 * release) is a Replace guarded by the ETag we last read (412 → someone else moved first).
 *
 * The key itself is never stored, only its SHA-256: keys can be derived from delivery ids or signatures.
 */

/** A completed approval's answer, kept so a retry gets the very same answer. */
export interface StoredAnswer {
  /** The request that produced it. */
  requestId: string;
  response: ApprovalResponse;
}

/** Proof of ownership handed out by `claim`; `complete`/`release` only succeed while the ETag still matches. */
export interface ClaimToken {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly etag: string;
  readonly fingerprint: string;
  readonly requestId: string;
  readonly ttlMs: number;
}

export type ClaimResult =
  | { kind: 'claimed'; token: ClaimToken }
  | { kind: 'replay'; answer: StoredAnswer }
  | { kind: 'mismatch' }
  | { kind: 'in-flight'; retryAfterSeconds: number }
  /** Accepted earlier and continuing from the queue: the caller should follow that request's result. */
  | { kind: 'queued'; requestId: string };

export interface IdempotencyStore {
  /** `ttlMs` overrides how long the record counts (derived keys only absorb a caller's own retries). */
  claim(key: string, fingerprint: string, requestId: string, ttlMs?: number): Promise<ClaimResult>;
  /** Throws ClaimLostError when the lease was taken over meanwhile. */
  complete(token: ClaimToken, answer: StoredAnswer): Promise<void>;
  /** Marks the attempt failed so a retry with the same key may claim at once. Throws ClaimLostError like complete. */
  release(token: ClaimToken, failure: { status: number; detail: string }): Promise<void>;
  /** Hands the claim to queued work, held until `untilMs`; returns the token that owns it now. */
  queue(token: ClaimToken, untilMs: number): Promise<ClaimToken>;
  /** The token of a claim still held for `requestId` (in flight or queued), for work resumed from the queue. */
  heldBy(claim: Omit<ClaimToken, 'etag' | 'requestId'>, requestId: string): Promise<ClaimToken | undefined>;
}

/** SHA-256 (hex) of the canonical JSON of `parts`: key order does not matter, values do. */
export function fingerprint(parts: unknown): string {
  return sha256Hex(canonicalJson(parts));
}

export interface TableIdempotencyStoreOptions {
  table: StoreTable;
  clock: () => number;
  /** How long an in-flight claim is honoured before another instance may take it over. */
  claimLeaseSeconds: number;
  /** How long a record (and so a replayable response) is kept. */
  idempotencyTtlHours: number;
}

type State = 'in-flight' | 'queued' | 'completed' | 'released';

const ROW_KEY = 'claim';
/**
 * Bodies are stored as UTF-8 bytes split across Binary columns (a property holds at most 64 KiB).
 * Binary rather than String also keeps the wire payload ASCII (base64): Azurite 3.35 corrupts multi-byte
 * characters that straddle request chunks (Azure/Azurite#2670), which would break local replays.
 */
const BODY_CHUNK_BYTES = 60_000;
/** Our replies are a few KiB; 240 KB (320 KB as base64 on the wire) stays well inside the 1 MiB entity cap. */
const MAX_BODY_CHUNKS = 4;
const MAX_FAILURE_DETAIL = 1_024;
/** Each iteration either wins or observes a newer record; a handful is plenty even under heavy races. */
const MAX_CLAIM_ROUNDS = 5;

export class TableIdempotencyStore implements IdempotencyStore {
  readonly #table: StoreTable;
  readonly #clock: () => number;
  readonly #leaseMs: number;
  readonly #ttlMs: number;

  constructor(options: TableIdempotencyStoreOptions) {
    if (!(options.claimLeaseSeconds > 0) || !(options.idempotencyTtlHours > 0)) {
      throw new RangeError('claimLeaseSeconds and idempotencyTtlHours must be positive');
    }
    this.#table = options.table;
    this.#clock = options.clock;
    this.#leaseMs = options.claimLeaseSeconds * 1_000;
    this.#ttlMs = options.idempotencyTtlHours * 3_600_000;
  }

  async claim(
    key: string,
    fingerprintValue: string,
    requestId: string,
    ttlMs = this.#ttlMs,
  ): Promise<ClaimResult> {
    const partitionKey = hashedKey('k', key);
    const owned = { partitionKey, fingerprint: fingerprintValue, requestId, ttlMs };
    for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
      const now = this.#clock();
      const fresh = this.#claimEntity(owned, now);
      const created = await this.#table.call('idempotency.claim', (c) => c.createEntity(fresh), [409]);
      if (created.ok) return this.#claimed(owned, created.value.etag);

      // A call only on a 409 (a repeat, or a takeover): what the key's earlier request left decides the answer.
      const read = await this.#table.call(
        'idempotency.read',
        (c) => c.getEntity<Record<string, unknown>>(partitionKey, ROW_KEY),
        [404],
      );
      // Gone between our insert and our read (e.g. a retention cleanup): insert again.
      if (!read.ok) continue;
      const existing = read.value;
      const expiresAt = readInt(existing.expiresAt) ?? 0;
      const state = readString(existing.state) as State | undefined;

      const etag = readString(existing.etag);
      // Our own write whose answer was lost and resent by the SDK (409/412 on the resend): request ids are unique.
      if (
        state === 'in-flight' &&
        readString(existing.requestId) === requestId &&
        readString(existing.fingerprint) === fingerprintValue &&
        etag !== undefined
      ) {
        return this.#claimed(owned, etag);
      }

      if (expiresAt > now) {
        if (readString(existing.fingerprint) !== fingerprintValue) return { kind: 'mismatch' };
        if (state === 'completed') {
          const answer = readAnswer(existing);
          if (answer !== undefined) return { kind: 'replay', answer };
          // A completed record we cannot read back is useless for replay; treat it like an expired one.
        } else if (state === 'queued' && (readInt(existing.leaseUntil) ?? 0) > now) {
          return { kind: 'queued', requestId: readString(existing.requestId) ?? '' };
        } else if (state === 'in-flight') {
          const leaseUntil = readInt(existing.leaseUntil) ?? 0;
          if (leaseUntil > now) {
            return {
              kind: 'in-flight',
              retryAfterSeconds: Math.max(1, Math.ceil((leaseUntil - now) / 1_000)),
            };
          }
          // Lease ran out: the owner died or is far too slow. Fall through to a conditional takeover.
        }
        // 'released': the earlier attempt failed and gave the key back; claim it straight away.
      }

      if (etag === undefined) continue;
      const attempts = (readInt(existing.attempts) ?? 1) + 1;
      const takeover = { ...fresh, attempts };
      const replaced = await this.#table.call(
        'idempotency.takeover',
        (c) => c.updateEntity(takeover, 'Replace', { etag }),
        [404, 412],
      );
      if (replaced.ok) return this.#claimed(owned, replaced.value.etag);
      // 412: another instance took it over first; the next round reads what it wrote.
    }
    return { kind: 'in-flight', retryAfterSeconds: 1 };
  }

  async complete(token: ClaimToken, answer: StoredAnswer): Promise<void> {
    const now = this.#clock();
    const entity: TableEntity<Record<string, unknown>> = {
      partitionKey: token.partitionKey,
      rowKey: token.rowKey,
      state: 'completed' satisfies State,
      fingerprint: token.fingerprint,
      requestId: token.requestId,
      completedAt: int64(now),
      leaseUntil: int64(0),
      expiresAt: int64(now + token.ttlMs),
      answerRequestId: answer.requestId,
      ...bodyColumns(JSON.stringify(answer.response)),
    };
    await this.#replaceOwned('idempotency.complete', entity, token);
  }

  async release(token: ClaimToken, failure: { status: number; detail: string }): Promise<void> {
    const now = this.#clock();
    const entity: TableEntity<Record<string, unknown>> = {
      partitionKey: token.partitionKey,
      rowKey: token.rowKey,
      state: 'released' satisfies State,
      fingerprint: token.fingerprint,
      requestId: token.requestId,
      releasedAt: int64(now),
      leaseUntil: int64(0),
      // Keep the record (and its fingerprint) for the full TTL so a reused key with another payload is still a 422.
      expiresAt: int64(now + token.ttlMs),
      failureStatus: failure.status,
      failureDetail: failure.detail.slice(0, MAX_FAILURE_DETAIL),
    };
    await this.#replaceOwned('idempotency.release', entity, token);
  }

  async queue(token: ClaimToken, untilMs: number): Promise<ClaimToken> {
    const now = this.#clock();
    const entity: TableEntity<Record<string, unknown>> = {
      partitionKey: token.partitionKey,
      rowKey: token.rowKey,
      state: 'queued' satisfies State,
      fingerprint: token.fingerprint,
      requestId: token.requestId,
      queuedAt: int64(now),
      leaseUntil: int64(untilMs),
      expiresAt: int64(Math.max(untilMs, now + token.ttlMs)),
    };
    const etag = await this.#replaceOwned('idempotency.queue', entity, token);
    return { ...token, etag };
  }

  async heldBy(
    claim: Omit<ClaimToken, 'etag' | 'requestId'>,
    requestId: string,
  ): Promise<ClaimToken | undefined> {
    const read = await this.#table.call(
      'idempotency.read',
      (c) => c.getEntity<Record<string, unknown>>(claim.partitionKey, claim.rowKey),
      [404],
    );
    if (!read.ok) return undefined;
    const state = readString(read.value.state);
    const etag = readString(read.value.etag);
    if (etag === undefined || readString(read.value.requestId) !== requestId) return undefined;
    return state === 'in-flight' || state === 'queued' ? { ...claim, requestId, etag } : undefined;
  }

  /** Replaces the row while the token still owns it; resolves to the row's new ETag. */
  async #replaceOwned(
    operation: string,
    entity: TableEntity<Record<string, unknown>>,
    token: ClaimToken,
  ): Promise<string> {
    const result = await this.#table.call(
      operation,
      (c) => c.updateEntity(entity, 'Replace', { etag: token.etag }),
      [404, 412],
    );
    if (result.ok && result.value.etag !== undefined) return result.value.etag;
    // A 412 can be our own write resent by the SDK after its answer was lost: check what is stored.
    if (!result.ok && result.status === 412) {
      const read = await this.#table.call(
        'idempotency.read',
        (c) => c.getEntity<Record<string, unknown>>(token.partitionKey, token.rowKey),
        [404],
      );
      const etag = read.ok ? readString(read.value.etag) : undefined;
      if (read.ok && etag && read.value.requestId === token.requestId && read.value.state === entity.state)
        return etag;
    }
    throw new ClaimLostError(operation);
  }

  /** Request ids of the answers kept for replay (for `audit verify --all`, which checks each has its record). */
  async *completedRequestIds(): AsyncIterable<string> {
    const rows = this.#table.client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`state eq ${'completed'}`, select: ['answerRequestId'] },
    });
    try {
      for await (const row of rows) {
        const id = readString(row.answerRequestId);
        if (id !== undefined) yield id;
      }
    } catch (error) {
      // No table yet: nothing was ever kept.
      if (statusOf(error) === 404) return;
      throw toStoreError('idempotency.list', error);
    }
  }

  #claimEntity(owned: Owned, now: number): TableEntity<Record<string, unknown>> {
    return {
      partitionKey: owned.partitionKey,
      rowKey: ROW_KEY,
      state: 'in-flight' satisfies State,
      fingerprint: owned.fingerprint,
      requestId: owned.requestId,
      claimedAt: int64(now),
      leaseUntil: int64(now + this.#leaseMs),
      expiresAt: int64(now + owned.ttlMs),
      attempts: 1,
    };
  }

  #claimed(owned: Owned, etag: string | undefined): ClaimResult {
    if (etag === undefined) throw new TypeError('Table Storage returned no ETag for a write');
    return { kind: 'claimed', token: { ...owned, rowKey: ROW_KEY, etag } };
  }
}

interface Owned {
  partitionKey: string;
  fingerprint: string;
  requestId: string;
  ttlMs: number;
}

function bodyColumns(body: string): Record<string, unknown> {
  // Buffer, not a plain Uint8Array: @azure/data-tables 13.3 base64-encodes a plain view's whole underlying
  // ArrayBuffer (ignoring its offset and length), so chunks of a TextEncoder array would each hold the full body.
  const bytes = Buffer.from(body, 'utf8');
  const chunks = Math.max(1, Math.ceil(bytes.length / BODY_CHUNK_BYTES));
  if (chunks > MAX_BODY_CHUNKS)
    throw new RangeError('Response body too large to store for idempotent replay');
  const columns: Record<string, unknown> = { responseBodyChunks: chunks, responseBodyBytes: bytes.length };
  for (let i = 0; i < chunks; i++) {
    columns[`responseBody${i}`] = bytes.subarray(i * BODY_CHUNK_BYTES, (i + 1) * BODY_CHUNK_BYTES);
  }
  return columns;
}

function readAnswer(entity: Record<string, unknown>): StoredAnswer | undefined {
  const chunks = readInt(entity.responseBodyChunks);
  const requestId = readString(entity.answerRequestId);
  if (chunks === undefined || requestId === undefined) return undefined;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < chunks; i++) {
    const part = entity[`responseBody${i}`];
    if (!(part instanceof Uint8Array)) return undefined;
    parts.push(part);
  }
  // Decode once over all bytes: a character may straddle two chunks.
  try {
    const response = JSON.parse(new TextDecoder('utf-8').decode(Buffer.concat(parts))) as ApprovalResponse;
    return typeof response === 'object' && response !== null ? { requestId, response } : undefined;
  } catch {
    return undefined;
  }
}
