/**
 * Typed failures of the webhook secret provider. Neither ever carries a secret value; the secret *name* is
 * configuration, not a secret, so it is kept for logs (routes should still not echo it to unauthenticated
 * callers).
 */

/**
 * Key Vault could not be read (unreachable, timing out, throttling, 5xx, the identity endpoint failing, or the
 * identity not yet allowed to read). The route answers 503 with `Retry-After` and never lets the request through.
 */
export class SecretsUnavailableError extends Error {
  override readonly name = 'SecretsUnavailableError';
  readonly retryAfterSeconds: number;
  readonly secretName: string;
  /** HTTP status Key Vault answered with, when it answered at all. */
  readonly status: number | undefined;
  /** Key Vault's (or the transport's) error code, e.g. `Forbidden`, `ECONNREFUSED`, `AbortError`. */
  readonly code: string | undefined;

  constructor(
    message: string,
    details: { secretName: string; retryAfterSeconds: number; status?: number; code?: string },
  ) {
    super(message);
    this.secretName = details.secretName;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.status = details.status;
    this.code = details.code;
  }
}

/**
 * The vault answered, and the secret does not exist or has no enabled, currently valid, non-empty version. This
 * is an operator misconfiguration, not the caller's fault and not something retrying fixes: the route answers
 * 500 (see the secrets module's report) and logs `secretName`.
 */
export class SecretNotFoundError extends Error {
  override readonly name = 'SecretNotFoundError';
  constructor(
    readonly secretName: string,
    readonly reason: 'missing' | 'no-valid-version',
  ) {
    super(
      reason === 'missing'
        ? `Key Vault secret '${secretName}' does not exist`
        : `Key Vault secret '${secretName}' has no enabled, currently valid version`,
    );
  }
}
