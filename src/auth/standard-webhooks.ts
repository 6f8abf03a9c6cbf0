import { InvalidSecretError, type SignatureFailure } from './auth-error.js';
import { matchingKey, secretKeys } from './secret-keys.js';
import {
  checkTimestamp,
  decodeBase64Strict,
  encodeBase64,
  hmacSha256,
  parseEpochSeconds,
  toBytes,
} from './timing-safe.js';

/**
 * Standard Webhooks (https://www.standardwebhooks.com) symmetric signatures:
 * `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{raw body}")>`, where key is the
 * base64-decoded secret with its optional `whsec_` prefix removed (as the reference libraries do).
 */

export const STANDARD_WEBHOOKS_DEFAULT_TOLERANCE_SECONDS = 5 * 60;

const SECRET_PREFIX = 'whsec_';
const MAX_ID_LENGTH = 256;
const SIGNATURE_BYTES = 32;
/** "At least 24 bytes (192 bits, 512 maximum)": the Standard Webhooks spec's symmetric signing secret. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

export type StandardWebhookFailureReason =
  | 'missing-header'
  | 'malformed-header'
  | 'invalid-timestamp'
  | 'stale-timestamp'
  | 'future-timestamp'
  | 'malformed-signature'
  | 'no-matching-signature';

export type StandardWebhookResult =
  | { ok: true; secretIndex: number; webhookId: string; timestamp: number }
  | SignatureFailure<StandardWebhookFailureReason>;

export interface StandardWebhookInput {
  /** The request body exactly as received. */
  body: Uint8Array;
  /** Value of `webhook-id`. */
  webhookId: string | null | undefined;
  /** Value of `webhook-timestamp` (epoch seconds). */
  webhookTimestamp: string | null | undefined;
  /** Value of `webhook-signature`. */
  webhookSignature: string | null | undefined;
  /** Every secret currently valid (`whsec_<base64>` or bare base64); several during a rotation. */
  secrets: readonly string[];
  /** Current time, epoch milliseconds. */
  now: number;
  toleranceSeconds?: number;
}

/**
 * Turns a configured secret into its key bytes. Throws InvalidSecretError: a secret we cannot decode is
 * our configuration fault, not the sender's.
 */
export function decodeStandardWebhookSecret(secret: string, position = 0): Uint8Array {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = decodeBase64Strict(encoded);
  if (key === undefined || key.byteLength === 0) {
    throw new InvalidSecretError(
      `Standard Webhooks secret #${position} is not 'whsec_' followed by padded standard base64; fix the stored secret.`,
    );
  }
  // The spec's symmetric secret: random, 24 to 64 bytes. A shorter one (a typo, a test value) would verify, weakly.
  if (key.byteLength < MIN_KEY_BYTES || key.byteLength > MAX_KEY_BYTES) {
    throw new InvalidSecretError(
      `Standard Webhooks secret #${position} decodes to ${key.byteLength} bytes; the spec asks for ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes. Store a new one: printf 'whsec_%s' "$(openssl rand -base64 32)".`,
    );
  }
  return key;
}

function fail(
  reason: StandardWebhookFailureReason,
  message: string,
): SignatureFailure<StandardWebhookFailureReason> {
  return { ok: false, reason, message };
}

function missing(value: string | null | undefined): value is null | undefined | '' {
  return value === null || value === undefined || value === '';
}

// eslint-disable-next-line no-control-regex -- the point is to find control characters
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Entries are space-delimited; a sender that sends one `webhook-signature` line per entry reaches us with the
 * lines joined by ", " (RFC 9110 §5.3), so a comma that starts another `v<n>,` entry separates too. Base64 has no
 * comma, so no signature is ever split.
 */
const ENTRY_SEPARATOR = /\s+|,\s*(?=v\d+[a-z]?,)/;

/** Parses `webhook-signature` into the decoded v1 signatures; other versions (e.g. v1a) are ignored. */
function parseSignatures(header: string): { v1: Uint8Array[]; malformed: number } {
  const v1: Uint8Array[] = [];
  let malformed = 0;
  for (const entry of header.split(ENTRY_SEPARATOR)) {
    if (entry === '') continue;
    const comma = entry.indexOf(',');
    if (comma <= 0) {
      malformed++;
      continue;
    }
    if (entry.slice(0, comma) !== 'v1') continue;
    const bytes = decodeBase64Strict(entry.slice(comma + 1));
    if (bytes === undefined || bytes.byteLength !== SIGNATURE_BYTES) malformed++;
    else v1.push(bytes);
  }
  return { v1, malformed };
}

