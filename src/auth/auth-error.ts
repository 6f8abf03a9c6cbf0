/**
 * Typed errors and result shapes for caller authentication.
 *
 * A bad *request* never throws: signature checks and the Entra verifier return a failure result that the
 * route turns into 401/403/503. Errors are thrown only for faults on our side (bad configuration, a stored
 * secret in the wrong format), which must surface loudly instead of being reported to the caller as their
 * fault.
 */

/** The failure half of every signature check: a machine `reason` and a human `message` (never a secret). */
export interface SignatureFailure<Reason extends string> {
  ok: false;
  reason: Reason;
  /** What was wrong and what the sender should do about it. Safe to return to the caller. */
  message: string;
  /** Positions of stored secret versions that are not valid keys and were left out (for the operator's log). */
  unusableSecrets?: readonly number[];
}

/** The Entra verifier was configured in a way that cannot work (or would be unsafe). */
export class AuthConfigError extends Error {
  override readonly name = 'AuthConfigError';
}

/**
 * A configured secret cannot be used as a key (e.g. a Standard Webhooks secret that is not base64). The
 * message names the scheme and the position in the candidate list, never the secret itself.
 */
export class InvalidSecretError extends Error {
  override readonly name = 'InvalidSecretError';
}

/** The signing keys (OpenID metadata or JWKS) could not be obtained; the request must not be allowed. */
export class SigningKeysUnavailableError extends Error {
  override readonly name = 'SigningKeysUnavailableError';
}
