import { afterEach, describe, expect, it, vi } from 'vitest';
import { nextAttemptDelayMs, pollAfterSeconds } from '../../../src/approval/continue-later.js';

/** The pace of work continued from the queue: capped exponential backoff, and how soon a poller looks again. */

afterEach(() => {
  vi.restoreAllMocks();
});

describe('nextAttemptDelayMs', () => {
  const deps = { retryBaseMs: 1_000, retryMaxMs: 10_000 };

  it('doubles from the base after each failed attempt, up to the cap (no jitter at its top)', () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    expect([1, 2, 3, 4, 5, 6, 20].map((n) => nextAttemptDelayMs(deps, n))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000,
    ]);
  });

  it('keeps at least half of the wait when the jitter is at its bottom', () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    expect([1, 2, 3, 4, 5].map((n) => nextAttemptDelayMs(deps, n))).toEqual([
      500, 1_000, 2_000, 4_000, 5_000,
    ]);
  });

  it('stays within [half, whole] of the capped backoff, in whole milliseconds', () => {
    for (let attempts = 1; attempts <= 12; attempts++) {
      const full = Math.min(deps.retryMaxMs, deps.retryBaseMs * 2 ** (attempts - 1));
      for (let i = 0; i < 50; i++) {
        const delay = nextAttemptDelayMs(deps, attempts);
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(full / 2);
        expect(delay).toBeLessThanOrEqual(full);
      }
    }
  });

  it('treats no attempts yet like the first retry, and never overflows', () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    expect(nextAttemptDelayMs(deps, 0)).toBe(1_000);
    expect(nextAttemptDelayMs(deps, 10_000)).toBe(10_000);
  });

  it('uses the cap as given even when it equals the base', () => {
    vi.spyOn(Math, 'random').mockReturnValue(1);
    expect(nextAttemptDelayMs({ retryBaseMs: 2_000, retryMaxMs: 2_000 }, 7)).toBe(2_000);
  });
});

describe('pollAfterSeconds', () => {
  it('is about one base wait, in whole seconds rounded up', () => {
    expect(pollAfterSeconds({ retryBaseMs: 1_000 })).toBe(1);
    expect(pollAfterSeconds({ retryBaseMs: 1_001 })).toBe(2);
    expect(pollAfterSeconds({ retryBaseMs: 5_000 })).toBe(5);
  });

  it('is never below one second and never above a minute', () => {
    expect(pollAfterSeconds({ retryBaseMs: 1 })).toBe(1);
    expect(pollAfterSeconds({ retryBaseMs: 60_000 })).toBe(60);
    expect(pollAfterSeconds({ retryBaseMs: 60_001 })).toBe(60);
    expect(pollAfterSeconds({ retryBaseMs: 99_999_999 })).toBe(60);
  });
});
