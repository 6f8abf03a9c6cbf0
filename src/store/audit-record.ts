import type { TableEntity } from '@azure/data-tables';
import { visible } from '../model/visible-text.js';
import { canonicalJson, sha256Hex } from './canonical-json.js';

/**
 * The audit record, its canonical form, its hash, and its mapping to and from a Table entity.
 * Kept apart from the storage protocol (audit-trail.ts) so the hashing rules can be read and tested alone.
 */

export type AuditOutcome =
  | 'approved'
  | 'rejected'
  | 'unchanged'
  | 'dry-run'
  | 'denied'
  | 'failed'
  | 'replayed'
  /** A duplicate that arrived while the first attempt was still running (answered 409). */
  | 'in-flight'
  | 'invalid'
  /** The PUT was sent but no answer came back in time: it may or may not have been applied. */
  | 'indeterminate'
  /** A late outcome reported after the decision's own record (a report retried from the queue). */
  | 'reported';

/** An earlier attempt of an approval that continued from the queue. */
export interface AuditAttempt {
  at: string;
  armStatus?: number;
  code?: string;
  mayHaveApplied?: boolean;
}

/** Who was told the outcome of an approval that ended after its caller was answered, and when. */
export interface AuditReport {
  to: string;
  at: string;
  ok: boolean;
  detail?: string;
}

/** One request (accepted, denied, failed, replayed). Deliberately has no place for secrets or signatures. */
export interface AuditRecord {
  requestId: string;
  /** ISO 8601. */
  time: string;
  source: string;
  callerId?: string;
  callerScheme?: string;
  approver?: string;
  requester?: string;
  ticket?: { system: string; id: string; state?: string; url?: string };
  connectionId: string;
  decision?: string;
  outcome: AuditOutcome;
  previousStatus?: string;
  /**
   * The connection's description as read before the decision: on a Pending connection, the consumer's request
   * message, which the provider keeps no copy of once a decision's description replaces it.
   */
  previousDescription?: string;
  newStatus?: string;
  httpStatus: number;
  policyReasons?: { rule: string; message: string }[];
  arm?: {
    status?: number;
    requestId?: string;
    correlationId?: string;
    error?: { code?: string; message?: string };
  };
  /** Stored as whole milliseconds. */
  durationMs: number;
  /** SHA-256 of the policy document that decided. */
  policySha256?: string;
  /** Earlier attempts, for approvals that continued from the queue. */
  attempts?: AuditAttempt[];
  reports?: AuditReport[];
  /** On a `reported` record: the request whose outcome it reports. */
  about?: string;
}

export interface StoredAuditRecord extends AuditRecord {
  /** Position in the connection's chain, from 1. */
  seq: number;
  /** Hash of record seq-1 (64 zeros for the first). */
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);
/** Bumped if the hashed form ever changes, so old chains stay verifiable by version. */
const HASH_VERSION = 1;

const OUTCOMES: ReadonlySet<string> = new Set<AuditOutcome>([
  'approved',
  'rejected',
  'unchanged',
  'dry-run',
  'denied',
  'failed',
  'replayed',
  'in-flight',
  'invalid',
  'indeterminate',
  'reported',
]);

/** Table string properties hold 32K UTF-16 units; no single audit field deserves more than this. */
const MAX_TEXT = 4_096;
const MAX_REASONS = 50;

const SCALAR_FIELDS = [
  'requestId',
  'time',
  'source',
  'callerId',
  'callerScheme',
  'approver',
  'requester',
  'connectionId',
  'decision',
  'outcome',
  'previousStatus',
  'previousDescription',
  'newStatus',
  'httpStatus',
  'durationMs',
  'policySha256',
  'about',
] as const;
/** Nested values are kept as canonical JSON text in one column each. */
const JSON_FIELDS = ['ticket', 'policyReasons', 'arm', 'attempts', 'reports'] as const;

export class AuditRecordInvalidError extends TypeError {
  override readonly name = 'AuditRecordInvalidError';
}

// Caller text is kept as sent but made visible: an invisible or direction-changing character shows as its escape.
const text = (value: string): string => visible(value.length > MAX_TEXT ? value.slice(0, MAX_TEXT) : value);
const optionalText = (value: string | undefined): string | undefined =>
  typeof value === 'string' ? text(value) : undefined;

