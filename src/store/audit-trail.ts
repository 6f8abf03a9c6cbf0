import { randomUUID } from 'node:crypto';
import { odata, type TableEntity, type TransactionAction } from '@azure/data-tables';
import { backoffMs, sleep as defaultSleep } from '../backoff.js';
import {
  auditHash,
  auditRecordEntity,
  GENESIS_HASH,
  normaliseAuditRecord,
  notedRecordEntity,
  notedRecordFromEntity,
  storedRecordFromEntity,
  type AuditRecord,
  type StoredAuditRecord,
} from './audit-record.js';
import { ChainHeads } from './chain-heads.js';
import { ConnectionTurns } from './connection-turns.js';
import { chainRangeOf, namesChain, requestIdFor } from './request-id.js';
import { AuditConflictError, AuditRecordCorruptError, ConnectionBusyError } from './errors.js';
import {
  chainPartition,
  hashedKey,
  int64,
  isSeqRowKey,
  readInt,
  readString,
  SEQ_WIDTH,
  seqRowKey,
} from './keys.js';
import { statusOf, toStoreError } from './table-call.js';
import type { StoreTable } from './table-clients.js';

/**
 * The audit trail in one table. Decisions that met a connection's state form a hash chain per connection, whose
 * head row is also the connection's lease; dry runs, refusals and duplicates are noted beside the chain, each
 * hashed on its own, under an index row. A chained record is found by its request id, which names its chain (an
 * id that does not gets an index row too). Why and how: docs/architecture.md#records-in-the-chain-or-beside-it.
 */

export type VerifyResult =
  | { ok: true; count: number }
  | { ok: false; count: number; brokenAt: { seq: number; requestId?: string; reason: string } };

/** A request id whose index row points at no record, or whose noted record no longer matches its hash. */
export interface IndexProblem {
  requestId: string;
  reason: string;
}

/** Proof of holding a connection's lease: the head's ETag and the chain position it guards. */
export interface ChainLease {
  readonly chain: string;
  readonly connectionId: string;
  readonly owner: string;
  readonly etag: string;
  readonly seq: number;
  readonly hash: string;
}

export type AuditEntry = StoredAuditRecord | AuditRecord;

/**
 * A row taken in the same entity-group transaction as the lease: an idempotency claim kept in the connection's
 * chain partition, so claiming and leasing are one call. Stateful, one per request: `met` may remember what it
 * saw (an ETag to take over, its own earlier write) for the next `row`.
 */
export interface LeaseClaim<R> {
  /** The row to write now: an insert, or a replace of the row met (its ETag); undefined when it is ours already. */
  row(now: number): { entity: TableEntity<Record<string, unknown>>; etag?: string } | undefined;
  readonly rowKey: string;
  /** The ETag of the row once written (or found ours). */
  etag(): string | undefined;
  /** After a failed transaction, the row as it stands (undefined: absent); a value ends the attempt unleased. */
  met(existing: Record<string, unknown> | undefined, now: number): R | undefined;
  /** Rows judged before the claim (a message's replay marks): see Companions. */
  readonly companions?: Companions;
}

/**
 * Inserts that land with a claim and are judged before it. They join the claim's transaction while `rows` gives
 * any (`landed` once it committed); `settle` writes and judges them alone (it throws to refuse the request)
 * whenever the claim row is read (before waiting for a lease, after a failed transaction) or is ours already.
 */
export interface Companions {
  rows(now: number): TableEntity<Record<string, unknown>>[];
  landed(): void;
  settle(): Promise<void>;
}

export type LeasedClaim<R> =
  { kind: 'leased'; lease: ChainLease; claimEtag: string } | { kind: 'stopped'; result: R };

/** A claim row's settlement written in the record's transaction: the claim's row and the ETag it holds. */
export interface ClaimSettlement {
  entity: TableEntity<Record<string, unknown>>;
  etag: string;
}

export interface AuditTrail {
  /**
   * Takes the connection's lease, waiting until `waitUntil` (epoch ms); throws ConnectionBusyError after that. A
   * lease an attempt of the same request handed over (`handOver`) is taken up at once.
   */
  lease(connectionId: string, owner: string, waitUntil: number): Promise<ChainLease>;
  /**
   * Takes the lease and a claim row beside it in one transaction (see LeaseClaim); throws ConnectionBusyError like
   * `lease`. A claim row that says otherwise (an answer, a request in flight) ends it without the lease.
   */
  leaseClaiming<R>(
    connectionId: string,
    owner: string,
    waitUntil: number,
    claim: LeaseClaim<R>,
  ): Promise<LeasedClaim<R>>;
  /** Appends under the lease and releases it in the same transaction. */
  appendLeased(lease: ChainLease, record: AuditRecord): Promise<StoredAuditRecord>;
  /**
   * As `appendLeased`, and settles the claim kept beside the chain in the same transaction; resolves false when the
   * claim could not go with it (taken over meanwhile): the record is then appended alone and the claim is the
   * caller's to settle.
   */
  appendSettling(lease: ChainLease, record: AuditRecord, claim: ClaimSettlement): Promise<boolean>;
  /** Gives the lease back without a record (best effort: an expired lease frees itself). */
  release(lease: ChainLease): Promise<void>;
  /**
   * Keeps the lease for the request's next attempt, for another lease's length: no other decision may be made
   * while this one's change may still land. Only an attempt of the same request takes it up before it runs out;
   * this process's other decisions on the connection stop waiting in memory and wait on the head. Best effort.
   */
  handOver(lease: ChainLease): Promise<void>;
  /** Takes the lease and appends. */
  append(record: AuditRecord, waitUntil: number): Promise<StoredAuditRecord>;
  /** As `append`, unless the request is in its chain already: then that record (records from the spool). */
  appendOnce(record: AuditRecord, waitUntil: number): Promise<StoredAuditRecord>;
  /** Keeps a record beside the chain. Idempotent per request id. */
  note(record: AuditRecord): Promise<AuditRecord>;
  get(requestId: string): Promise<AuditEntry | undefined>;
  /**
   * Whether this record is stored already, chained or noted (looked up by request id and connection). A chained
   * one found is told to `onAppended`, as if it had just landed: whoever wrote it never learnt that it did.
   */
  has(record: AuditRecord): Promise<boolean>;
  /** Recomputes every hash of the connection's chain in order. */
  verify(connectionId: string): Promise<VerifyResult>;
  /** Connection ids that have a chain (for `audit verify --all`); scans the table. */
  listConnections(): Promise<string[]>;
  /** Index rows that lead nowhere and noted records that were altered; scans the table. */
  indexProblems(): AsyncIterable<IndexProblem>;
}

