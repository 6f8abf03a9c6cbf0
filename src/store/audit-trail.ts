import { odata, type TableEntity, type TransactionAction } from '@azure/data-tables';
import { backoffMs, sleep as defaultSleep } from '../backoff.js';
import {
  auditHash,
  auditRecordEntity,
  GENESIS_HASH,
  normaliseAuditRecord,
  notedRecordEntity,
  notedRecordFromEntity,
  rawRecordFromEntity,
  storedRecordFromEntity,
  type AuditRecord,
  type StoredAuditRecord,
} from './audit-record.js';
import { AuditConflictError, AuditRecordCorruptError, ConnectionBusyError } from './errors.js';
import { hashedKey, int64, isSeqRowKey, readInt, readString, seqRowKey } from './keys.js';
import { statusOf, toStoreError } from './table-call.js';
import type { StoreTable } from './table-clients.js';

/**
 * The audit trail in one table. Decisions that met a connection's state form a hash chain per connection, whose
 * head row is also the connection's lease; dry runs, refusals and duplicates are noted beside the chain, each
 * hashed on its own; every request id has one index row. Why and how: docs/architecture.md#records-in-the-chain-or-beside-it.
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

export interface AuditTrail {
  /** Takes the connection's lease, waiting until `waitUntil` (epoch ms); throws ConnectionBusyError after that. */
  lease(connectionId: string, owner: string, waitUntil: number): Promise<ChainLease>;
  /** Appends under the lease and releases it in the same transaction. */
  appendLeased(lease: ChainLease, record: AuditRecord): Promise<StoredAuditRecord>;
  /** Gives the lease back without a record (best effort: an expired lease frees itself). */
  release(lease: ChainLease): Promise<void>;
  /** Takes the lease and appends (records written later, from the spool). */
  append(record: AuditRecord, waitUntil: number): Promise<StoredAuditRecord>;
  /** Keeps a record beside the chain. Idempotent per request id. */
  note(record: AuditRecord): Promise<AuditRecord>;
  get(requestId: string): Promise<AuditEntry | undefined>;
  /** Whether this record is stored already, chained or noted (looked up by request id and connection). */
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
}

const HEAD = 'head';
const INDEX = 'index';
const LEASE_BACKOFF = { baseMs: 20, maxMs: 250 };
/** A lease lost to a takeover is retaken; more losses in a row than this mean the chain itself is damaged. */
const MAX_APPEND_ATTEMPTS = 5;

interface Head {
  etag?: string;
  seq: number;
  hash: string;
  lockedBy?: string;
  leaseUntil: number;
}