/**
 * The exact record that gets hashed and stored: known fields only (anything else a caller attached is dropped,
 * so nothing unplanned such as a secret can slip in), long strings truncated, undefined members removed.
 */
export function normaliseAuditRecord(input: AuditRecord): AuditRecord {
  if (typeof input.requestId !== 'string' || input.requestId.length === 0) {
    throw new AuditRecordInvalidError('audit record needs a requestId');
  }
  if (typeof input.connectionId !== 'string' || input.connectionId.length === 0) {
    throw new AuditRecordInvalidError('audit record needs a connectionId');
  }
  if (!OUTCOMES.has(input.outcome))
    throw new AuditRecordInvalidError(`unknown outcome ${String(input.outcome)}`);
  if (!Number.isInteger(input.httpStatus)) throw new AuditRecordInvalidError('httpStatus must be an integer');
  if (!Number.isFinite(input.durationMs)) throw new AuditRecordInvalidError('durationMs must be finite');

  const record: AuditRecord = {
    requestId: text(input.requestId),
    time: text(input.time),
    source: text(input.source),
    callerId: optionalText(input.callerId),
    callerScheme: optionalText(input.callerScheme),
    approver: optionalText(input.approver),
    requester: optionalText(input.requester),
    ticket:
      input.ticket === undefined
        ? undefined
        : {
            system: text(input.ticket.system),
            id: text(input.ticket.id),
            state: optionalText(input.ticket.state),
            url: optionalText(input.ticket.url),
          },
    connectionId: text(input.connectionId),
    decision: optionalText(input.decision),
    outcome: input.outcome,
    previousStatus: optionalText(input.previousStatus),
    previousDescription: optionalText(input.previousDescription),
    newStatus: optionalText(input.newStatus),
    httpStatus: input.httpStatus,
    policyReasons: input.policyReasons
      ?.slice(0, MAX_REASONS)
      .map((reason) => ({ rule: text(reason.rule), message: text(reason.message) })),
    arm: input.arm === undefined ? undefined : normaliseArm(input.arm),
    durationMs: Math.max(0, Math.round(input.durationMs)),
    policySha256: optionalText(input.policySha256),
    attempts: input.attempts?.slice(0, MAX_REASONS).map(normaliseAttempt),
    reports: input.reports?.slice(0, MAX_REASONS).map(normaliseReport),
    about: optionalText(input.about),
  };
  return dropUndefined(record);
}

const normaliseArm = (arm: NonNullable<AuditRecord['arm']>): AuditRecord['arm'] => ({
  status: Number.isInteger(arm.status) ? arm.status : undefined,
  requestId: optionalText(arm.requestId),
  correlationId: optionalText(arm.correlationId),
  error:
    arm.error === undefined
      ? undefined
      : { code: optionalText(arm.error.code), message: optionalText(arm.error.message) },
});

const normaliseAttempt = (a: AuditAttempt): AuditAttempt => ({
  at: text(a.at),
  armStatus: Number.isInteger(a.armStatus) ? a.armStatus : undefined,
  code: optionalText(a.code),
  mayHaveApplied: a.mayHaveApplied === true ? true : undefined,
});

const normaliseReport = (r: AuditReport): AuditReport => ({
  to: text(r.to),
  at: text(r.at),
  ok: r.ok === true,
  detail: optionalText(r.detail),
});

function dropUndefined<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** hash = SHA-256 over the canonical JSON of { v, seq, prevHash, record }. */
export function auditHash(record: unknown, seq: number, prevHash: string): string {
  return sha256Hex(canonicalJson({ v: HASH_VERSION, seq, prevHash, record }));
}

/** The record's own columns: scalars as they are, nested values as canonical JSON text. */
function recordColumns(record: AuditRecord): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  for (const field of SCALAR_FIELDS) {
    if (record[field] !== undefined) columns[field] = record[field];
  }
  for (const field of JSON_FIELDS) {
    if (record[field] !== undefined) columns[field] = canonicalJson(record[field]);
  }
  return columns;
}

