import { describe, expect, it } from 'vitest';
import { isRetryableStatus, parseRetryAfter, retryDelayMs } from '../../../src/arm/retry.js';

describe('retry decisions', () => {
  it.each([408, 429, 500, 502, 503, 504])('retries %i', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });
  it.each([400, 401, 403, 404, 409, 412, 422, 501, 505])('never retries %i', (status) => {
    expect(isRetryableStatus(status)).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  const headers = (h: Record<string, string>) => (name: string) => h[name];
  it('reads delta-seconds', () => expect(parseRetryAfter(headers({ 'retry-after': '3' }), now)).toBe(3000));
  it('reads an HTTP date', () =>
    expect(parseRetryAfter(headers({ 'retry-after': 'Wed, 25 Nov 2026 12:00:05 GMT' }), now)).toBe(5000));
  it('prefers the millisecond headers', () =>
    expect(parseRetryAfter(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250));
  it('ignores garbage', () =>
    expect(parseRetryAfter(headers({ 'retry-after': 'soon' }), now)).toBeUndefined());
  it('is undefined when absent', () => expect(parseRetryAfter(headers({}), now)).toBeUndefined());
});

describe('retryDelayMs', () => {
  const options = { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 1000 };
  it('grows exponentially and is capped', () => {
    const max = (attempt: number) => retryDelayMs(attempt, undefined, options, () => 1);
    expect([0, 1, 2, 3, 4, 5].map(max)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it('keeps at least half of the backoff when jittered', () => {
    expect(retryDelayMs(2, undefined, options, () => 0)).toBe(200);
  });
  it('waits at least what the server asked for', () => {
    expect(retryDelayMs(0, 5000, options, () => 0.5)).toBe(5000);
  });
});
