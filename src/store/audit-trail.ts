import { odata, type TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import {
  auditHash,
  auditRecordEntity,
  GENESIS_HASH,
  normaliseAuditRecord,
  rawRecordFromEntity,
  storedRecordFromEntity,
  type AuditRecord,
  type StoredAuditRecord,
} from './audit-record.js';
import { AuditConflictError, AuditRecordCorruptError, StoreUnavailableError } from './errors.js';
import { hashedKey, isSeqRowKey, readInt, readString, seqRowKey } from './keys.js';
import { statusOf, tableCall, tableCallOrThrow, toStoreError } from './table-call.js';

/**
 * Hash-chained audit trail in one table.
 *
 * Layout
 * - Chain partition `c<sha256(lowercased connection id)>`: one row per record at RowKey = zero-padded seq, plus a
 *   `head` row holding the last (seq, hash). A record and the head move in ONE entity-group transaction
 *   (create record + ETag-conditional update of head), so the chain can never hold a record the head does not
 *   cover, nor a head pointing past the records — a crash between the two writes is impossible by construction.
 *   Concurrent appenders on any number of instances race on the head's ETag; losers re-read the head and retry
 *   with jitter, so the chain stays linear (1..n, no gaps, no forks).
 * - Index partition `r<sha256(request id)>`, RowKey `index`: request id → (chain partition, seq), so `get` is two
 *   point reads. It cannot join the chain transaction (a transaction is confined to one partition, and the
 *   request id alone must locate it), so it is written in two steps around the chain transaction:
 *     1. insert `pending` (names the chain partition) before appending,
 *     2. mark `committed` with the seq afterwards (best effort).
 *   If the process dies between the transaction and step 2, `get` finds the pending entry and falls back to
 *   a query of that one partition for the request id, then repairs the index. Step 1 also makes `append`
 *   idempotent per request id: a retry of an append whose response was lost returns the record already stored.
 */

export type VerifyResult =
  | { ok: true; count: number }
  | { ok: false; count: number; brokenAt: { seq: number; requestId?: string; reason: string } };

export interface AuditTrail {
  /** Appends one record to its connection's chain. Idempotent per requestId (same content → same stored record). */
  append(record: AuditRecord): Promise<StoredAuditRecord>;
  get(requestId: string): Promise<StoredAuditRecord | undefined>;
  /**
   * Recomputes every hash of the connection's chain in order. `count` is the number of records found intact
   * before the first break (all of them when ok). `brokenAt.requestId` is absent when the broken record is gone.
   */
  verify(connectionId: string): Promise<VerifyResult>;
  /** Connection ids that have a chain (for `audit verify --all`); scans the table. */
  listConnections?(): Promise<string[]>;
}

export interface TableAuditTrailOptions {
  client: TableClient;
  /** Attempts at winning the head race before giving up with StoreUnavailableError (default 64). */
  maxAppendAttempts?: number;
  /** Waits between attempts; injected so tests and callers control time. Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** [0, 1) for backoff jitter. Default: Math.random. */
  random?: () => number;
}

const HEAD = 'head';
const INDEX = 'index';
const BACKOFF_BASE_MS = 5;
const BACKOFF_CAP_MS = 500;

export class TableAuditTrail implements AuditTrail {
  readonly #client: TableClient;
  readonly #maxAttempts: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor(options: TableAuditTrailOptions) {
    this.#client = options.client;
    this.#maxAttempts = options.maxAppendAttempts ?? 64;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
  }

  async append(input: AuditRecord): Promise<StoredAuditRecord> {
    const record = normaliseAuditRecord(input);
    const chain = chainPartition(record.connectionId);
    const existing = await this.#openIndex(chain, record);
    if (existing !== undefined) return existing;
    const stored = await this.#appendToChain(chain, record);
    // Not awaited: the record is durable once the chain transaction landed, and a pending index still resolves
    // through the partition query in `get` (which then commits it). This keeps a round trip off every request.
    void this.#commitIndex(chain, stored).catch(() => undefined);
    return stored;
  }

  async get(requestId: string): Promise<StoredAuditRecord | undefined> {
    const index = await this.#readIndex(requestId);
    if (index === undefined) return undefined;
    const entity = await this.#locate(index, requestId);
    if (entity === undefined) return undefined;
    const parsed = storedRecordFromEntity(entity);
    if (!parsed.ok) throw new AuditRecordCorruptError(requestId, parsed.reason);
    if (index.seq === undefined) await this.#commitIndex(index.chain, parsed.record).catch(() => undefined);
    return parsed.record;
  }

  async verify(connectionId: string): Promise<VerifyResult> {
    const partitionKey = chainPartition(connectionId);
    const rows = this.#client.listEntities<Record<string, unknown>>({
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
      // The service returns a partition's rows in RowKey order, which the zero-padding makes chain order.
      for await (const row of rows) {
        const rowKey = readString(row.rowKey) ?? '';
        if (rowKey === HEAD) {
          head = row;
          continue;
        }
        const requestId = readString(row.requestId);
        if (!isSeqRowKey(rowKey)) {
          return broken(expected, `unexpected row "${rowKey.slice(0, 40)}" in the chain`);
        }
        const position = Number.parseInt(rowKey, 10);
        if (position > expected) {
          return broken(
            expected,
            `record ${expected} is missing (the next stored record is ${position}, request ${requestId ?? '?'})`,
          );
        }
        if (position < expected) {
          return broken(position, `duplicate record at position ${position}`, requestId);
        }
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
    const count = expected - 1;
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
    if (head.hash !== prevHash)
      return broken(count, 'chain head hash does not match the last record', lastRequestId);
    return { ok: true, count };
  }

  async listConnections(): Promise<string[]> {
    const found = new Set<string>();
    try {
      const heads = this.#client.listEntities<Record<string, unknown>>({
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

  /** Step 1 of the index protocol; returns the stored record when this request id was already appended. */
  async #openIndex(chain: string, record: AuditRecord): Promise<StoredAuditRecord | undefined> {
    const pending: TableEntity<Record<string, unknown>> = {
      partitionKey: indexPartition(record.requestId),
      rowKey: INDEX,
      kind: 'index',
      state: 'pending',
      chainPartition: chain,
      requestId: record.requestId,
      connectionId: record.connectionId,
    };
    const created = await tableCall('audit.index', () => this.#client.createEntity(pending), [409]);
    if (created.ok) return undefined;

    const index = await this.#readIndex(record.requestId);
    const entity = index === undefined ? undefined : await this.#locate(index, record.requestId);
    if (entity !== undefined) {
      const parsed = storedRecordFromEntity(entity);
      if (!parsed.ok) throw new AuditRecordCorruptError(record.requestId, parsed.reason);
      const { seq, prevHash, hash } = parsed.record;
      if (auditHash(record, seq, prevHash) !== hash) throw new AuditConflictError(record.requestId);
      if (index?.seq === undefined) {
        await this.#commitIndex(index?.chain ?? chain, parsed.record).catch(() => undefined);
      }
      return parsed.record;
    }
    // A pending entry whose append never landed (the earlier attempt died first): take it over.
    await tableCallOrThrow('audit.index', () => this.#client.upsertEntity(pending, 'Replace'));
    return undefined;
  }

  async #appendToChain(chain: string, record: AuditRecord): Promise<StoredAuditRecord> {
    let previous: StoredAuditRecord | undefined;
    for (let attempt = 0; attempt < this.#maxAttempts; attempt++) {
      const headRead = await tableCall(
        'audit.head',
        () => this.#client.getEntity<Record<string, unknown>>(chain, HEAD),
        [404],
      );
      const head = headRead.ok ? headRead.value : undefined;
      const headSeq = head === undefined ? 0 : readInt(head.seq);
      const headHash = head === undefined ? GENESIS_HASH : readString(head.hash);
      if (headSeq === undefined || headHash === undefined) {
        throw new AuditRecordCorruptError(record.requestId, 'the chain head of its connection is unreadable');
      }
      // A conflict can hide a success: the SDK may have resent a transaction whose first answer was lost.
      if (previous !== undefined && headSeq >= previous.seq) {
        if (await this.#landed(chain, previous, headSeq, headHash)) return previous;
      }

      const seq = headSeq + 1;
      const stored: StoredAuditRecord = {
        ...record,
        seq,
        prevHash: headHash,
        hash: auditHash(record, seq, headHash),
      };
      const headEntity: TableEntity<Record<string, unknown>> = {
        partitionKey: chain,
        rowKey: HEAD,
        kind: 'head',
        seq,
        hash: stored.hash,
        connectionId: record.connectionId,
        requestId: record.requestId,
      };
      const headEtag = readString(head?.etag);
      const actions: TransactionAction[] = [
        ['create', auditRecordEntity(chain, seqRowKey(seq), stored)],
        head === undefined || headEtag === undefined
          ? ['create', headEntity]
          : ['update', headEntity, 'Replace', { etag: headEtag }],
      ];
      const result = await tableCall(
        'audit.append',
        () => this.#client.submitTransaction(actions),
        [409, 412],
      );
      if (result.ok) return stored;
      previous = stored;
      await this.#sleep(
        this.#random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 10)),
      );
    }
    throw new StoreUnavailableError('audit.append', 409, 1, {
      detail: 'too much contention on the chain head',
    });
  }

  async #landed(
    chain: string,
    stored: StoredAuditRecord,
    headSeq: number,
    headHash: string,
  ): Promise<boolean> {
    if (headSeq === stored.seq) return headHash === stored.hash;
    const row = await tableCall(
      'audit.read',
      () => this.#client.getEntity<Record<string, unknown>>(chain, seqRowKey(stored.seq)),
      [404],
    );
    return row.ok && row.value.hash === stored.hash;
  }

  async #commitIndex(chain: string, stored: StoredAuditRecord): Promise<void> {
    const committed: TableEntity<Record<string, unknown>> = {
      partitionKey: indexPartition(stored.requestId),
      rowKey: INDEX,
      kind: 'index',
      state: 'committed',
      chainPartition: chain,
      seq: stored.seq,
      requestId: stored.requestId,
      connectionId: stored.connectionId,
    };
    await tableCallOrThrow('audit.index', () => this.#client.upsertEntity(committed, 'Replace'));
  }

  async #readIndex(requestId: string): Promise<{ chain: string; seq?: number } | undefined> {
    const read = await tableCall(
      'audit.index',
      () => this.#client.getEntity<Record<string, unknown>>(indexPartition(requestId), INDEX),
      [404],
    );
    if (!read.ok) return undefined;
    const chain = readString(read.value.chainPartition);
    if (chain === undefined) return undefined;
    const seq = read.value.state === 'committed' ? readInt(read.value.seq) : undefined;
    return seq === undefined ? { chain } : { chain, seq };
  }

  /** The record row for a request id: a point read when the index is committed, else one partition query. */
  async #locate(
    index: { chain: string; seq?: number },
    requestId: string,
  ): Promise<Record<string, unknown> | undefined> {
    if (index.seq !== undefined) {
      const seq = index.seq;
      const row = await tableCall(
        'audit.get',
        () => this.#client.getEntity<Record<string, unknown>>(index.chain, seqRowKey(seq)),
        [404],
      );
      if (row.ok && row.value.requestId === requestId) return row.value;
    }
    try {
      const matches = this.#client.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${index.chain} and requestId eq ${requestId}` },
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

export function chainPartition(connectionId: string): string {
  return hashedKey('c', connectionId.toLowerCase());
}

function indexPartition(requestId: string): string {
  return hashedKey('r', requestId);
}
