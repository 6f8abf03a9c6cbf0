/**
 * The one backoff rule for everything of ours that waits and tries again (the connection lease, the audit chain,
 * the spool): capped exponential growth, half fixed and half random so that waiting instances spread out.
 * Resource Manager calls use core-rest-pipeline's own retry policy instead.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** The wait before retry number `attempt` (0 for the first retry). */
export function backoffMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return exponential / 2 + (random() * exponential) / 2;
}

/**
 * A server's requested wait in ms, from `retry-after-ms` / `x-ms-retry-after-ms` or `Retry-After`
 * (delta-seconds or an HTTP date). Undefined when absent or unreadable.
 */
export function parseRetryAfterMs(
  get: (name: string) => string | undefined,
  now: number,
): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = get(name)?.trim();
    if (value !== undefined && /^\d+$/.test(value)) return Number.parseInt(value, 10);
  }
  const value = get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number.parseInt(value, 10) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
