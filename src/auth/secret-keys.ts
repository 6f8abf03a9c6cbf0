import { InvalidSecretError } from './auth-error.js';
import { constantTimeEqual, hmacSha256 } from './timing-safe.js';

/** The key of each stored secret version in order, undefined where a version is not a valid key. */
export interface SecretKeys {
  keys: readonly (Uint8Array | undefined)[];
  /** Positions of the versions that are not valid keys (for the operator; never their values). */
  unusable: readonly number[];
}

/**
 * Decodes every current version of a signing secret. A version stored in the wrong format (a stray newline, the
 * wrong encoding) is left out rather than failing them all: during a rotation the old version keeps working
 * while the new one is fixed. Throws InvalidSecretError only when no version is usable, or none is configured.
 */
export function secretKeys(
  secrets: readonly string[],
  scheme: string,
  decode: (secret: string, position: number) => Uint8Array,
): SecretKeys {
  if (secrets.length === 0) throw new InvalidSecretError(`No ${scheme} secret is configured.`);
  const unusable: number[] = [];
  let first: unknown;
  const keys = secrets.map((secret, position) => {
    try {
      return decode(secret, position);
    } catch (error) {
      first ??= error;
      unusable.push(position);
      return undefined;
    }
  });
  if (unusable.length === secrets.length) throw first;
  return { keys, unusable };
}

/**
 * The position of the key whose HMAC-SHA256 over `signed` one of the `presented` signatures is, if any (a key
 * left out as unusable never matches). One MAC per key, then every presented signature against it, in constant
 * time: cost grows with keys, not with signatures.
 */
export function matchingKey(
  keys: readonly (Uint8Array | undefined)[],
  presented: readonly Uint8Array[],
  signed: readonly (Uint8Array | string)[],
): number | undefined {
  for (const [index, key] of keys.entries()) {
    if (key === undefined) continue;
    const expected = hmacSha256(key, ...signed);
    if (presented.some((candidate) => constantTimeEqual(candidate, expected))) return index;
  }
  return undefined;
}
