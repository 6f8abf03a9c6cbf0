import { InvalidSecretError, type SignatureFailure } from './auth-error.js';
import {
  checkTimestamp,
  constantTimeEqual,
  decodeHexStrict,
  encodeHex,
  hmacSha256,
  parseEpochSeconds,
  toBytes,
} from './timing-safe.js';

/**
 * Slack request signing: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:{ts}:{raw body}")>`
 * with `X-Slack-Request-Timestamp` (epoch seconds) within five minutes of our clock.
 */

export const SLACK_DEFAULT_TOLERANCE_SECONDS = 5 * 60;

const SIGNATURE_BYTES = 32;
const VERSION_PREFIX = 'v0=';

export type SlackSignatureFailureReason =
  | 'missing-header'
  | 'invalid-timestamp'
  | 'stale-timestamp'
  | 'future-timestamp'
  | 'malformed-signature'
  | 'no-matching-signature';

export type SlackSignatureResult =
  { ok: true; secretIndex: number; timestamp: number } | SignatureFailure<SlackSignatureFailureReason>;

export interface SlackSignatureInput {
  /** The request body exactly as received. */
  body: Uint8Array;
  /** Value of `X-Slack-Signature`. */
  signature: string | null | undefined;
  /** Value of `X-Slack-Request-Timestamp`. */
  timestamp: string | null | undefined;
  /** Every signing secret currently valid; several during a rotation. Used as UTF-8 bytes. */
  signingSecrets: readonly string[];
  /** Current time, epoch milliseconds. */
  now: number;
  toleranceSeconds?: number;
}

function fail(
  reason: SlackSignatureFailureReason,
  message: string,
): SignatureFailure<SlackSignatureFailureReason> {
  return { ok: false, reason, message };
}

function decodeSecrets(secrets: readonly string[]): Uint8Array[] {
  if (secrets.length === 0) throw new InvalidSecretError('No Slack signing secret is configured.');
  return secrets.map((secret, index) => {
    if (secret === '') throw new InvalidSecretError(`Slack signing secret #${index} is empty.`);
    return toBytes(secret);
  });
}

export function verifySlackSignature(input: SlackSignatureInput): SlackSignatureResult {
  const keys = decodeSecrets(input.signingSecrets);
  const tolerance = input.toleranceSeconds ?? SLACK_DEFAULT_TOLERANCE_SECONDS;
  const { signature, timestamp: timestampHeader } = input;

  if (signature === null || signature === undefined || signature === '') {
    return fail(
      'missing-header',
      'Missing X-Slack-Signature: Slack signs every request; check the app is Slack.',
    );
  }
  if (timestampHeader === null || timestampHeader === undefined || timestampHeader === '') {
    return fail(
      'missing-header',
      'Missing X-Slack-Request-Timestamp: Slack sends it with every signed request; check the app is Slack.',
    );
  }
  const timestamp = parseEpochSeconds(timestampHeader);
  if (timestamp === undefined) {
    return fail('invalid-timestamp', 'X-Slack-Request-Timestamp must be whole seconds since the Unix epoch.');
  }
  const age = checkTimestamp(timestamp, input.now, tolerance);
  if (!age.ok) {
    return age.reason === 'stale-timestamp'
      ? fail(
          'stale-timestamp',
          `X-Slack-Request-Timestamp is ${age.ageSeconds} s old; at most ${tolerance} s is accepted, to stop replays. Send a fresh request.`,
        )
      : fail(
          'future-timestamp',
          `X-Slack-Request-Timestamp is ${-age.ageSeconds} s in the future; at most ${tolerance} s of clock skew is accepted.`,
        );
  }

  const presented = signature.startsWith(VERSION_PREFIX)
    ? decodeHexStrict(signature.slice(VERSION_PREFIX.length))
    : undefined;
  if (presented === undefined || presented.byteLength !== SIGNATURE_BYTES) {
    return fail(
      'malformed-signature',
      "X-Slack-Signature must be 'v0=' followed by the 64 hex digits of an HMAC-SHA256.",
    );
  }
  for (const [secretIndex, key] of keys.entries()) {
    const expected = hmacSha256(key, 'v0:', timestampHeader, ':', input.body);
    if (constantTimeEqual(presented, expected)) return { ok: true, secretIndex, timestamp };
  }
  return fail(
    'no-matching-signature',
    "X-Slack-Signature does not match a current signing secret. Check the app's Signing Secret (Basic Information page) is the one configured here and that the body was not altered in transit.",
  );
}

export interface SlackSignInput {
  signingSecret: string;
  /** Epoch seconds. */
  timestamp: number;
  body: Uint8Array | string;
}

/** The `X-Slack-Signature` value (`v0=<hex>`) Slack would send for this body and timestamp. */
export function signSlack(input: SlackSignInput): string {
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0) {
    throw new RangeError('timestamp must be whole epoch seconds');
  }
  const [key] = decodeSecrets([input.signingSecret]);
  if (key === undefined) throw new InvalidSecretError('No Slack signing secret is configured.');
  return `${VERSION_PREFIX}${encodeHex(hmacSha256(key, 'v0:', String(input.timestamp), ':', toBytes(input.body)))}`;
}