export interface TableAuditTrailOptions {
  table: StoreTable;
  clock: () => number;
  /** How long a decision may hold a connection's lease before another instance takes it over. */
  leaseSeconds: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  events?: AuditEvents;
}

/** What the trail tells the rest of the app (the log), outside its table. */
export interface AuditEvents {
  /**
   * Told of every record that lands in a chain (its seq and hash go to the log, outside the table: whoever can
   * rewrite the table, and so recompute every hash, cannot rewrite that copy).
   */
  onAppended?: (stored: StoredAuditRecord) => void;
  /** Told when a lease found records past its head's seq (the head deleted or rewound), before appending after them. */
  onHeadBehind?: (found: HeadBehind) => void;
  /** Told when a record the spool held is found stored, but altered since: the spool's copy, before it is dropped. */
  onFoundAltered?: (found: FoundAltered) => void;
}

/** A stored record that no longer matches its hash, and the copy of it that was written. */
export interface FoundAltered {
  seq: number | undefined;
  reason: string;
  spooled: AuditRecord;
}

/** A chain head that counted fewer records than its partition holds. */
export interface HeadBehind {
  connectionId: string;
  headSeq: number;
  tailSeq: number;
}

/** The `source` of a record written for a decision that lost its lease before recording anything. */
export const LOST_HOLDER_SOURCE = 'lease-takeover';
const HEAD = 'head';
const INDEX = 'index';
/** Row keys of id rows: after every record and the head in a chain partition, before the claims (`k…`). */
const ID_ROW = 'id-';
const LEASE_BACKOFF = { baseMs: 20, maxMs: 250 };
/** Chains whose partition keys share a request id's 48 bits, looked through before its record counts as absent. */
const MAX_CHAINS_PER_PREFIX = 4;
/** A lease lost to a takeover is retaken; more losses in a row than this mean the chain itself is damaged. */
const MAX_APPEND_ATTEMPTS = 5;
/** The greatest record row key: with it a range query reads records only, not the head, id rows or claims. */
const LAST_SEQ_KEY = '9'.repeat(SEQ_WIDTH);

interface Head {
  etag?: string;
  seq: number;
  hash: string;
  lockedBy?: string;
  leaseUntil: number;
}

/** A head whose lease ran out while another decision held it. */
interface LostHolder {
  head: Head;
  holder: string;
}

/** The head's holder when its lease ran out in another decision's hands; undefined when it is free or ours. */
function lostHolder(head: Head | undefined, owner: string): LostHolder | undefined {
  if (!head?.lockedBy) return undefined;
  const holder = requestOf(head.lockedBy);
  // Another attempt at the same request (a worker after one that stopped) records what it finds itself.
  return holder === requestOf(owner) ? undefined : { head, holder };
}

/** The owner of a lease an attempt handed over to the next attempt of its request (request ids hold no '#'). */
function handedOver(owner: string): string {
  return `${requestOf(owner)}${HANDED_OVER}`;
}

const HANDED_OVER = '#handed-over';

/** A lease owner is a request id, or `{request id}#{worker}` for an attempt from the queue. */
function requestOf(owner: string): string {
  const hash = owner.indexOf('#');
  return hash < 0 ? owner : owner.slice(0, hash);
}

/** What the chain says of a lost holder: the request it was, and that its PUT may have been applied. */
function lostHolderRecord(connectionId: string, lost: LostHolder, now: number): AuditRecord {
  return {
    requestId: requestIdFor(connectionId, randomUUID()),
    about: lost.holder,
    time: new Date(now).toISOString(),
    source: LOST_HOLDER_SOURCE,
    connectionId,
    outcome: 'indeterminate',
    // No answer was sent for it by this record's writer: the holder's caller got whatever it got, or nothing.
    httpStatus: 0,
    durationMs: 0,
    attempts: [
      { at: new Date(lost.head.leaseUntil).toISOString(), code: 'LeaseExpired', mayHaveApplied: true },
    ],
  };
}

/** Where the head a lease attempt judged came from: what is done when taking it fails depends on it. */
type HeadSource = 'cache' | 'insert' | 'read';

export class TableAuditTrail implements AuditTrail {
  readonly #table: StoreTable;
  readonly #clock: () => number;
  readonly #leaseMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #onAppended: (stored: StoredAuditRecord) => void;
  readonly #onHeadBehind: (found: HeadBehind) => void;
  readonly #onFoundAltered: (found: FoundAltered) => void;
  readonly #heads = new ChainHeads();
  readonly #turns: ConnectionTurns;

