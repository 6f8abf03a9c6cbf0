import { describe, expect, it } from 'vitest';
import { median, percentile, summarize } from '../../../bench/stats.js';

describe('bench stats', () => {
  it('takes nearest-rank percentiles', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(sorted, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarizes unsorted float samples', () => {
    const s = summarize([3.5, 0.25, 2, 1, 10]);
    expect(s).toEqual({ count: 5, p50Ms: 2, p99Ms: 10, meanMs: 3.35, maxMs: 10 });
  });

  it('takes the median of an odd count', () => {
    expect(median([9, 1, 5])).toBe(5);
  });
});
