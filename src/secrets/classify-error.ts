import { isRestError } from '@azure/core-rest-pipeline';
import { SecretNotFoundError, SecretsUnavailableError } from './errors.js';
import { KeyVaultThrottledError } from './key-vault-client.js';

const MAX_RETRY_AFTER_SECONDS = 300;

function retryAfterFrom(error: unknown, fallbackSeconds: number): number {
  if (error instanceof KeyVaultThrottledError && error.retryAfterSeconds !== undefined)
    return Math.min(error.retryAfterSeconds, MAX_RETRY_AFTER_SECONDS);
  if (isRestError(error)) {
    const header = error.response?.headers.get('retry-after');
    const seconds = header === undefined ? Number.NaN : Number(header);
    if (Number.isInteger(seconds) && seconds > 0) return Math.min(seconds, MAX_RETRY_AFTER_SECONDS);
  }
  return fallbackSeconds;
}

function codeOf(error: unknown): string | undefined {
  if (isRestError(error)) return error.code;
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return typeof code === 'string' ? code : error.name;
  }
  return undefined;
}

/**
 * Maps whatever the SDK or the credential threw to one of the provider's typed errors. Only the status and a
 * code are kept: the SDK error holds the request and response, and a response body is never something to carry
 * around in a secrets module.
 *
 * 404 is the one answer that means "misconfigured"; everything else — transport errors, timeouts, 429/5xx, the
 * identity endpoint failing, and 401/403 too (a fresh role assignment takes minutes to propagate) — is
 * "unavailable": the request fails closed with 503 and the details go to the log.
 */
export function toSecretError(
  error: unknown,
  secretName: string,
  fallbackRetryAfterSeconds: number,
): SecretNotFoundError | SecretsUnavailableError {
  if (error instanceof SecretNotFoundError || error instanceof SecretsUnavailableError) return error;
  const status = isRestError(error) || error instanceof KeyVaultThrottledError ? error.statusCode : undefined;
  if (status === 404) return new SecretNotFoundError(secretName, 'missing');
  const code = codeOf(error);
  const what =
    status === undefined ? `failed (${code ?? 'unknown error'})` : `answered ${status} ${code ?? ''}`;
  return new SecretsUnavailableError(`Key Vault read of secret '${secretName}' ${what.trim()}`, {
    secretName,
    retryAfterSeconds: retryAfterFrom(error, fallbackRetryAfterSeconds),
    status,
    code,
  });
}
