import type { TokenCredential } from '@azure/core-auth';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { SecretClient } from '@azure/keyvault-secrets';
import { parseRetryAfterMs } from '../backoff.js';
import { isLoopbackHost } from '../loopback.js';

export interface KeyVaultClientOptions {
  vaultUrl: string;
  credential: TokenCredential;
  /** Budget for one SDK operation (one page or one get): challenge, token, attempts and retry waits included. */
  timeoutMs: number;
  /** Extra trust anchor, for the sandbox's self-signed stand-in. */
  tls?: { ca: string };
  /** Per attempt (the app reports Key Vault health through it). */
  policies?: PipelinePolicy[];
}

export class KeyVaultUrlError extends Error {
  override readonly name = 'KeyVaultUrlError';
}

/**
 * Puts one deadline on each SDK operation. Operation options cannot do it: the SDK fetches later pages of a list
 * from `nextLink` without the caller's abort signal or timeout, and its throttling retry honours any
 * `Retry-After` however long. Added per call, outside the auth policy, so the challenge round trip and the token
 * request count against the same budget.
 */
function deadlinePolicy(timeoutMs: number): PipelinePolicy {
  return {
    name: 'secretsDeadlinePolicy',
    sendRequest(request, next) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      const outer = request.abortSignal;
      const forward = (): void => controller.abort();
      if (outer?.aborted) controller.abort();
      outer?.addEventListener('abort', forward);
      request.abortSignal = controller.signal;
      if (request.timeout <= 0) request.timeout = timeoutMs;
      return next(request).finally(() => {
        clearTimeout(timer);
        outer?.removeEventListener('abort', forward);
      });
    },
  };
}

/** Key Vault throttled the read: nothing waits it out on the request path, the failure is held instead. */
export class KeyVaultThrottledError extends Error {
  override readonly name = 'KeyVaultThrottledError';
  readonly statusCode = 429;
  constructor(readonly retryAfterSeconds: number | undefined) {
    super(
      `Key Vault throttled the read${retryAfterSeconds === undefined ? '' : ` (Retry-After ${retryAfterSeconds} s)`}`,
    );
  }
}

/**
 * A 429 ends the operation at once with its Retry-After. The SDK's retry would wait it out, past the deadline,
 * which then aborts and loses it; thrown as no RestError, the retry policy passes it straight up.
 */
function throttledPolicy(): PipelinePolicy {
  return {
    name: 'secretsThrottledPolicy',
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status !== 429) return response;
      const waitMs = parseRetryAfterMs((name) => response.headers.get(name), Date.now());
      throw new KeyVaultThrottledError(
        waitMs === undefined ? undefined : Math.max(1, Math.ceil(waitMs / 1000)),
      );
    },
  };
}

/**
 * A SecretClient tuned for a webhook on the request path: one retry with a short delay, so an unreachable vault
 * turns into a 503 within a few seconds instead of the SDK default of several retries with minute-long waits.
 */
export function createKeyVaultSecretClient(options: KeyVaultClientOptions): SecretClient {
  let url: URL;
  try {
    url = new URL(options.vaultUrl);
  } catch {
    throw new KeyVaultUrlError(`Key Vault URL '${options.vaultUrl}' is not a URL`);
  }
  if (url.protocol !== 'https:') throw new KeyVaultUrlError('Key Vault URL must use https');
  return new SecretClient(url.origin, options.credential, {
    // The SDK checks that the host it sends the token to ends with `.<challenge resource host>`, so a server
    // cannot ask for a token for some other resource. The loopback stand-in's challenge names the real
    // resource (https://vault.azure.net), because that is the audience managed identity tokens must carry, and
    // 127.0.0.1 is not a subdomain of it; so the check is turned off for loopback hosts only, which are this
    // machine and never a real vault. Every other URL keeps it.
    disableChallengeResourceVerification: isLoopbackHost(url.hostname),
    retryOptions: { maxRetries: 1, retryDelayInMs: 200, maxRetryDelayInMs: 1_000 },
    ...(options.tls === undefined ? {} : { tlsOptions: { ca: options.tls.ca } }),
    additionalPolicies: [
      { policy: deadlinePolicy(options.timeoutMs), position: 'perCall' },
      { policy: throttledPolicy(), position: 'perRetry' },
      ...(options.policies ?? []).map((policy) => ({ policy, position: 'perRetry' as const })),
    ],
    userAgentOptions: { userAgentPrefix: 'private-link-approver' },
  });
}
