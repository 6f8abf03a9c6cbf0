import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Byte-level helpers shared by the signature checks: HMAC, a constant-time compare, and strict decoders.
 * The decoders are strict on purpose: a lenient decoder (Buffer.from(x, 'base64') skips junk characters)
 * would let many different header strings map to the same bytes, which makes signatures malleable.
 */

/** HMAC-SHA256 over the concatenation of `parts`, fed in order so the body is never copied into a string. */
export function hmacSha256(key: Uint8Array, ...parts: readonly (Uint8Array | string)[]): Uint8Array {
  const mac = createHmac('sha256', key);
  for (const part of parts) mac.update(part);
  return new Uint8Array(mac.digest());
}

/**
 * Constant-time equality for two byte strings. Lengths are compared first because timingSafeEqual throws
 * on unequal lengths; the length of a MAC is public, so leaking it reveals nothing.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  return timingSafeEqual(a, b);
}

/**
 * Decodes canonical, padded, standard-alphabet base64; returns undefined for anything else (other
 * alphabets, whitespace, missing padding, non-zero trailing bits).
 */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  const bytes = Buffer.from(text, 'base64');
  // Node's decoder skips what it does not know, so the text is taken only when encoding its bytes gives it back:
  // that is true of the canonical form alone (padded, standard alphabet, zero padding bits), one text per value.
  if (bytes.toString('base64') !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Decodes hex of either case; returns undefined for odd lengths or non-hex characters. */
export function decodeHexStrict(text: string): Uint8Array | undefined {
  if (!HEX.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function encodeHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Accepts text or bytes; text is encoded as UTF-8, which is how every scheme here defines its body. */
export function toBytes(value: Uint8Array | string): Uint8Array {
  return typeof value === 'string' ? new TextEncoder().encode(value) : value;
}

const TIMESTAMP = /^[0-9]{1,12}$/;

/** Parses an epoch-seconds header: ASCII digits only (no sign, spaces, exponent or fraction). */
export function parseEpochSeconds(text: string): number | undefined {
  return TIMESTAMP.test(text) ? Number.parseInt(text, 10) : undefined;
}

export type TimestampCheck =
  | { ok: true; ageSeconds: number }
  | { ok: false; reason: 'stale-timestamp' | 'future-timestamp'; ageSeconds: number };

/** Compares a sender's epoch-seconds timestamp with our clock, allowing `toleranceSeconds` either way. */
export function checkTimestamp(
  timestampSeconds: number,
  nowMs: number,
  toleranceSeconds: number,
): TimestampCheck {
  const ageSeconds = Math.floor(nowMs / 1000) - timestampSeconds;
  if (ageSeconds > toleranceSeconds) return { ok: false, reason: 'stale-timestamp', ageSeconds };
  if (-ageSeconds > toleranceSeconds) return { ok: false, reason: 'future-timestamp', ageSeconds };
  return { ok: true, ageSeconds };
}