export function verifyStandardWebhook(input: StandardWebhookInput): StandardWebhookResult {
  const { keys, unusable } = secretKeys(input.secrets, 'Standard Webhooks', decodeStandardWebhookSecret);
  const tolerance = input.toleranceSeconds ?? STANDARD_WEBHOOKS_DEFAULT_TOLERANCE_SECONDS;
  const { webhookId, webhookTimestamp, webhookSignature } = input;

  if (missing(webhookId) || missing(webhookTimestamp) || missing(webhookSignature)) {
    const absent = [
      missing(webhookId) ? 'webhook-id' : undefined,
      missing(webhookTimestamp) ? 'webhook-timestamp' : undefined,
      missing(webhookSignature) ? 'webhook-signature' : undefined,
    ].filter((name) => name !== undefined);
    return fail(
      'missing-header',
      `Missing ${absent.join(', ')}: Standard Webhooks requests must carry webhook-id, webhook-timestamp and webhook-signature.`,
    );
  }

  // The spec forbids '.' in the id: it separates the signed parts, so an id holding one could shift the split.
  if (webhookId.length > MAX_ID_LENGTH || CONTROL.test(webhookId) || webhookId.includes('.')) {
    return fail(
      'malformed-header',
      `webhook-id must be at most ${MAX_ID_LENGTH} characters, without '.' or control characters; send the message's unique id.`,
    );
  }

  const timestamp = parseEpochSeconds(webhookTimestamp);
  if (timestamp === undefined) {
    return fail(
      'invalid-timestamp',
      'webhook-timestamp must be the send time as whole seconds since the Unix epoch (digits only).',
    );
  }
  const age = checkTimestamp(timestamp, input.now, tolerance);
  if (!age.ok) {
    return age.reason === 'stale-timestamp'
      ? fail(
          'stale-timestamp',
          `webhook-timestamp is ${age.ageSeconds} s old; at most ${tolerance} s is accepted. Sign each delivery (including retries) with the current time and check the sender's clock.`,
        )
      : fail(
          'future-timestamp',
          `webhook-timestamp is ${-age.ageSeconds} s in the future; at most ${tolerance} s of clock skew is accepted. Check the sender's clock.`,
        );
  }

  const { v1, malformed } = parseSignatures(webhookSignature);
  if (v1.length === 0) {
    return fail(
      'malformed-signature',
      malformed > 0
        ? "webhook-signature holds no valid 'v1,<base64>' entry (each must be 'v1,' followed by the padded base64 of a 32-byte HMAC-SHA256)."
        : "webhook-signature holds no 'v1' signature; this endpoint verifies symmetric (v1) signatures only.",
    );
  }

  const secretIndex = matchingKey(keys, v1, [webhookId, '.', webhookTimestamp, '.', input.body]);
  if (secretIndex !== undefined) return { ok: true, secretIndex, webhookId, timestamp };
  return {
    ...fail(
      'no-matching-signature',
      "No v1 signature in webhook-signature matches a current secret. Sign '{webhook-id}.{webhook-timestamp}.{raw body}' with HMAC-SHA256 keyed by the base64-decoded secret (without 'whsec_'), over the exact bytes sent, and check the secret is the current one.",
    ),
    ...(unusable.length > 0 ? { unusableSecrets: unusable } : {}),
  };
}

export interface StandardWebhookSignInput {
  secret: string;
  webhookId: string;
  /** Epoch seconds. */
  timestamp: number;
  body: Uint8Array | string;
}

/** The `webhook-signature` value (`v1,<base64>`) for one message. */
export function signStandardWebhook(input: StandardWebhookSignInput): string {
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0) {
    throw new RangeError('timestamp must be whole epoch seconds');
  }
  const key = decodeStandardWebhookSecret(input.secret);
  const mac = hmacSha256(key, input.webhookId, '.', String(input.timestamp), '.', toBytes(input.body));
  return `v1,${encodeBase64(mac)}`;
}

/** All three headers for one message, ready to send. */
export function standardWebhookHeaders(input: StandardWebhookSignInput): Record<string, string> {
  return {
    'webhook-id': input.webhookId,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': signStandardWebhook(input),
  };
}
