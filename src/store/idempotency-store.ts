import type { TableEntity } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { ApprovalResponse, ReportTarget } from '../model/approval.js';
import type { LeaseClaim } from './audit-trail.js';
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
  /** `requestId`: the request holding it, when known (its work may have been handed to the queue meanwhile). */
  | { kind: 'in-flight'; retryAfterSeconds: number; requestId?: string }
  /** Accepted earlier and continuing from the queue: the caller should follow that request's result. */
  | { kind: 'queued'; requestId: string; reportedTo?: ReportTarget['kind'] };

export interface IdempotencyStore {
  /**
   * `ttlMs` overrides how long the record counts (derived keys only absorb a caller's own retries); `chain` keeps
   * the claim in that connection's chain partition (audit table) instead of in the key's own partition.
   */
  claim(
    key: string,
    fingerprint: string,
    requestId: string,
    ttlMs?: number,
    chain?: string,
  ): Promise<ClaimResult>;
  /** Binds the key to its payload (422 for another payload, another connection's included); see the class. */
  bind(key: string, fingerprint: string, chain: string, ttlMs?: number): Promise<Bound>;
  /** A claim to take with the connection's lease, in one transaction (see the class). */
  besideChain(
    chain: string,
    key: string,
    fingerprint: string,
    requestId: string,
    ttlMs?: number,
  ): LeaseClaim<Unclaimed> & { owned: Owned };
  /** Keeps the key's binding as long as the claim `token` settled (see the class). */
  keepBinding(token: ClaimToken): Promise<void>;
  /** What the claim of `key` beside `chain` says, without claiming it (undefined: free). */
  peek(chain: string, key: string, fingerprint: string): Promise<Unclaimed | undefined>;
  /** Removes a claim just taken, while `token` still holds it. */
  forget(token: ClaimToken): Promise<void>;
  /** The rows `complete` and `release` write, for a transaction that settles the claim beside its record. */
  completionRow(token: ClaimToken, answer: StoredAnswer): TableEntity<Record<string, unknown>>;
  releaseRow(token: ClaimToken, failure: Failure): TableEntity<Record<string, unknown>>;
  /** Throws ClaimLostError when the lease was taken over meanwhile. */
  complete(token: ClaimToken, answer: StoredAnswer): Promise<void>;
  /** Marks the attempt failed so a retry with the same key may claim at once. Throws ClaimLostError like complete. */
  release(token: ClaimToken, failure: Failure): Promise<void>;
  /**
   * Hands the claim to queued work, held until `untilMs`; returns the token that owns it now. `reportedTo`: where
   * the queued work's outcome will be told, which a repeat of the request is told again.
   */
  queue(token: ClaimToken, untilMs: number, reportedTo?: ReportTarget['kind']): Promise<ClaimToken>;
  /** The token of a claim still held for `requestId` (in flight or queued), for work resumed from the queue. */
  heldBy(claim: Omit<ClaimToken, 'etag' | 'requestId'>, requestId: string): Promise<ClaimToken | undefined>;
}

/** SHA-256 (hex) of the canonical JSON of `parts`: key order does not matter, values do. */
export function fingerprint(parts: unknown): string {
  return sha256Hex(canonicalJson(parts));
}

export interface TableIdempotencyStoreOptions {
  table: StoreTable;
  /** The audit table, where claims are kept beside their connection's chain (the audit trail writes them there). */
  chainTable: StoreTable;
  clock: () => number;
  /** How long an in-flight claim is honoured before another instance may take it over. */
  claimLeaseSeconds: number;
  /** How long a record (and so a replayable response) is kept. */
  idempotencyTtlHours: number;
}

const REPORT_KINDS: readonly ReportTarget['kind'][] = ['location', 'servicenow', 'slack', 'teams'];

type State = 'in-flight' | 'queued' | 'completed' | 'released' | 'bound';

/** Why a claim was given back. */
export interface Failure {
  status: number;
  detail: string;
}

