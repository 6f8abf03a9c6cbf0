import { describe, expect, it } from 'vitest';
import { backoffMs, parseRetryAfterMs } from '../../src/backoff.js';

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  const headers = (h: Record<string, string>) => (name: string) => h[name];
  it('reads delta-seconds', () => expect(parseRetryAfterMs(headers({ 'retry-after': '3' }), now)).toBe(3000));
  it('reads an HTTP date', () =>
    expect(parseRetryAfterMs(headers({ 'retry-after': 'Wed, 25 Nov 2026 12:00:05 GMT' }), now)).toBe(5000));
  it('prefers the millisecond headers', () =>
    expect(parseRetryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), now)).toBe(250));
  it('ignores garbage', () =>
    expect(parseRetryAfterMs(headers({ 'retry-after': 'soon' }), now)).toBeUndefined());
  it('is undefined when absent', () => expect(parseRetryAfterMs(headers({}), now)).toBeUndefined());
});

describe('backoffMs', () => {
  const options = { baseMs: 100, maxMs: 1000 };
  it('grows exponentially and is capped', () => {
    const max = (attempt: number) => backoffMs(attempt, options, () => 1);
    expect([0, 1, 2, 3, 4, 5].map(max)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it('keeps at least half of the backoff when jittered', () => {
    expect(backoffMs(2, options, () => 0)).toBe(200);
  });
  it('never overflows for large attempts', () => {
    expect(backoffMs(10_000, options, () => 1)).toBe(1000);
  });
});
