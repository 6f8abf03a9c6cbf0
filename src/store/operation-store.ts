import type { TableEntity } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { ApprovalRequest, CallerIdentity, ReportTarget, SourceName } from '../model/approval.js';
import type { AuditReport } from './audit-record.js';
import { statusOf, toStoreError } from './table-call.js';
import { hashedKey, int64, readInt, readString } from './keys.js';
import type { StoreTable } from './table-clients.js';

/**
 * An approval that continues from the queue, one row per request id — the only thing the worker trusts. The
 * validated command lives here (`work`), so a queue message carries nothing but the request id and the
 * generation it was sent for; a message of an older generation, or for a row that does not exist, does
 * nothing. The row is queued, running (leased by one worker), or done with the answer its caller gets and the
 * report still owed to the caller's platform (`outbox`). Every change is conditional on the row's ETag.
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

/** The accepted command: what the worker decides, exactly as the request was authenticated and validated. */
export interface Work {
  source: SourceName;
  caller: CallerIdentity;
  request: ApprovalRequest;
  connectionId: string;
  /** When the request arrived (epoch ms). */
  started: number;
  /** The idempotency record the work owns. */
  claim: { partitionKey: string; rowKey: string; fingerprint: string; ttlMs: number };
  report: ReportTarget;
  /** The connection's status when the request was accepted, when it had been read: a later change supersedes. */
  seenStatus?: string;
}

/**
 * What one attempt leaves for the next: the PUT went out (and the state it replaced); its long-running operation
 * was still running (the poller's state, to wait on instead of writing again).
 */
export interface Carry {
  /** `at`: when the last PUT went out (epoch ms; rows from older builds have none). */
  putSent?: { previousStatus: string; at?: number };
  resume?: { token: string; previousStatus: string };
}

/** The report owed once the work ended: sent at least once, retried, then kept as sent or given up. */
export interface Outbox {
  target: ReportTarget;
  text: string;
  ok: boolean;
  state: 'pending' | 'sent' | 'given-up';
  reports: AuditReport[];
  /** When the next try is due (epoch ms); a sender claims a try by moving it past its own send. */
  nextAt: number;
  /** The end (sent or given up) is in the audit trail as `<request id>:reported`. */
  noted: boolean;
}

export interface Operation {
  requestId: string;
  /** `scheme:id` of the caller that started it: only the same caller may read its result. */
  callerKey: string;
  state: 'queued' | 'running' | 'done';
  acceptedAt: number;
  /** After this (epoch ms) a failing attempt ends the work instead of scheduling another. */
  deadline: number;
  /** Bumped whenever a message is sent for the row; only a message of the current generation runs it. */
  generation: number;
  attemptCount: number;
  /** How often the sweeper has had to send a message for it (each time it waits longer before doing so again). */
  swept: number;
  /** The latest attempts (at most MAX_ATTEMPTS_KEPT). */
  attempts: Attempt[];
  nextAttemptAt: number;
  leaseUntil: number;
  owner?: string;
  work: Work;
  carry: Carry;
  result?: StoredResult;
  outbox?: Outbox;
  etag: string;
}

export type NewOperation = Pick<
  Operation,
  'requestId' | 'callerKey' | 'acceptedAt' | 'deadline' | 'attempts' | 'nextAttemptAt' | 'work' | 'carry'
>;

/** What `take` found. */
export type Taken =
  | { kind: 'taken'; operation: Operation; takenOver: boolean }
  /** Another worker holds it and its lease has not run out. */
  | { kind: 'busy'; leaseUntil: number }
  /** Nothing to run: no such row, an older generation's message, or work already done. */
  | { kind: 'none'; why: 'missing' | 'stale' | 'done'; operation?: Operation };

export type OperationPatch = Partial<
  Pick<
    Operation,
    | 'state'
    | 'generation'
    | 'swept'
    | 'attemptCount'
    | 'attempts'
    | 'nextAttemptAt'
    | 'leaseUntil'
    | 'owner'
    | 'carry'
    | 'result'
    | 'outbox'
  >
> & { expiresAt?: number };

export interface OperationStore {
  /** Records accepted work as queued. Idempotent per request id. */
  open(operation: NewOperation, expiresAt: number): Promise<void>;
  get(requestId: string): Promise<Operation | undefined>;
  /** Takes the row for `owner` when `generation` is current and no live lease holds it. */
  take(requestId: string, generation: number, owner: string, leaseMs: number): Promise<Taken>;
  /** A change conditional on the row being as read; the row as written, or undefined when it moved on. */
  update(operation: Operation, patch: OperationPatch): Promise<Operation | undefined>;
  /** Rows not done, or done with a report still owed (for the sweeper); scans the table. */
  unfinished(): AsyncIterable<Operation>;
}

/** The attempts a row keeps; older ones are counted, not listed (a table property holds 32K characters). */
export const MAX_ATTEMPTS_KEPT = 20;