/** Where a claim row lives (see `#tableOf`). */
export interface ClaimSpot {
  partitionKey: string;
  rowKey: string;
}

/** What a claim row answers a request that did not get it: a stored answer, work in flight or queued, a 422. */
export type Unclaimed = Exclude<ClaimResult, { kind: 'claimed' }>;

/** The key's payload binding: `bound` to go on to the claim, or what a row left before says instead. */
export type Bound = { kind: 'bound' } | Unclaimed;

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
  readonly #tables: { idempotency: StoreTable; chain: StoreTable };
  readonly #clock: () => number;
  readonly #leaseMs: number;
  readonly #ttlMs: number;

  constructor(options: TableIdempotencyStoreOptions) {
    if (!(options.claimLeaseSeconds > 0) || !(options.idempotencyTtlHours > 0)) {
      throw new RangeError('claimLeaseSeconds and idempotencyTtlHours must be positive');
    }
    this.#tables = { idempotency: options.table, chain: options.chainTable };
    this.#clock = options.clock;
    this.#leaseMs = options.claimLeaseSeconds * 1_000;
    this.#ttlMs = options.idempotencyTtlHours * 3_600_000;
  }

  async claim(
    key: string,
    fingerprintValue: string,
    requestId: string,
    ttlMs = this.#ttlMs,
    chain?: string,
  ): Promise<ClaimResult> {
    const spot: ClaimSpot =
      chain === undefined
        ? { partitionKey: hashedKey('k', key), rowKey: ROW_KEY }
        : { partitionKey: chain, rowKey: hashedKey('k', key) };
    const table = this.#tableOf(spot);
    const owned = { ...spot, fingerprint: fingerprintValue, requestId, ttlMs };
    for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
      const now = this.#clock();
      const fresh = this.claimRow(owned, now);
      const created = await table.call('idempotency.claim', (c) => c.createEntity(fresh), [409]);
      if (created.ok) return this.#claimed(owned, created.value.etag);

      // A call only on a 409 (a repeat, or a takeover): what the key's earlier request left decides the answer.
      const read = await table.call(
        'idempotency.read',
        (c) => c.getEntity<Record<string, unknown>>(spot.partitionKey, spot.rowKey),
        [404],
      );
      // Gone between our insert and our read (e.g. a retention cleanup): insert again.
      if (!read.ok) continue;
      const judged = judgeClaim(read.value, owned, now);
      if (judged === undefined) continue;
      if (judged.kind === 'own') return this.#claimed(owned, judged.etag);
      if (judged.kind !== 'take') return judged;
      const takeover = this.claimRow(owned, now, judged.attempts);
      const replaced = await table.call(
        'idempotency.takeover',
        (c) => c.updateEntity(takeover, 'Replace', { etag: judged.etag }),
        [404, 412],
      );
      if (replaced.ok) return this.#claimed(owned, replaced.value.etag);
      // 412: another instance took it over first; the next round reads what it wrote.
    }
    return { kind: 'in-flight', retryAfterSeconds: 1 };
  }

  /**
   * Binds the caller's key to the payload it first came with, for the key's TTL: the claim itself is kept beside
   * the connection's chain (so it is taken in one transaction with the lease), and this row is what makes the same
   * key with another payload — another connection included — a 422. A row left by a version that kept whole
   * claims here is judged as that claim was. Resolves `bound` when the request may go on to its claim.
   */
  async bind(key: string, fingerprintValue: string, chain: string, ttlMs = this.#ttlMs): Promise<Bound> {
    const spot = { partitionKey: hashedKey('k', key), rowKey: ROW_KEY };
    const table = this.#tables.idempotency;
    for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
      const now = this.#clock();
      const row = {
        ...spot,
        state: 'bound' satisfies State,
        fingerprint: fingerprintValue,
        chain,
        // It must outlive the claim this request may settle (at most a lease later, kept `ttlMs` from then), and
        // is renewed when met with less than that left (one lease of slack between the two).
        expiresAt: int64(now + ttlMs + 2 * this.#leaseMs),
      };
      const created = await table.call('idempotency.bind', (c) => c.createEntity(row), [409]);
      if (created.ok) return { kind: 'bound' };
      const read = await table.call(
        'idempotency.read',
        (c) => c.getEntity<Record<string, unknown>>(spot.partitionKey, spot.rowKey),
        [404],
      );
      if (!read.ok) continue;
      const judged = judgeBinding(read.value, fingerprintValue, now, ttlMs + this.#leaseMs);
      if (judged !== 'replace') return judged;
      const etag = readString(read.value.etag);
      if (etag === undefined) continue;
      const replaced = await table.call(
        'idempotency.bind',
        (c) => c.updateEntity(row, 'Replace', { etag }),
        [404, 412],
      );
      if (replaced.ok) return { kind: 'bound' };
    }
    return { kind: 'in-flight', retryAfterSeconds: 1 };
  }

  /**
   * Keeps the key's binding as long as the claim that `token` settled (queued work settles long after it was
   * bound). Best effort: a binding that cannot be kept longer only lets the key be bound anew sooner.
   */
  async keepBinding(token: ClaimToken): Promise<void> {
    if (token.rowKey === ROW_KEY) return;
    const table = this.#tables.idempotency;
    const read = await table.call(
      'idempotency.read',
      (c) => c.getEntity<Record<string, unknown>>(token.rowKey, ROW_KEY),
      [404],
    );
    const etag = read.ok ? readString(read.value.etag) : undefined;
    if (!read.ok || etag === undefined || read.value.fingerprint !== token.fingerprint) return;
    const row = {
      partitionKey: token.rowKey,
      rowKey: ROW_KEY,
      // Never shorter than it is.
      expiresAt: int64(Math.max(readInt(read.value.expiresAt) ?? 0, this.#clock() + token.ttlMs)),
    };
    await table.call('idempotency.bind', (c) => c.updateEntity(row, 'Merge', { etag }), [404, 412]);
  }

  /**
   * What the claim of `key` kept beside `chain` says, without claiming it: a stored answer, work in flight or
   * queued, another payload — or undefined when the key is free there (never claimed, given back, expired).
   */
  async peek(chain: string, key: string, fingerprintValue: string): Promise<Unclaimed | undefined> {
    const read = await this.#tables.chain.call(
      'idempotency.read',
      (c) => c.getEntity<Record<string, unknown>>(chain, hashedKey('k', key)),
      [404],
    );
    return read.ok ? answerOf(read.value, fingerprintValue, this.#clock()) : undefined;
  }

  /** Removes a claim just taken, while `token` still holds it (one taken for a key bound to another payload). */
  async forget(token: ClaimToken): Promise<void> {
    await this.#tableOf(token).call(
      'idempotency.forget',
      (c) => c.deleteEntity(token.partitionKey, token.rowKey, { etag: token.etag }),
      [404, 412],
    );
  }

  /**
   * The claim of `key` kept in the connection's chain partition `chain` (audit table), to be taken in one
   * transaction with the connection's lease (AuditTrail.leaseClaiming). Its result is a ClaimResult other than
   * `claimed` when the row met answers instead; once leased, the token is `owned` with the claim's ETag.
   */
  besideChain(
    chain: string,
    key: string,
    fingerprintValue: string,
    requestId: string,
    ttlMs = this.#ttlMs,
  ): LeaseClaim<Unclaimed> & { owned: Owned } {
    const owned: Owned = {
      partitionKey: chain,
      rowKey: hashedKey('k', key),
      fingerprint: fingerprintValue,
      requestId,
      ttlMs,
    };
    // What the next write is: an insert, a takeover of the row met (its ETag), or nothing (the row is ours).
    let next: { etag?: string; attempts: number } | { ours: string } = { attempts: 1 };
    return {
      owned,
      rowKey: owned.rowKey,
      row: (now) => {
        if ('ours' in next) return undefined;
        const entity = this.claimRow(owned, now, next.attempts);
        return next.etag === undefined ? { entity } : { entity, etag: next.etag };
      },
      etag: () => ('ours' in next ? next.ours : undefined),
      met: (existing, now) => {
        const judged = existing === undefined ? undefined : judgeClaim(existing, owned, now);
        if (judged === undefined) next = { attempts: 1 };
        else if (judged.kind === 'own') next = { ours: judged.etag };
        else if (judged.kind === 'take') next = { etag: judged.etag, attempts: judged.attempts };
        else return judged;
        return undefined;
      },
    };
  }

  /** The row that claims a key for `owned.requestId`, in flight, with its lease (`attempts` > 1 for a takeover). */
  claimRow(owned: Owned, now: number, attempts = 1): TableEntity<Record<string, unknown>> {
    return {
      partitionKey: owned.partitionKey,
      rowKey: owned.rowKey,
      state: 'in-flight' satisfies State,
      fingerprint: owned.fingerprint,
      requestId: owned.requestId,
      claimedAt: int64(now),
      leaseUntil: int64(now + this.#leaseMs),
      expiresAt: int64(now + owned.ttlMs),
      attempts,
    };
  }

  async complete(token: ClaimToken, answer: StoredAnswer): Promise<void> {
    await this.#replaceOwned('idempotency.complete', this.completionRow(token, answer), token);
  }

  /** The claim completed with the answer a retry is given (written by `complete`, or beside the chain's record). */
  completionRow(token: ClaimToken, answer: StoredAnswer): TableEntity<Record<string, unknown>> {
    const now = this.#clock();
    return {
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
  }

  async release(token: ClaimToken, failure: Failure): Promise<void> {
    await this.#replaceOwned('idempotency.release', this.releaseRow(token, failure), token);
  }

  /** The claim given back, with why, so a retry may claim at once. */
  releaseRow(token: ClaimToken, failure: Failure): TableEntity<Record<string, unknown>> {
    const now = this.#clock();
    return {
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
  }

  async queue(token: ClaimToken, untilMs: number, reportedTo?: ReportTarget['kind']): Promise<ClaimToken> {
    const now = this.#clock();
    const entity: TableEntity<Record<string, unknown>> = {
      partitionKey: token.partitionKey,
      rowKey: token.rowKey,
      state: 'queued' satisfies State,
      fingerprint: token.fingerprint,
      requestId: token.requestId,
      queuedAt: int64(now),
      ...(reportedTo === undefined ? {} : { reportedTo }),
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
    const read = await this.#tableOf(claim).call(
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
    const table = this.#tableOf(token);
    const result = await table.call(
      operation,
      (c) => c.updateEntity(entity, 'Replace', { etag: token.etag }),
      [404, 412],
    );
    if (result.ok && result.value.etag !== undefined) return result.value.etag;
    // A 412 can be our own write resent by the SDK after its answer was lost: check what is stored.
    if (!result.ok && result.status === 412) {
      const read = await table.call(
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
    const tables = new Set([this.#tables.idempotency, this.#tables.chain]);
    for (const table of tables) {
      const rows = table.client.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`state eq ${'completed'}`, select: ['answerRequestId'] },
      });
      try {
        for await (const row of rows) {
          const id = readString(row.answerRequestId);
          if (id !== undefined) yield id;
        }
      } catch (error) {
        // No table yet: nothing was ever kept.
        if (statusOf(error) !== 404) throw toStoreError('idempotency.list', error);
      }
    }
  }

  /** Claims beside a chain live in the audit table; a key's own partition (and claims from before) in this one. */
  #tableOf(spot: { rowKey: string }): StoreTable {
    return spot.rowKey === ROW_KEY ? this.#tables.idempotency : this.#tables.chain;
  }

  #claimed(owned: Owned, etag: string | undefined): ClaimResult {
    if (etag === undefined) throw new TypeError('Table Storage returned no ETag for a write');
    return { kind: 'claimed', token: { ...owned, etag } };
  }
}

export interface Owned {
  partitionKey: string;
  rowKey: string;
  fingerprint: string;
  requestId: string;
  ttlMs: number;
}

/** What a claim row met after a failed insert says: ours already, an answer, or free to take with its ETag. */
export type Judged =
  Unclaimed | { kind: 'own'; etag: string } | { kind: 'take'; etag: string; attempts: number };

/**
 * What a key's row met by a new binding says: the key is bound to this payload (and kept long enough), bound to
 * another (422), or a whole claim from before claims moved beside the chain answers as it always did, until it
 * expires; otherwise the row is replaced by this binding (expired, given back, or to be kept longer).
 */
function judgeBinding(
  existing: Record<string, unknown>,
  fingerprintValue: string,
  now: number,
  keepMs: number,
): Bound | 'replace' {
  const expiresAt = readInt(existing.expiresAt) ?? 0;
  if (expiresAt <= now) return 'replace';
  if (readString(existing.fingerprint) !== fingerprintValue) return { kind: 'mismatch' };
  if (readString(existing.state) === 'bound')
    return expiresAt >= now + keepMs ? { kind: 'bound' } : 'replace';
  return answerOf(existing, fingerprintValue, now) ?? 'replace';
}

/** What a claim row answers a request that does not hold it; undefined when the key is free to take there. */
function answerOf(
  existing: Record<string, unknown>,
  fingerprintValue: string,
  now: number,
): Unclaimed | undefined {
  const judged = judgeClaim(existing, { fingerprint: fingerprintValue, requestId: '' }, now);
  return judged === undefined || judged.kind === 'take' || judged.kind === 'own' ? undefined : judged;
}

/** Judges the claim row a new claim collided with; undefined when it cannot be judged (no ETag): look again. */
export function judgeClaim(
  existing: Record<string, unknown>,
  owned: { fingerprint: string; requestId: string },
  now: number,
): Judged | undefined {
  const expiresAt = readInt(existing.expiresAt) ?? 0;
  const state = readString(existing.state) as State | undefined;
  const etag = readString(existing.etag);
  // Our own write whose answer was lost and resent by the SDK (409/412 on the resend): request ids are unique.
  if (
    state === 'in-flight' &&
    readString(existing.requestId) === owned.requestId &&
    readString(existing.fingerprint) === owned.fingerprint &&
    etag !== undefined
  ) {
    return { kind: 'own', etag };
  }
  if (expiresAt > now) {
    if (readString(existing.fingerprint) !== owned.fingerprint) return { kind: 'mismatch' };
    if (state === 'completed') {
      const answer = readAnswer(existing);
      if (answer !== undefined) return { kind: 'replay', answer };
      // A completed record we cannot read back is useless for replay; treat it like an expired one.
    } else if (state === 'queued' && (readInt(existing.leaseUntil) ?? 0) > now) {
      const reportedTo = REPORT_KINDS.find((kind) => kind === readString(existing.reportedTo));
      return {
        kind: 'queued',
        requestId: readString(existing.requestId) ?? '',
        ...(reportedTo ? { reportedTo } : {}),
      };
    } else if (state === 'in-flight') {
      const leaseUntil = readInt(existing.leaseUntil) ?? 0;
      if (leaseUntil > now) {
        const retryAfterSeconds = Math.max(1, Math.ceil((leaseUntil - now) / 1_000));
        const holder = readString(existing.requestId);
        return holder === undefined
          ? { kind: 'in-flight', retryAfterSeconds }
          : { kind: 'in-flight', retryAfterSeconds, requestId: holder };
      }
      // Lease ran out: the owner died or is far too slow. Fall through to a conditional takeover.
    }
    // 'released': the earlier attempt failed and gave the key back; claim it straight away.
  }
  if (etag === undefined) return undefined;
  return { kind: 'take', etag, attempts: (readInt(existing.attempts) ?? 1) + 1 };
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