  constructor(options: TableAuditTrailOptions) {
    this.#table = options.table;
    this.#clock = options.clock;
    this.#leaseMs = options.leaseSeconds * 1_000;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    const { events = {} } = options;
    this.#onAppended = events.onAppended ?? (() => undefined);
    this.#onHeadBehind = events.onHeadBehind ?? (() => undefined);
    this.#onFoundAltered = events.onFoundAltered ?? (() => undefined);
    this.#turns = new ConnectionTurns(options.clock, this.#leaseMs, {
      passes: (held, owner) => held === owner || held === handedOver(owner),
      handedOn: (held) => held.endsWith(HANDED_OVER),
    });
  }

  async lease(connectionId: string, owner: string, waitUntil: number): Promise<ChainLease> {
    const taken = await this.#leaseWith<never>(connectionId, owner, waitUntil, undefined);
    if (taken.kind === 'stopped') throw new TypeError('a lease without a claim cannot stop');
    return taken.lease;
  }

  leaseClaiming<R>(
    connectionId: string,
    owner: string,
    waitUntil: number,
    claim: LeaseClaim<R>,
  ): Promise<LeasedClaim<R>> {
    return this.#leaseWith(connectionId, owner, waitUntil, claim);
  }

  async #leaseWith<R>(
    connectionId: string,
    owner: string,
    waitUntil: number,
    claim: LeaseClaim<R> | undefined,
  ): Promise<LeasedClaim<R>> {
    const chain = chainPartition(connectionId);
    // A repeat of a request still at work on this connection is told so at once, not after waiting for its turn.
    const held = claim && this.#turns.heldUntil(chain) !== undefined;
    const answered = held ? await this.#claimSays(chain, claim, this.#clock()) : undefined;
    if (answered) return answered;
    // Decisions of this process wait for each other in memory, and so only for the chain write itself.
    if (!(await this.#turns.take(chain, owner, waitUntil))) {
      const left = (this.#turns.heldUntil(chain) ?? this.#clock() + 1_000) - this.#clock();
      throw new ConnectionBusyError(connectionId, Math.max(1, Math.ceil(left / 1_000)));
    }
    try {
      const taken = await this.#leaseInStorage(chain, connectionId, owner, waitUntil, claim);
      if (taken.kind === 'stopped') this.#turns.free(chain, owner);
      return taken;
    } catch (error) {
      this.#turns.free(chain, owner);
      throw error;
    }
  }

  /**
   * One conditional write of the head in the common case: the head as this process left it (its ETag cached),
   * or, for a connection this process has not decided yet, inserting a new head. Only when that write fails
   * (the head changed elsewhere, or already exists) is the head read.
   */
  async #leaseInStorage<R>(
    chain: string,
    connectionId: string,
    owner: string,
    waitUntil: number,
    claim: LeaseClaim<R> | undefined,
  ): Promise<LeasedClaim<R>> {
    let insertFirst = this.#heads.get(chain) === undefined;
    for (let attempt = 0; ; attempt++) {
      const now = this.#clock();
      const cached = this.#heads.get(chain);
      const source: HeadSource = cached ? 'cache' : insertFirst ? 'insert' : 'read';
      const head = cached ?? (insertFirst ? undefined : await this.#readHead(chain, owner));
      insertFirst = false;
      // A lease handed over by an attempt of the same request (its change may still land) is taken up at once.
      const free =
        head === undefined ||
        !head.lockedBy ||
        head.leaseUntil <= now ||
        head.lockedBy === owner ||
        head.lockedBy === handedOver(owner);
      const lost = free ? lostHolder(head, owner) : undefined;
      if (lost !== undefined) {
        if (await this.#recordLost(chain, connectionId, owner, lost, now)) continue;
      } else if (free) {
        const taken = await this.#take(chain, connectionId, owner, head, now, claim);
        if (taken !== undefined) return taken;
      } else if (claim) {
        // Held by another decision: the claim row may already answer (the same request, at work elsewhere).
        const answered = await this.#claimSays(chain, claim, now);
        if (answered) return answered;
      }
      this.#heads.forget(chain);
      // What we assumed was stale (a cached ETag, a head that already existed): read it at once.
      if (source !== 'read') continue;
      // Held by another decision, or another instance took it first: wait a little and look again.
      const wait = backoffMs(attempt, LEASE_BACKOFF, this.#random);
      if (now + wait >= waitUntil) {
        const left = head?.lockedBy ? head.leaseUntil - now : 1_000;
        throw new ConnectionBusyError(connectionId, Math.max(1, Math.ceil(left / 1_000)));
      }
      await this.#sleep(wait);
    }
  }

  /**
   * A decision whose lease ran out before it recorded anything (its process stopped, or it took far too long)
   * may have sent its PUT: the chain says so, in a record of its own, before the next decision's, rather than
   * pass over it in silence. Its own record, should it still come, follows under its own id. False when another
   * decision took the head first.
   */
  async #recordLost(chain: string, connectionId: string, owner: string, lost: LostHolder, now: number) {
    const taken = await this.#take<never>(chain, connectionId, owner, lost.head, now, undefined);
    if (taken?.kind !== 'leased') return false;
    try {
      await this.#appendUnder(
        taken.lease,
        normaliseAuditRecord(lostHolderRecord(connectionId, lost, now)),
        0,
      );
      return true;
    } catch (error) {
      await this.release(taken.lease).catch(() => undefined);
      throw error;
    }
  }

  async appendLeased(lease: ChainLease, record: AuditRecord): Promise<StoredAuditRecord> {
    try {
      return await this.#appendUnder(lease, normaliseAuditRecord(record), 0);
    } finally {
      this.#turns.free(lease.chain, lease.owner);
    }
  }

  async appendSettling(lease: ChainLease, record: AuditRecord, claim: ClaimSettlement): Promise<boolean> {
    const settled = { claim };
    try {
      await this.#appendUnder(lease, normaliseAuditRecord(record), 0, settled);
      return settled.claim !== undefined;
    } finally {
      this.#turns.free(lease.chain, lease.owner);
    }
  }

  /** `settling.claim` joins the transaction; it is dropped (set undefined) if the transaction fails with it. */
  async #appendUnder(
    lease: ChainLease,
    record: AuditRecord,
    attempt: number,
    settling: { claim?: ClaimSettlement } = {},
  ): Promise<StoredAuditRecord> {
    const seq = lease.seq + 1;
    const stored: StoredAuditRecord = {
      ...record,
      seq,
      prevHash: lease.hash,
      hash: auditHash(record, seq, lease.hash),
    };
    const head: TableEntity<Record<string, unknown>> = {
      partitionKey: lease.chain,
      rowKey: HEAD,
      kind: 'head',
      seq,
      hash: stored.hash,
      connectionId: record.connectionId,
      requestId: record.requestId,
      lockedBy: '',
      leaseUntil: int64(0),
    };
    const actions: TransactionAction[] = [
      ['create', auditRecordEntity(lease.chain, seqRowKey(seq), stored)],
      ['update', head, 'Replace', { etag: lease.etag }],
    ];
    const { claim } = settling;
    if (claim) actions.push(['update', claim.entity, 'Replace', { etag: claim.etag }]);
    // A request id that names its chain is found through a row in the chain, in the same transaction: no call of
    // its own. Any other id (work queued before ids named chains) gets a locator in its own partition, beside the
    // batch. If that locator alone fails, the record is spooled and the spool's flush writes it (has()).
    const named = namesChain(stored.requestId, lease.chain);
    if (named) actions.push(['upsert', idRow(lease.chain, stored.requestId, seq), 'Replace']);
    const [located, appended] = await Promise.allSettled([
      named ? Promise.resolve() : this.#writeLocator(lease.chain, stored.requestId, stored.connectionId, seq),
      this.#table.call('audit.append', (c) => c.submitTransaction(actions), [404, 409, 412]),
    ]);
    if (appended.status === 'rejected') throw appended.reason;
    if (appended.value.ok) {
      // Sub-responses come in the changeset's order; an update's carries no RowKey, so the head is the second.
      const etag = appended.value.value.subResponses[1]?.etag?.trim();
      if (etag) this.#heads.set(lease.chain, { etag, seq, hash: stored.hash, leaseUntil: 0 });
      else this.#heads.forget(lease.chain);
    } else {
      this.#heads.forget(lease.chain);
    }
    // A conflict can hide a success (the SDK resent a transaction whose answer was lost) ...
    const landed = appended.value.ok || (await this.#landed(lease.chain, stored));
    if (!landed && claim) {
      // ... or the claim was taken over meanwhile (its ETag moved): the record goes in alone, the claim apart.
      settling.claim = undefined;
      return this.#appendUnder(lease, record, attempt, settling);
    }
    if (landed) {
      this.#onAppended(stored);
      if (located.status === 'rejected') throw located.reason;
      return stored;
    }
    // ... or the lease ran out and another decision took it.
    return this.#appendAfterTakeover(lease, record, attempt);
  }

  /**
   * A decision that took the lease over may have recorded this very request (a worker that took over this
   * request's work): then nothing is appended, the request is never recorded twice. Otherwise the lease is waited
   * for again and the record appended after that decision's.
   */
  async #appendAfterTakeover(
    lease: ChainLease,
    record: AuditRecord,
    attempt: number,
  ): Promise<StoredAuditRecord> {
    const recorded = await this.#chained(record);
    if (recorded) return recorded;
    if (attempt >= MAX_APPEND_ATTEMPTS) {
      throw new AuditRecordCorruptError(record.requestId, 'its chain head disagrees with the stored records');
    }
    const again = await this.lease(lease.connectionId, lease.owner, this.#clock() + this.#leaseMs);
    // Looked for again under the lease: the decision that took over may have recorded it while we waited.
    const meanwhile = await this.#chainedUnder(again, record);
    if (meanwhile) return meanwhile;
    try {
      return await this.#appendUnder(await this.#pastTheTail(again), record, attempt + 1);
    } catch (error) {
      // The caller releases the lease it holds, which is no longer this one.
      await this.release(again).catch(() => undefined);
      throw error;
    }
  }

  /**
   * Under `lease`, where nothing else appends: this request's record when its chain holds it already, the lease
   * then given back; undefined, the lease still held, when it does not (a failed look gives the lease back too).
   */
  async #chainedUnder(lease: ChainLease, record: AuditRecord): Promise<StoredAuditRecord | undefined> {
    const found = await this.#chained(record).catch(async (error: unknown) => {
      await this.release(lease).catch(() => undefined);
      throw error;
    });
    if (found) await this.release(lease).catch(() => undefined);
    return found;
  }

  /**
   * The lease moved past records its head does not count (the head was deleted and made anew, or rewound):
   * appending after the last record keeps the chain whole and this record kept, where appending at the head's seq
   * would fail on every try. Said in the log, since only a hand on the table moves a head back.
   */
  async #pastTheTail(lease: ChainLease): Promise<ChainLease> {
    const beyond = odata`PartitionKey eq ${lease.chain} and RowKey gt ${seqRowKey(lease.seq)} and RowKey le ${LAST_SEQ_KEY}`;
    let last: Record<string, unknown> | undefined;
    try {
      for await (const row of this.#table.client.listEntities<Record<string, unknown>>({
        queryOptions: { filter: beyond },
      })) {
        if (isSeqRowKey(row.rowKey ?? '')) last = row;
      }
    } catch (error) {
      throw toStoreError('audit.tail', error);
    }
    if (last === undefined) return lease;
    // What is linked to must be a record of this chain, whole, at the position its key says.
    const tail = storedRecordFromEntity(last);
    const where = `record ${String(last.rowKey)} of its chain`;
    if (!tail.ok) throw new AuditRecordCorruptError(requestOf(lease.owner), `${where}: ${tail.reason}`);
    const { seq, hash, connectionId } = tail.record;
    if (seq !== Number(last.rowKey) || chainPartition(connectionId) !== lease.chain) {
      throw new AuditRecordCorruptError(requestOf(lease.owner), `${where} is not where it was written`);
    }
    this.#onHeadBehind({ connectionId: lease.connectionId, headSeq: lease.seq, tailSeq: seq });
    return { ...lease, seq, hash };
  }

  /** This request's record in its connection's chain, when one is there already. */
  async #chained(record: AuditRecord): Promise<StoredAuditRecord | undefined> {
    const found = await this.get(record.requestId);
    if (found === undefined || !('seq' in found)) return undefined;
    return found.connectionId.toLowerCase() === record.connectionId.toLowerCase() ? found : undefined;
  }

  async release(lease: ChainLease): Promise<void> {
    const freed = { partitionKey: lease.chain, rowKey: HEAD, lockedBy: '', leaseUntil: int64(0) };
    try {
      this.#heads.forget(lease.chain);
      const result = await this.#table.call(
        'audit.release',
        (c) => c.updateEntity(freed, 'Merge', { etag: lease.etag }),
        [404, 412],
      );
      const etag = result.ok ? result.value.etag : undefined;
      if (etag) this.#heads.set(lease.chain, { etag, seq: lease.seq, hash: lease.hash, leaseUntil: 0 });
    } finally {
      this.#turns.free(lease.chain, lease.owner);
    }
  }

  async handOver(lease: ChainLease): Promise<void> {
    const kept = {
      partitionKey: lease.chain,
      rowKey: HEAD,
      lockedBy: handedOver(lease.owner),
      leaseUntil: int64(this.#clock() + this.#leaseMs),
    };
    try {
      this.#heads.forget(lease.chain);
      await this.#table.call(
        'audit.hand-over',
        (c) => c.updateEntity(kept, 'Merge', { etag: lease.etag }),
        [404, 412],
      );
    } finally {
      // Here too only the request's next attempt passes; the others wait as on the head.
      this.#turns.handTo(lease.chain, lease.owner, handedOver(lease.owner));
    }
  }

  async append(record: AuditRecord, waitUntil: number): Promise<StoredAuditRecord> {
    const lease = await this.lease(record.connectionId, record.requestId, waitUntil);
    return this.appendLeased(lease, record);
  }

  async appendOnce(record: AuditRecord, waitUntil: number): Promise<StoredAuditRecord> {
    const lease = await this.lease(record.connectionId, record.requestId, waitUntil);
    // A request chained meanwhile (its work decided again by a worker while this record waited in the spool) is
    // not chained twice.
    return (await this.#chainedUnder(lease, record)) ?? this.appendLeased(lease, record);
  }

  async note(input: AuditRecord): Promise<AuditRecord> {
    const record = normaliseAuditRecord(input);
    const entity = notedRecordEntity(indexPartition(record.requestId), INDEX, record);
    const created = await this.#table.call('audit.note', (c) => c.createEntity(entity), [409]);
    if (created.ok) return record;
    // A read only on a 409: the same record written before (a resend) is fine, other content is a conflict.
    const existing = await this.#readIndexRow(record.requestId);
    if (existing?.hash === entity.hash) return record;
    throw new AuditConflictError(record.requestId);
  }

  async get(requestId: string): Promise<AuditEntry | undefined> {
    // Noted records (and records an older build chained) have an index row: looked for at the same time.
    const [named, row] = await Promise.all([this.#findNamed(requestId), this.#readIndexRow(requestId)]);
    const chained = named && (await this.#locate(named, requestId));
    if (chained) return parsedStored(chained, requestId);
    if (row === undefined) return undefined;
    if (row.kind === 'noted') {
      const parsed = notedRecordFromEntity(row);
      if (!parsed.ok) throw new AuditRecordCorruptError(requestId, parsed.reason);
      return parsed.record;
    }
    const entity = await this.#locate(row, requestId);
    return entity === undefined ? undefined : parsedStored(entity, requestId);
  }

  async has(record: AuditRecord): Promise<boolean> {
    const chain = chainPartition(record.connectionId);
    // Its id row lands with the record, in one transaction. Without one, the record may still be noted, or chained
    // by an older build (which wrote a locator instead): the checks below.
    const idRowKept =
      namesChain(record.requestId, chain) && (await this.#readRow(chain, idRowKey(record.requestId)));
    if (idRowKept) {
      await this.#anchorFound(chain, readInt(idRowKept.seq), record);
      return true;
    }
    const row = await this.#readIndexRow(record.requestId);
    if (row?.kind === 'noted') return true;
    // A chained record of such an id has its id row: without it and an index row, there is nothing to look for.
    if (row === undefined && namesChain(record.requestId, chain)) return false;
    const found = await this.#locate(row ?? { chainPartition: chain }, record.requestId);
    if (found === undefined) return false;
    // Chained, but its locator (written beside the record's transaction) failed: the spool's flush writes it now.
    if (row === undefined) {
      await this.#writeLocator(chain, record.requestId, record.connectionId, readInt(found.seq));
    }
    this.#anchor(found, record);
    return true;
  }

  /**
   * A record found chained though its write seemed to fail (its answer was lost) was never anchored: it is now,
   * so the log's anchors still count every record of the chain.
   */
  async #anchorFound(chain: string, seq: number | undefined, record: AuditRecord): Promise<void> {
    const row = seq === undefined ? undefined : await this.#readRow(chain, seqRowKey(seq));
    if (row?.requestId === record.requestId) this.#anchor(row, record);
  }

  /**
   * Best effort: a record found altered is not anchored (verify names it), and is not spooled again; the copy the
   * spool held, the one written, goes to `onFoundAltered` (the log), so it is not lost with the spool.
   */
  #anchor(row: Record<string, unknown>, spooled: AuditRecord): void {
    const read = storedRecordFromEntity(row);
    if (read.ok) this.#onAppended(read.record);
    else this.#onFoundAltered({ seq: readInt(row.seq), reason: read.reason, spooled });
  }

  async verify(connectionId: string): Promise<VerifyResult> {
    return verifyChain(this.#table, chainPartition(connectionId), this.#clock());
  }

  /**
   * Every connection with a chain: named by its head, and by its records (so a chain whose head was deleted or
   * renamed is still found). A name counts only where it hashes to the partition it sits in.
   */
  async listConnections(): Promise<string[]> {
    const found = new Map<string, string>();
    try {
      const rows = this.#table.client.listEntities<Record<string, unknown>>({
        queryOptions: {
          filter: odata`RowKey eq ${HEAD} or kind eq ${'record'}`,
          select: ['PartitionKey', 'connectionId'],
        },
      });
      for await (const row of rows) {
        const connectionId = readString(row.connectionId);
        const key = connectionId?.toLowerCase();
        if (connectionId && key && !found.has(key) && chainPartition(connectionId) === row.partitionKey)
          found.set(key, connectionId);
      }
    } catch (error) {
      if (statusOf(error) === 404 && found.size === 0) return [];
      throw toStoreError('audit.listConnections', error);
    }
    return [...found.values()].sort();
  }

  async *indexProblems(): AsyncIterable<IndexProblem> {
    const rows = this.#table.client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`RowKey eq ${INDEX}` },
    });
    try {
      for await (const row of rows) {
        const requestId = readString(row.requestId) ?? '?';
        if (row.kind === 'noted') {
          const parsed = notedRecordFromEntity(row);
          if (!parsed.ok) yield { requestId, reason: parsed.reason };
        } else if ((await this.#locate(row, requestId)) === undefined) {
          yield {
            requestId,
            reason: 'its index entry points at no record (the request died before recording)',
          };
        }
      }
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw toStoreError('audit.indexProblems', error);
    }
  }

  async #readHead(chain: string, owner: string): Promise<Head | undefined> {
    const read = await this.#table.call(
      'audit.head',
      (c) => c.getEntity<Record<string, unknown>>(chain, HEAD),
      [404],
    );
    if (!read.ok) return undefined;
    const seq = readInt(read.value.seq);
    const hash = readString(read.value.hash);
    if (seq === undefined || hash === undefined) {
      throw new AuditRecordCorruptError(owner, 'the chain head of its connection is unreadable');
    }
    const lockedBy = readString(read.value.lockedBy);
    return {
      etag: readString(read.value.etag),
      seq,
      hash,
      ...(lockedBy ? { lockedBy } : {}),
      leaseUntil: readInt(read.value.leaseUntil) ?? 0,
    };
  }

  /**
   * Writes the lease into the head, conditionally, with the claim row beside it when there is one; undefined when
   * another instance moved first (or the claim row must be written otherwise: the next round does).
   */
  async #take<R>(
    chain: string,
    connectionId: string,
    owner: string,
    head: Head | undefined,
    now: number,
    claim: LeaseClaim<R> | undefined,
  ): Promise<LeasedClaim<R> | undefined> {
    const lock = {
      partitionKey: chain,
      rowKey: HEAD,
      lockedBy: owner,
      leaseUntil: int64(now + this.#leaseMs),
    };
    const headAction: TransactionAction =
      head?.etag === undefined
        ? ['create', { ...lock, kind: 'head', seq: 0, hash: GENESIS_HASH, connectionId, requestId: '' }]
        : ['update', lock, 'Merge', { etag: head.etag }];
    const claimRow = claim?.row(now);
    const companions = claimRow ? (claim?.companions?.rows(now) ?? []) : [];
    if (!claimRow) await claim?.companions?.settle();
    const written = claimRow
      ? await this.#writeBoth(claimRow, headAction, companions)
      : await this.#writeHead(headAction);
    const etag = written?.head;
    if (etag === undefined) {
      if (claim === undefined) return undefined;
      // Which write failed is judged from what is stored: the companions first, the claim row next, the head
      // next round.
      return this.#claimSays(chain, claim, now);
    }
    if (companions.length > 0) claim?.companions?.landed();
    const seq = head?.seq ?? 0;
    const hash = head?.hash ?? GENESIS_HASH;
    this.#heads.set(chain, { etag, seq, hash, lockedBy: owner, leaseUntil: now + this.#leaseMs });
    const lease = { chain, connectionId, owner, etag, seq, hash };
    if (claim === undefined) return { kind: 'leased', lease, claimEtag: '' };
    const claimEtag = written?.claim ?? claim.etag();
    if (claimEtag === undefined) {
      await this.release(lease).catch(() => undefined);
      throw new TypeError('Table Storage returned no ETag for a claim');
    }
    return { kind: 'leased', lease, claimEtag };
  }

  /** The lease alone: the head's action as a single conditional write, not a transaction of one. */
  async #writeHead(headAction: TransactionAction): Promise<{ head?: string; claim?: string } | undefined> {
    const [kind, entity, , options] = headAction;
    const written =
      kind === 'create'
        ? await this.#table.call('audit.lease', (c) => c.createEntity(entity), [409])
        : await this.#table.call('audit.lease', (c) => c.updateEntity(entity, 'Merge', options), [404, 412]);
    return written.ok ? { head: written.value.etag } : undefined;
  }

  /** The claim row, the lease and the claim's companions in one entity-group transaction: all land, or none. */
  async #writeBoth(
    claimRow: { entity: TableEntity<Record<string, unknown>>; etag?: string },
    headAction: TransactionAction,
    companions: TableEntity<Record<string, unknown>>[],
  ): Promise<{ head?: string; claim?: string } | undefined> {
    const claimAction: TransactionAction =
      claimRow.etag === undefined
        ? ['create', claimRow.entity]
        : ['update', claimRow.entity, 'Replace', { etag: claimRow.etag }];
    const written = await this.#table.call(
      'audit.lease',
      (c) =>
        c.submitTransaction([
          claimAction,
          headAction,
          ...companions.map((entity): TransactionAction => ['create', entity]),
        ]),
      [404, 409, 412],
    );
    if (!written.ok) return undefined;
    const [claim, head] = written.value.subResponses.map((r) => r.etag?.trim());
    return { ...(head ? { head } : {}), ...(claim ? { claim } : {}) };
  }

  /**
   * What the claim row as stored says: an answer that ends the attempt unleased, or undefined to go on. Its
   * companions are judged alone first (they may refuse the request), so before any wait and after any failed
   * transaction they are settled, and a later transaction goes without them.
   */
  async #claimSays<R>(chain: string, claim: LeaseClaim<R>, now: number): Promise<LeasedClaim<R> | undefined> {
    await claim.companions?.settle();
    const stopped = claim.met(await this.#readRow(chain, claim.rowKey), now);
    return stopped === undefined ? undefined : { kind: 'stopped', result: stopped };
  }

  async #readRow(chain: string, rowKey: string): Promise<Record<string, unknown> | undefined> {
    const row = await this.#table.call(
      'audit.read',
      (c) => c.getEntity<Record<string, unknown>>(chain, rowKey),
      [404],
    );
    return row.ok ? row.value : undefined;
  }

  async #landed(chain: string, stored: StoredAuditRecord): Promise<boolean> {
    return (await this.#readRow(chain, seqRowKey(stored.seq)))?.hash === stored.hash;
  }

  async #writeLocator(
    chain: string,
    requestId: string,
    connectionId: string,
    seq: number | undefined,
  ): Promise<void> {
    const locator: TableEntity<Record<string, unknown>> = {
      partitionKey: indexPartition(requestId),
      rowKey: INDEX,
      kind: 'index',
      chainPartition: chain,
      ...(seq === undefined ? {} : { seq }),
      requestId,
      connectionId,
    };
    await this.#table.callOrThrow('audit.index', (c) => c.upsertEntity(locator, 'Replace'));
  }

  async #readIndexRow(requestId: string): Promise<Record<string, unknown> | undefined> {
    const read = await this.#table.call(
      'audit.index',
      (c) => c.getEntity<Record<string, unknown>>(indexPartition(requestId), INDEX),
      [404],
    );
    return read.ok ? read.value : undefined;
  }

  /**
   * Where the record of a request id that names its chain is, from its id row. Table Storage seeks only within a
   * partition, so the chain is found first: the first partition key in the range the id's 48 bits allow (one
   * row, a seek), then its id row is read by key; a chain sharing those bits with another is passed over.
   */
  async #findNamed(requestId: string): Promise<Record<string, unknown> | undefined> {
    const range = chainRangeOf(requestId);
    if (range === undefined) return undefined;
    let after: string | undefined;
    for (let tried = 0; tried < MAX_CHAINS_PER_PREFIX; tried++) {
      const chain = await this.#firstChain(range, after);
      if (chain === undefined) return undefined;
      const id = await this.#readRow(chain, idRowKey(requestId));
      if (id !== undefined) return { chainPartition: chain, seq: id.seq };
      after = chain;
    }
    return undefined;
  }

  /** The first partition key in `range` (past `after`, when given): one row asked for, its key alone. */
  async #firstChain(
    { from, to }: { from: string; to: string },
    after: string | undefined,
  ): Promise<string | undefined> {
    const filter =
      after === undefined
        ? odata`PartitionKey ge ${from} and PartitionKey lt ${to}`
        : odata`PartitionKey gt ${after} and PartitionKey lt ${to}`;
    try {
      const pages = this.#table.client
        .listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ['PartitionKey'] } })
        .byPage({ maxPageSize: 1 });
      // A page may come back empty with a continuation (the service stops at a time or partition boundary).
      for await (const page of pages) {
        const first = page[0];
        if (first !== undefined) return readString(first.partitionKey);
      }
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw toStoreError('audit.get', error);
    }
    return undefined;
  }

  /** The chained record a locator names: a point read, or one partition query when the seq moved. */
  async #locate(
    locator: Record<string, unknown>,
    requestId: string,
  ): Promise<Record<string, unknown> | undefined> {
    const chain = readString(locator.chainPartition);
    const seq = readInt(locator.seq);
    if (chain === undefined) return undefined;
    if (seq !== undefined) {
      const row = await this.#readRow(chain, seqRowKey(seq));
      if (row?.requestId === requestId) return row;
    }
    try {
      const matches = this.#table.client.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${chain} and requestId eq ${requestId}` },
      });
      for await (const match of matches) {
        if (isSeqRowKey(readString(match.rowKey) ?? '')) return match;
      }
    } catch (error) {
      throw toStoreError('audit.get', error);
    }
    return undefined;
  }
}