const ROW = 'operation';
const STRING_COLUMNS = ['requestId', 'callerKey', 'state', 'owner'] as const;
const JSON_COLUMNS = ['attempts', 'work', 'carry', 'result', 'outbox'] as const;
const INT_COLUMNS = [
  'acceptedAt',
  'deadline',
  'generation',
  'swept',
  'attemptCount',
  'nextAttemptAt',
  'leaseUntil',
  'expiresAt',
] as const;

export class TableOperationStore implements OperationStore {
  readonly #table: StoreTable;
  readonly #clock: () => number;

  constructor(options: { table: StoreTable; clock: () => number }) {
    this.#table = options.table;
    this.#clock = options.clock;
  }

  async open(operation: NewOperation, expiresAt: number): Promise<void> {
    const entity = toEntity(operation.requestId, {
      ...operation,
      state: 'queued',
      generation: 0,
      swept: 0,
      attemptCount: operation.attempts.length,
      leaseUntil: 0,
      expiresAt,
    });
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

  async take(requestId: string, generation: number, owner: string, leaseMs: number): Promise<Taken> {
    const current = await this.get(requestId);
    const now = this.#clock();
    if (current === undefined) return { kind: 'none', why: 'missing' };
    if (current.state === 'done') return { kind: 'none', why: 'done', operation: current };
    if (current.generation !== generation) return { kind: 'none', why: 'stale' };
    if (current.state === 'running' && current.leaseUntil > now) {
      return { kind: 'busy', leaseUntil: current.leaseUntil };
    }
    const taken = await this.update(current, { state: 'running', owner, leaseUntil: now + leaseMs });
    if (taken === undefined) return { kind: 'busy', leaseUntil: now + leaseMs };
    return { kind: 'taken', operation: taken, takenOver: current.state === 'running' };
  }

  async update(operation: Operation, patch: OperationPatch): Promise<Operation | undefined> {
    const entity = toEntity(operation.requestId, patch);
    const written = await this.#table.call(
      'operation.update',
      (c) => c.updateEntity(entity, 'Merge', { etag: operation.etag }),
      [404, 412],
    );
    if (!written.ok || written.value.etag === undefined) return undefined;
    const { expiresAt: _expires, ...changed } = patch;
    return { ...operation, ...changed, etag: written.value.etag };
  }

  async *unfinished(): AsyncIterable<Operation> {
    const rows = this.#table.client.listEntities<Record<string, unknown>>({
      queryOptions: {
        filter: odata`RowKey eq ${ROW} and (state ne ${'done'} or outboxOwed eq ${true})`,
      },
    });
    try {
      for await (const row of rows) {
        const operation = fromEntity(row);
        if (operation !== undefined) yield operation;
      }
    } catch (error) {
      // No table yet: nothing was ever accepted here.
      if (statusOf(error) === 404) return;
      throw toStoreError('operation.unfinished', error);
    }
  }
}

function partition(requestId: string): string {
  return hashedKey('o', requestId.toLowerCase());
}

function toEntity(requestId: string, fields: Record<string, unknown>): TableEntity<Record<string, unknown>> {
  const entity: TableEntity<Record<string, unknown>> = { partitionKey: partition(requestId), rowKey: ROW };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if ((JSON_COLUMNS as readonly string[]).includes(key)) entity[key] = JSON.stringify(value);
    else if ((INT_COLUMNS as readonly string[]).includes(key)) entity[key] = int64(value as number);
    else if ((STRING_COLUMNS as readonly string[]).includes(key)) entity[key] = value;
  }
  // The sweeper filters on it: a done row whose report, or the record of its end, is still owed.
  const outbox = fields.outbox as Outbox | undefined;
  if (outbox !== undefined) entity.outboxOwed = outbox.state === 'pending' || !outbox.noted;
  return entity;
}

function fromEntity(entity: Record<string, unknown>): Operation | undefined {
  const requestId = readString(entity.requestId);
  const state = readString(entity.state);
  const etag = readString(entity.etag);
  const work = parseJson<Work>(entity.work);
  const known = state === 'queued' || state === 'running' || state === 'done';
  if (requestId === undefined || etag === undefined || work === undefined || !known) return undefined;
  const operation: Operation = {
    requestId,
    callerKey: readString(entity.callerKey) ?? '',
    state,
    acceptedAt: readInt(entity.acceptedAt) ?? 0,
    deadline: readInt(entity.deadline) ?? 0,
    generation: readInt(entity.generation) ?? 0,
    swept: readInt(entity.swept) ?? 0,
    attemptCount: readInt(entity.attemptCount) ?? 0,
    attempts: parseJson<Attempt[]>(entity.attempts) ?? [],
    nextAttemptAt: readInt(entity.nextAttemptAt) ?? 0,
    leaseUntil: readInt(entity.leaseUntil) ?? 0,
    work,
    carry: parseJson<Carry>(entity.carry) ?? {},
    etag,
  };
  const owner = readString(entity.owner);
  if (owner) operation.owner = owner;
  const result = parseJson<StoredResult>(entity.result);
  if (result !== undefined) operation.result = result;
  const outbox = parseJson<Outbox>(entity.outbox);
  if (outbox !== undefined) operation.outbox = outbox;
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
