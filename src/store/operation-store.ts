import type { TableEntity } from '@azure/data-tables';
import { hashedKey, int64, readInt, readString } from './keys.js';
import type { StoreTable } from './table-clients.js';

/**
 * The state of an approval that continues from the queue, one row per request id: queued, running (leased by
 * one worker, so a redelivered message cannot run it twice at once), or done with the answer its caller gets
 * from the `Location` URL. Attempts and reports accumulate here while it runs; the audit record keeps them for
 * good once it ends.
 */

export interface Attempt {
  /** ISO 8601. */
  at: string;
  armStatus?: number;
  code?: string;
  /** The PUT was sent and may have been applied. */
  mayHaveApplied?: boolean;
}

/** The answer a caller gets once the work is done, as the synchronous answer would have been. */
export interface StoredResult {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface Operation {
  requestId: string;
  source: string;
  /** `scheme:id` of the caller that started it: only the same caller may read its result. */
  callerKey: string;
  connectionId: string;
  state: 'queued' | 'running' | 'done';
  acceptedAt: number;
  attempts: Attempt[];
  nextAttemptAt?: number;
  result?: StoredResult;
  etag: string;
  owner?: string;
  leaseUntil: number;
  /** Taken from a worker whose lease ran out mid-attempt (it died): that attempt may have sent its PUT. */
  takenOver?: boolean;
}

export type NewOperation = Pick<
  Operation,
  'requestId' | 'source' | 'callerKey' | 'connectionId' | 'acceptedAt' | 'attempts'
> & {
  nextAttemptAt: number;
};

export interface OperationStore {
  /** Records an operation as queued. Idempotent per request id. */
  open(operation: NewOperation, expiresAt: number): Promise<void>;
  get(requestId: string): Promise<Operation | undefined>;
  /** Takes a queued operation (or one whose worker's lease ran out) for `owner`; undefined when it is not to run. */
  take(requestId: string, owner: string, leaseMs: number): Promise<Operation | undefined>;
  /** Back to the queue after a failed attempt; false when the lease was lost meanwhile. */
  requeue(operation: Operation, attempts: Attempt[], nextAttemptAt: number): Promise<boolean>;
  /** Forgets an operation whose message never reached the queue, so nothing shows it as running. */
  discard(requestId: string): Promise<void>;
  /** Done, with the answer the caller gets. */
  finish(
    operation: Operation,
    result: StoredResult,
    attempts: Attempt[],
    expiresAt: number,
  ): Promise<boolean>;
}

const ROW = 'operation';

export class TableOperationStore implements OperationStore {
  readonly #table: StoreTable;
  readonly #clock: () => number;

  constructor(options: { table: StoreTable; clock: () => number }) {
    this.#table = options.table;
    this.#clock = options.clock;
  }

  async open(operation: NewOperation, expiresAt: number): Promise<void> {
    const entity: TableEntity<Record<string, unknown>> = {
      partitionKey: partition(operation.requestId),
      rowKey: ROW,
      requestId: operation.requestId,
      source: operation.source,
      callerKey: operation.callerKey,
      connectionId: operation.connectionId,
      state: 'queued',
      acceptedAt: int64(operation.acceptedAt),
      attempts: JSON.stringify(operation.attempts),
      nextAttemptAt: int64(operation.nextAttemptAt),
      leaseUntil: int64(0),
      expiresAt: int64(expiresAt),
    };
    await this.#table.call('operation.open', (c) => c.createEntity(entity), [409]);
  }

  async get(requestId: string): Promise<Operation | undefined> {
    const read = await this.#table.call(
      'operation.get',
      (c) => c.getEntity<Record<string, unknown>>(partition(requestId), ROW),
      [404],
    );
    return read.ok ? fromEntity(read.value) : undefined;
  }

  async take(requestId: string, owner: string, leaseMs: number): Promise<Operation | undefined> {
    const current = await this.get(requestId);
    const now = this.#clock();
    if (current === undefined || current.state === 'done') return undefined;
    if (current.state === 'running' && current.leaseUntil > now) return undefined;
    const update = {
      partitionKey: partition(requestId),
      rowKey: ROW,
      state: 'running',
      owner,
      leaseUntil: int64(now + leaseMs),
    };
    const written = await this.#table.call(
      'operation.take',
      (c) => c.updateEntity(update, 'Merge', { etag: current.etag }),
      [404, 412],
    );
    if (!written.ok || written.value.etag === undefined) return undefined;
    const taken = { ...current, owner, leaseUntil: now + leaseMs, etag: written.value.etag };
    return { ...taken, state: 'running', takenOver: current.state === 'running' };
  }

  async requeue(operation: Operation, attempts: Attempt[], nextAttemptAt: number): Promise<boolean> {
    const update = {
      partitionKey: partition(operation.requestId),
      rowKey: ROW,
      state: 'queued',
      attempts: JSON.stringify(attempts),
      nextAttemptAt: int64(nextAttemptAt),
      leaseUntil: int64(0),
    };
    const written = await this.#table.call(
      'operation.requeue',
      (c) => c.updateEntity(update, 'Merge', { etag: operation.etag }),
      [404, 412],
    );
    return written.ok;
  }

  async discard(requestId: string): Promise<void> {
    await this.#table.call('operation.discard', (c) => c.deleteEntity(partition(requestId), ROW), [404]);
  }

  async finish(
    operation: Operation,
    result: StoredResult,
    attempts: Attempt[],
    expiresAt: number,
  ): Promise<boolean> {
    const update = {
      partitionKey: partition(operation.requestId),
      rowKey: ROW,
      state: 'done',
      attempts: JSON.stringify(attempts),
      result: JSON.stringify(result),
      leaseUntil: int64(0),
      expiresAt: int64(expiresAt),
    };
    const written = await this.#table.call(
      'operation.finish',
      (c) => c.updateEntity(update, 'Merge', { etag: operation.etag }),
      [404, 412],
    );
    return written.ok;
  }
}

function partition(requestId: string): string {
  return hashedKey('o', requestId.toLowerCase());
}

function fromEntity(entity: Record<string, unknown>): Operation | undefined {
  const requestId = readString(entity.requestId);
  const state = readString(entity.state);
  const etag = readString(entity.etag);
  if (
    requestId === undefined ||
    etag === undefined ||
    (state !== 'queued' && state !== 'running' && state !== 'done')
  ) {
    return undefined;
  }
  const operation: Operation = {
    requestId,
    source: readString(entity.source) ?? '',
    callerKey: readString(entity.callerKey) ?? '',
    connectionId: readString(entity.connectionId) ?? '',
    state,
    acceptedAt: readInt(entity.acceptedAt) ?? 0,
    attempts: parseJson<Attempt[]>(entity.attempts) ?? [],
    etag,
    leaseUntil: readInt(entity.leaseUntil) ?? 0,
  };
  const next = readInt(entity.nextAttemptAt);
  if (next !== undefined) operation.nextAttemptAt = next;
  const result = parseJson<StoredResult>(entity.result);
  if (result !== undefined) operation.result = result;
  const owner = readString(entity.owner);
  if (owner) operation.owner = owner;
  return operation;
}

function parseJson<T>(value: unknown): T | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}
