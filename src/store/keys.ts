import { canonicalJson, sha256Hex } from './canonical-json.js';

/**
 * PartitionKey/RowKey may not contain `/ \ # ?` or control characters and are capped at 1 KiB, while our
 * keys come from callers (idempotency keys, delivery ids, connection ids). Every derived key is therefore a
 * short letter prefix plus a SHA-256 hex digest: always legal, fixed length, and it spreads partitions.
 * The parts are hashed as a JSON array so that ("a:b","c") and ("a","b:c") cannot collide.
 */
export function hashedKey(prefix: string, ...parts: readonly string[]): string {
  return `${prefix}${sha256Hex(canonicalJson(parts))}`;
}

/** The partition of a connection's audit chain: its lease, its records and the claims taken with them. */
export function chainPartition(connectionId: string): string {
  return hashedKey('c', connectionId.toLowerCase());
}

/** Row keys sort as strings, so sequence numbers are zero-padded to keep rows in chain order. */
export const SEQ_WIDTH = 10;

export function seqRowKey(seq: number): string {
  return String(seq).padStart(SEQ_WIDTH, '0');
}

export function isSeqRowKey(rowKey: string): boolean {
  return rowKey.length === SEQ_WIDTH && /^[0-9]+$/.test(rowKey);
}

/** Int64 columns: epoch milliseconds exceed Int32, and an untyped JSON number would be stored as one. */
export function int64(value: number): { value: string; type: 'Int64' } {
  return { value: String(Math.trunc(value)), type: 'Int64' };
}

export function readInt(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^-?[0-9]+$/.test(value)) return Number.parseInt(value, 10);
  return undefined;
}

export function readString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
