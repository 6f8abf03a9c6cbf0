import { describe, expect, it } from 'vitest';
import { censoredNote, summarizeCensored } from '../../../bench/load/censored-stats.js';

describe('censored percentiles', () => {
  it('are exact when nothing was cut off', () => {
    const s = summarizeCensored([5, 1, 3, 2, 4], []);
    expect(s).toEqual({
      answered: 5,
      cutOff: 0,
      p50: { ms: 3, lowerBound: false },
      p99: { ms: 5, lowerBound: false },
    });
    expect(censoredNote(s)).toBeUndefined();
  });

  it('rank cut-off waits with the answers and mark what they may have raised', () => {
    // 1..98 answered, two cut off after waiting 500: p50 is exact (both waits lie above it), p99 a lower bound.
    const answered = Array.from({ length: 98 }, (_, i) => i + 1);
    const s = summarizeCensored(answered, [500, 500]);
    expect(s.p50).toEqual({ ms: 50, lowerBound: false });
    expect(s.p99).toEqual({ ms: 500, lowerBound: true });
    expect(censoredNote(s)).toBe('p99 at least (2 cut off unanswered at the end)');
  });

  it('mark both when most requests were cut off', () => {
    const s = summarizeCensored([10], [100, 200, 300]);
    expect(s.p50).toEqual({ ms: 100, lowerBound: true });
    expect(censoredNote(s)).toBe('p50 and p99 at least (3 cut off unanswered at the end)');
  });
});