/** A record in its connection's chain. */
export function auditRecordEntity(
  partitionKey: string,
  rowKey: string,
  stored: StoredAuditRecord,
): TableEntity<Record<string, unknown>> {
  return {
    partitionKey,
    rowKey,
    kind: 'record',
    seq: stored.seq,
    prevHash: stored.prevHash,
    hash: stored.hash,
    ...recordColumns(stored),
  };
}

/** A record kept beside the chain (dry runs, refusals, replays): hashed on its own, position 0. */
export function notedRecordEntity(
  partitionKey: string,
  rowKey: string,
  record: AuditRecord,
): TableEntity<Record<string, unknown>> {
  return { partitionKey, rowKey, kind: 'noted', hash: notedHash(record), ...recordColumns(record) };
}

export function notedHash(record: unknown): string {
  return auditHash(record, 0, GENESIS_HASH);
}

/**
 * The record exactly as stored, for re-hashing: column values are taken as they come back (a column retyped
 * or edited changes the hash), and JSON columns are parsed — left as raw text when they no longer parse.
 */
export function rawRecordFromEntity(entity: Record<string, unknown>): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const field of SCALAR_FIELDS) {
    if (entity[field] !== undefined && entity[field] !== null) raw[field] = entity[field];
  }
  for (const field of JSON_FIELDS) {
    const value = entity[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') {
      raw[field] = value;
      continue;
    }
    try {
      raw[field] = JSON.parse(value);
    } catch {
      raw[field] = value;
    }
  }
  return raw;
}

/** A noted record from its entity, when its content still matches its hash. */
export function notedRecordFromEntity(
  entity: Record<string, unknown>,
): { ok: true; record: AuditRecord } | { ok: false; reason: string } {
  const raw = rawRecordFromEntity(entity);
  if (notedHash(raw) !== entity.hash)
    return { ok: false, reason: 'content does not match its hash (a field was altered)' };
  const problems = recordProblems(raw);
  return problems.length > 0
    ? { ok: false, reason: `unreadable fields: ${problems.join(', ')}` }
    : { ok: true, record: raw as unknown as AuditRecord };
}

/** A typed record from a stored entity, or a reason it cannot be one (someone edited it into nonsense). */
export function storedRecordFromEntity(
  entity: Record<string, unknown>,
): { ok: true; record: StoredAuditRecord } | { ok: false; reason: string } {
  const raw = rawRecordFromEntity(entity);
  const problems = recordProblems(raw);
  const seq = entity.seq;
  if (typeof seq !== 'number' || !Number.isInteger(seq)) problems.push('seq');
  if (typeof entity.prevHash !== 'string') problems.push('prevHash');
  if (typeof entity.hash !== 'string') problems.push('hash');
  if (problems.length > 0) return { ok: false, reason: `unreadable fields: ${problems.join(', ')}` };
  // Read alone, a record is checked against its own hash (its link to the one before is verify's to check).
  if (auditHash(raw, seq as number, entity.prevHash as string) !== entity.hash)
    return { ok: false, reason: 'content does not match its hash (a field was altered)' };
  return {
    ok: true,
    record: {
      ...(raw as unknown as AuditRecord),
      seq: seq as number,
      prevHash: entity.prevHash as string,
      hash: entity.hash as string,
    },
  };
}

/** The names of the fields that are missing or of the wrong type. */
function recordProblems(raw: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const str = (name: string, required: boolean): void => {
    const value = raw[name];
    if (value === undefined ? required : typeof value !== 'string') problems.push(name);
  };
  for (const name of ['requestId', 'time', 'source', 'connectionId']) str(name, true);
  for (const name of [
    'callerId',
    'callerScheme',
    'approver',
    'requester',
    'decision',
    'previousStatus',
    'previousDescription',
    'newStatus',
  ]) {
    str(name, false);
  }
  if (typeof raw.outcome !== 'string' || !OUTCOMES.has(raw.outcome)) problems.push('outcome');
  if (typeof raw.httpStatus !== 'number') problems.push('httpStatus');
  if (typeof raw.durationMs !== 'number') problems.push('durationMs');
  if (raw.ticket !== undefined && !isObject(raw.ticket)) problems.push('ticket');
  if (raw.arm !== undefined && !isObject(raw.arm)) problems.push('arm');
  if (raw.policyReasons !== undefined && !Array.isArray(raw.policyReasons)) problems.push('policyReasons');
  return problems;
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
