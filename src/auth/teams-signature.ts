import { InvalidSecretError, type SignatureFailure } from './auth-error.js';
import { matchingKey, secretKeys } from './secret-keys.js';
import { decodeBase64Strict, encodeBase64, hmacSha256, toBytes } from './timing-safe.js';

/**
 * Teams outgoing webhooks: `Authorization: HMAC <base64 HMAC-SHA256(key, raw body)>`, key being the
 * base64-decoded security token Teams shows once when the webhook is created. The scheme carries no
 * timestamp, so replay protection has to come from elsewhere (the activity id).
 */

const SIGNATURE_BYTES = 32;

export type TeamsSignatureFailureReason = 'missing-header' | 'malformed-header' | 'no-matching-signature';

export type TeamsSignatureResult =
  { ok: true; secretIndex: number } | SignatureFailure<TeamsSignatureFailureReason>;

export interface TeamsSignatureInput {
  /** The request body exactly as received. */
  body: Uint8Array;
  /** Value of `Authorization`. */
  authorization: string | null | undefined;
  /** Every security token currently valid (base64, as Teams shows it); several during a rotation. */
  securityTokens: readonly string[];
}

/** Turns a configured security token into its key bytes; throws InvalidSecretError if it is not base64. */
export function decodeTeamsSecurityToken(token: string, position = 0): Uint8Array {
  const key = decodeBase64Strict(token);
  if (key === undefined || key.byteLength === 0) {
    throw new InvalidSecretError(
      `Teams security token #${position} is not padded standard base64; store it exactly as Teams showed it.`,
    );
  }
  return key;
}

const HEADER = /^HMAC +(\S+)$/i;

export function verifyTeamsSignature(input: TeamsSignatureInput): TeamsSignatureResult {
  const { keys, unusable } = secretKeys(input.securityTokens, 'Teams', decodeTeamsSecurityToken);

  const { authorization } = input;
  if (authorization === null || authorization === undefined || authorization === '') {
    return {
      ok: false,
      reason: 'missing-header',
      message:
        "Missing Authorization header: Teams outgoing webhooks send 'Authorization: HMAC <signature>'.",
    };
  }
  const match = HEADER.exec(authorization);
  const presented = match?.[1] === undefined ? undefined : decodeBase64Strict(match[1]);
  if (presented === undefined || presented.byteLength !== SIGNATURE_BYTES) {
    return {
      ok: false,
      reason: 'malformed-header',
      message:
        "Authorization must be 'HMAC ' followed by the padded base64 of a 32-byte HMAC-SHA256 of the raw body.",
    };
  }
  const secretIndex = matchingKey(keys, [presented], [input.body]);
  if (secretIndex !== undefined) return { ok: true, secretIndex };
  return {
    ok: false,
    reason: 'no-matching-signature',
    ...(unusable.length > 0 ? { unusableSecrets: unusable } : {}),
    message:
      'The HMAC does not match a current security token. Check the outgoing webhook was created with the token configured here (re-creating the webhook issues a new one) and that the body was not altered in transit.',
  };
}

export interface TeamsSignInput {
  securityToken: string;
  body: Uint8Array | string;
}

/** The `Authorization` header value (`HMAC <base64>`) Teams would send for this body. */
export function signTeams(input: TeamsSignInput): string {
  return `HMAC ${encodeBase64(hmacSha256(decodeTeamsSecurityToken(input.securityToken), toBytes(input.body)))}`;
}

/**
 * Teams signs only the body, with no timestamp of its own; the Activity's `timestamp` (inside the signed body)
 * is what bounds how long a captured message could be replayed, so it is held to the same window as the other
 * schemes' timestamps.
 */
export const TEAMS_TIMESTAMP_TOLERANCE_SECONDS = 300;

export function activityTimestampProblem(timestamp: string, now: number): string | undefined {
  const at = Date.parse(timestamp);
  if (Number.isNaN(at)) return 'The Activity timestamp is not a date.';
  const skew = (now - at) / 1000;
  if (skew > TEAMS_TIMESTAMP_TOLERANCE_SECONDS)
    return 'The Activity is too old to be accepted (over 5 minutes).';
  if (-skew > TEAMS_TIMESTAMP_TOLERANCE_SECONDS)
    return 'The Activity timestamp is in the future; check the clock.';
  return undefined;
}