function parsedStored(entity: Record<string, unknown>, requestId: string): StoredAuditRecord {
  const parsed = storedRecordFromEntity(entity);
  if (!parsed.ok) throw new AuditRecordCorruptError(requestId, parsed.reason);
  return parsed.record;
}

/** What a walk of one chain partition has seen so far. */
interface ChainWalk {
  partitionKey: string;
  expected: number;
  prevHash: string;
  lastRequestId: string | undefined;
  /** Request id of each record, by seq. */
  requestIds: Map<number, string>;
  /** Request ids whose id row was met. */
  idRows: Set<string>;
}

type Broken = (seq: number, reason: string, requestId?: string) => VerifyResult;

/** Walks one chain partition in RowKey (= chain) order and checks every link, id row and the head. */
async function verifyChain(table: StoreTable, partitionKey: string, now: number): Promise<VerifyResult> {
  const rows = table.client.listEntities<Record<string, unknown>>({
    queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` },
  });
  const walk: ChainWalk = {
    partitionKey,
    expected: 1,
    prevHash: GENESIS_HASH,
    lastRequestId: undefined,
    requestIds: new Map(),
    idRows: new Set(),
  };
  let head: Record<string, unknown> | undefined;
  const broken: Broken = (seq, reason, requestId) => ({
    ok: false,
    count: walk.expected - 1,
    brokenAt: requestId === undefined ? { seq, reason } : { seq, requestId, reason },
  });
  try {
    for await (const row of rows) {
      const rowKey = readString(row.rowKey) ?? '';
      if (rowKey === HEAD) head = row;
      // Idempotency claims and replay marks kept beside the chain (taken with its lease) are not part of it.
      else if (isBesideRowKey(rowKey)) continue;
      else {
        const found = rowKey.startsWith(ID_ROW)
          ? idRowProblem(walk, row, rowKey)
          : recordProblem(walk, row, rowKey);
        if (found) return broken(found.seq, found.reason, found.requestId);
      }
    }
  } catch (error) {
    // No table yet means no chain yet (the CLI may run before the app ever wrote).
    if (statusOf(error) === 404 && walk.expected === 1 && head === undefined) return { ok: true, count: 0 };
    throw toStoreError('audit.verify', error);
  }
  const unfound = missingIdRow(walk);
  if (unfound) return broken(unfound.seq, unfound.reason, unfound.requestId);
  return (
    checkHead(head, walk.expected - 1, walk.prevHash, walk.lastRequestId, broken) ??
    lostLease(head, now, broken) ?? { ok: true, count: walk.expected - 1 }
  );
}

/**
 * A head still locked after its lease ran out: the decision holding it stopped before it recorded anything, and
 * may have changed the connection (its PUT sent). The next decision on the connection records that, as
 * indeterminate; until one comes, the chain is missing it.
 */
function lostLease(
  head: Record<string, unknown> | undefined,
  now: number,
  broken: Broken,
): VerifyResult | undefined {
  const holder = readString(head?.lockedBy);
  const leaseUntil = readInt(head?.leaseUntil) ?? 0;
  if (!holder || leaseUntil > now) return undefined;
  const seq = (readInt(head?.seq) ?? 0) + 1;
  return broken(
    seq,
    `request ${holder.slice(0, 80)} held the chain until ${new Date(leaseUntil).toISOString()} and recorded nothing: it may have changed the connection; read it in Resource Manager, and the next decision on it records this request as indeterminate`,
    requestOf(holder),
  );
}

type Problem = { seq: number; reason: string; requestId?: string };

/** Id rows sort after every record: each must be keyed by, and name, a record of its own request. */
function idRowProblem(walk: ChainWalk, row: Record<string, unknown>, rowKey: string): Problem | undefined {
  const seq = readInt(row.seq) ?? 0;
  const named = readString(row.requestId) ?? '?';
  if (rowKey !== idRowKey(named))
    return {
      seq,
      reason: `an id row keyed "${rowKey.slice(0, 60)}" names request ${named}`,
      requestId: named,
    };
  if (walk.requestIds.get(seq) !== named)
    return { seq, reason: `its id row names record ${seq}, which is not this request's`, requestId: named };
  walk.idRows.add(named);
  return undefined;
}

/**
 * A record: in its place, linked to the one before, matching its hash, in its own connection's chain. (A request
 * may be chained twice, rarely: a spooled record flushed while a worker decided the request again.)
 */
function recordProblem(walk: ChainWalk, row: Record<string, unknown>, rowKey: string): Problem | undefined {
  const { expected } = walk;
  const requestId = readString(row.requestId);
  const at = (reason: string, seq = expected): Problem =>
    requestId === undefined ? { seq, reason } : { seq, reason, requestId };
  if (!isSeqRowKey(rowKey))
    return { seq: expected, reason: `unexpected row "${rowKey.slice(0, 40)}" in the chain` };
  const position = Number.parseInt(rowKey, 10);
  if (position > expected)
    return at(
      `record ${expected} is missing (the next stored record is ${position}, request ${requestId ?? '?'})`,
    );
  if (position < expected) return at(`duplicate record at position ${position}`, position);
  if (readInt(row.seq) !== expected) return at(`seq column is ${String(row.seq)}, expected ${expected}`);
  if (row.prevHash !== walk.prevHash) return at(`does not link to record ${expected - 1} (prevHash differs)`);
  // As `get` reads it: a record whose fields no longer make one is as broken as one altered.
  const read = storedRecordFromEntity(row);
  if (!read.ok) return at(read.reason);
  if (chainPartition(readString(row.connectionId) ?? '') !== walk.partitionKey)
    return at("its connectionId is another connection's: it was moved here from another chain");
  walk.prevHash = String(row.hash);
  walk.lastRequestId = requestId;
  if (requestId !== undefined) walk.requestIds.set(expected, requestId);
  walk.expected++;
  return undefined;
}

/** A record whose request id names this chain is found by its id row: without one, it is hidden from lookups. */
function missingIdRow(walk: ChainWalk): Problem | undefined {
  for (const [seq, requestId] of walk.requestIds) {
    if (namesChain(requestId, walk.partitionKey) && !walk.idRows.has(requestId))
      return { seq, reason: 'its id row is missing, so it cannot be found by its request id', requestId };
  }
  return undefined;
}

function checkHead(
  head: Record<string, unknown> | undefined,
  count: number,
  lastHash: string,
  lastRequestId: string | undefined,
  broken: (seq: number, reason: string, requestId?: string) => VerifyResult,
): VerifyResult | undefined {
  if (head === undefined) {
    return count === 0 ? { ok: true, count } : broken(count, 'chain head is missing', lastRequestId);
  }
  const headSeq = readInt(head.seq);
  if (headSeq === undefined) return broken(count, 'chain head is unreadable');
  if (headSeq > count) {
    const requestId = headSeq === count + 1 ? readString(head.requestId) : undefined;
    const missing = headSeq === count + 1 ? `record ${headSeq} is` : `records ${count + 1}..${headSeq} are`;
    return broken(count + 1, `${missing} missing (the chain head is at ${headSeq})`, requestId);
  }
  if (headSeq < count) return broken(headSeq + 1, `chain head is at ${headSeq}, behind the stored records`);
  if (head.hash !== lastHash)
    return broken(count, 'chain head hash does not match the last record', lastRequestId);
  return undefined;
}

/**
 * A row kept beside a chain, not in it: an idempotency claim (`k` + SHA-256 hex of its key) or a replay mark (`n`
 * or `s` + SHA-256 hex, see nonce-store.ts).
 */
function isBesideRowKey(rowKey: string): boolean {
  return /^[kns][0-9a-f]{64}$/.test(rowKey);
}

/** A record's id row, in its chain partition: the seq of the record of a request id that names the chain. */
function idRow(chain: string, requestId: string, seq: number): TableEntity<Record<string, unknown>> {
  return { partitionKey: chain, rowKey: idRowKey(requestId), kind: 'id', seq, requestId };
}

function idRowKey(requestId: string): string {
  return `${ID_ROW}${requestId}`;
}

function indexPartition(requestId: string): string {
  return hashedKey('r', requestId);
}