export class TableAuditTrail implements AuditTrail {
  readonly #table: StoreTable;
  readonly #clock: () => number;
  readonly #leaseMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor(options: TableAuditTrailOptions) {
    this.#table = options.table;
    this.#clock = options.clock;
    this.#leaseMs = options.leaseSeconds * 1_000;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
  }

  async lease(connectionId: string, owner: string, waitUntil: number): Promise<ChainLease> {
    const chain = chainPartition(connectionId);
    for (let attempt = 0; ; attempt++) {
      const now = this.#clock();
      const head = await this.#readHead(chain, owner);
      const free = head === undefined || !head.lockedBy || head.leaseUntil <= now || head.lockedBy === owner;
      if (free) {
        const taken = await this.#take(chain, connectionId, owner, head, now);
        if (taken !== undefined) return taken;
      }
      // Held by another decision, or another instance took it first: wait a little and look again.
      const wait = backoffMs(attempt, LEASE_BACKOFF, this.#random);
      if (now + wait >= waitUntil) {
        const left = head?.lockedBy ? head.leaseUntil - now : 1_000;
        throw new ConnectionBusyError(connectionId, Math.max(1, Math.ceil(left / 1_000)));
      }
      await this.#sleep(wait);
    }
  }

  appendLeased(lease: ChainLease, record: AuditRecord): Promise<StoredAuditRecord> {
    return this.#appendUnder(lease, normaliseAuditRecord(record), 0);
  }

  async #appendUnder(lease: ChainLease, record: AuditRecord, attempt: number): Promise<StoredAuditRecord> {
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
    // The locator first: a record must never be in a chain that its request id cannot find.
    await this.#writeLocator(lease.chain, stored);
    const result = await this.#table.call(
      'audit.append',
      (c) => c.submitTransaction(actions),
      [404, 409, 412],
    );
    if (result.ok) return stored;
    // A conflict can hide a success (the SDK resent a transaction whose answer was lost) ...
    if (await this.#landed(lease.chain, stored)) return stored;
    // ... or the lease ran out and another decision took it: wait for it again and append after that one.
    if (attempt >= MAX_APPEND_ATTEMPTS) {
      throw new AuditRecordCorruptError(record.requestId, 'its chain head disagrees with the stored records');
    }
    const again = await this.lease(lease.connectionId, lease.owner, this.#clock() + this.#leaseMs);
    return this.#appendUnder(again, record, attempt + 1);
  }

  async release(lease: ChainLease): Promise<void> {
    const freed = { partitionKey: lease.chain, rowKey: HEAD, lockedBy: '', leaseUntil: int64(0) };
    await this.#table.call(
      'audit.release',
      (c) => c.updateEntity(freed, 'Merge', { etag: lease.etag }),
      [404, 412],
    );
  }

  async append(record: AuditRecord, waitUntil: number): Promise<StoredAuditRecord> {
    const lease = await this.lease(record.connectionId, record.requestId, waitUntil);
    return this.appendLeased(lease, record);
  }

  async note(input: AuditRecord): Promise<AuditRecord> {
    const record = normaliseAuditRecord(input);
    const entity = notedRecordEntity(indexPartition(record.requestId), INDEX, record);
    const created = await this.#table.call('audit.note', (c) => c.createEntity(entity), [409]);
    if (created.ok) return record;
    const existing = await this.#readIndexRow(record.requestId);
    if (existing?.hash === entity.hash) return record;
    throw new AuditConflictError(record.requestId);
  }

  async get(requestId: string): Promise<AuditEntry | undefined> {
    const row = await this.#readIndexRow(requestId);
    if (row === undefined) return undefined;
    if (row.kind === 'noted') {
      const parsed = notedRecordFromEntity(row);
      if (!parsed.ok) throw new AuditRecordCorruptError(requestId, parsed.reason);
      return parsed.record;
    }
    const entity = await this.#locate(row, requestId);
    if (entity === undefined) return undefined;
    const parsed = storedRecordFromEntity(entity);
    if (!parsed.ok) throw new AuditRecordCorruptError(requestId, parsed.reason);
    return parsed.record;
  }

  async has(record: AuditRecord): Promise<boolean> {
    const row = await this.#readIndexRow(record.requestId);
    if (row?.kind === 'noted') return true;
    const chain = chainPartition(record.connectionId);
    return (await this.#locate(row ?? { chainPartition: chain }, record.requestId)) !== undefined;
  }

  async verify(connectionId: string): Promise<VerifyResult> {
    return verifyChain(this.#table, chainPartition(connectionId));
  }

  async listConnections(): Promise<string[]> {
    const found = new Set<string>();
    try {
      const heads = this.#table.client.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`RowKey eq ${HEAD}`, select: ['connectionId'] },
      });
      for await (const head of heads) {
        const connectionId = readString(head.connectionId);
        if (connectionId !== undefined) found.add(connectionId);
      }
    } catch (error) {
      if (statusOf(error) === 404 && found.size === 0) return [];
      throw toStoreError('audit.listConnections', error);
    }
    return [...found].sort();
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

  /** Writes the lease into the head, conditionally; undefined when another instance moved first. */
  async #take(
    chain: string,
    connectionId: string,
    owner: string,
    head: Head | undefined,
    now: number,
  ): Promise<ChainLease | undefined> {
    const lock = {
      partitionKey: chain,
      rowKey: HEAD,
      lockedBy: owner,
      leaseUntil: int64(now + this.#leaseMs),
    };
    const written =
      head?.etag === undefined
        ? await this.#table.call(
            'audit.lease',
            (c) =>
              c.createEntity({
                ...lock,
                kind: 'head',
                seq: 0,
                hash: GENESIS_HASH,
                connectionId,
                requestId: '',
              }),
            [409],
          )
        : await this.#table.call(
            'audit.lease',
            (c) => c.updateEntity(lock, 'Merge', { etag: head.etag }),
            [404, 412],
          );
    if (!written.ok || written.value.etag === undefined) return undefined;
    return {
      chain,
      connectionId,
      owner,
      etag: written.value.etag,
      seq: head?.seq ?? 0,
      hash: head?.hash ?? GENESIS_HASH,
    };
  }

  async #landed(chain: string, stored: StoredAuditRecord): Promise<boolean> {
    const row = await this.#table.call(
      'audit.read',
      (c) => c.getEntity<Record<string, unknown>>(chain, seqRowKey(stored.seq)),
      [404],
    );
    return row.ok && row.value.hash === stored.hash;
  }

  async #writeLocator(chain: string, stored: StoredAuditRecord): Promise<void> {
    const locator: TableEntity<Record<string, unknown>> = {
      partitionKey: indexPartition(stored.requestId),
      rowKey: INDEX,
      kind: 'index',
      chainPartition: chain,
      seq: stored.seq,
      requestId: stored.requestId,
      connectionId: stored.connectionId,
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

  /** The chained record a locator names: a point read, or one partition query when the seq moved. */
  async #locate(
    locator: Record<string, unknown>,
    requestId: string,
  ): Promise<Record<string, unknown> | undefined> {
    const chain = readString(locator.chainPartition);
    const seq = readInt(locator.seq);
    if (chain === undefined) return undefined;
    if (seq !== undefined) {
      const row = await this.#table.call(
        'audit.get',
        (c) => c.getEntity<Record<string, unknown>>(chain, seqRowKey(seq)),
        [404],
      );
      if (row.ok && row.value.requestId === requestId) return row.value;
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

/** Walks one chain partition in RowKey (= chain) order and checks every link and the head. */
async function verifyChain(table: StoreTable, partitionKey: string): Promise<VerifyResult> {
  const rows = table.client.listEntities<Record<string, unknown>>({
    queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` },
  });
  let expected = 1;
  let prevHash = GENESIS_HASH;
  let lastRequestId: string | undefined;
  let head: Record<string, unknown> | undefined;
  const broken = (seq: number, reason: string, requestId?: string): VerifyResult => ({
    ok: false,
    count: expected - 1,
    brokenAt: requestId === undefined ? { seq, reason } : { seq, requestId, reason },
  });
  try {
    for await (const row of rows) {
      const rowKey = readString(row.rowKey) ?? '';
      if (rowKey === HEAD) {
        head = row;
        continue;
      }
      const requestId = readString(row.requestId);
      if (!isSeqRowKey(rowKey))
        return broken(expected, `unexpected row "${rowKey.slice(0, 40)}" in the chain`);
      const position = Number.parseInt(rowKey, 10);
      if (position > expected) {
        return broken(
          expected,
          `record ${expected} is missing (the next stored record is ${position}, request ${requestId ?? '?'})`,
        );
      }
      if (position < expected) return broken(position, `duplicate record at position ${position}`, requestId);
      if (readInt(row.seq) !== expected) {
        return broken(expected, `seq column is ${String(row.seq)}, expected ${expected}`, requestId);
      }
      if (row.prevHash !== prevHash) {
        return broken(expected, `does not link to record ${expected - 1} (prevHash differs)`, requestId);
      }
      if (auditHash(rawRecordFromEntity(row), expected, prevHash) !== row.hash) {
        return broken(expected, 'content does not match its hash (a field was altered)', requestId);
      }
      prevHash = row.hash;
      lastRequestId = requestId;
      expected++;
    }
  } catch (error) {
    // No table yet means no chain yet (the CLI may run before the app ever wrote).
    if (statusOf(error) === 404 && expected === 1 && head === undefined) return { ok: true, count: 0 };
    throw toStoreError('audit.verify', error);
  }
  return checkHead(head, expected - 1, prevHash, lastRequestId, broken);
}

function checkHead(
  head: Record<string, unknown> | undefined,
  count: number,
  lastHash: string,
  lastRequestId: string | undefined,
  broken: (seq: number, reason: string, requestId?: string) => VerifyResult,
): VerifyResult {
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
  return { ok: true, count };
}

export function chainPartition(connectionId: string): string {
  return hashedKey('c', connectionId.toLowerCase());
}

function indexPartition(requestId: string): string {
  return hashedKey('r', requestId);
}
