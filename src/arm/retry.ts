/**
 * When to retry a Resource Manager call and how long to wait. Pure functions: the client supplies the clock
 * and randomness, so the schedule is testable without sleeping.
 */

export interface RetryOptions {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** 408, 429 and 5xx are worth another try (ARM documents these as transient); other 4xx never are. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * The server's requested wait in ms, from `retry-after-ms` / `x-ms-retry-after-ms` or `Retry-After`
 * (delta-seconds or an HTTP date). Undefined when absent or unreadable.
 */
export function parseRetryAfter(get: (name: string) => string | undefined, now: number): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = get(name);
    if (value !== undefined && /^\d+$/.test(value.trim())) return Number.parseInt(value.trim(), 10);
  }
  const value = get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number.parseInt(value, 10) * 1000;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/**
 * Capped exponential backoff with jitter (half fixed, half random), raised to the server's Retry-After when it
 * asks for longer. `attempt` counts from 0 for the first retry.
 */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  options: RetryOptions,
  random: () => number,
): number {
  const exponential = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** attempt);
  const backoff = exponential / 2 + (random() * exponential) / 2;
  return retryAfterMs === undefined ? backoff : Math.max(retryAfterMs, backoff);
}
