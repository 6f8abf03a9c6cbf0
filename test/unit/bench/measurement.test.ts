import { describe, expect, it } from 'vitest';
import { completed, merge, toRow } from '../../../bench/load/measurement.js';
import { countedAmount } from '../../../bench/load/sizing.js';
import type { BenchSettings } from '../../../bench/context.js';

const settings = { connections: 10, durationSec: 5, minCounted: 200, maxCounted: 4000 } as BenchSettings;

describe('load measurements', () => {
  it('merges slices: samples and statuses pooled, wall time added', () => {
    const m = merge([
      { latenciesMs: [1, 2], elapsedMs: 1000, statusCounts: { 400: 2 }, errors: 0 },
      { latenciesMs: [3], elapsedMs: 500, statusCounts: { 400: 1, 500: 1 }, errors: 1 },
    ]);
    expect(m).toEqual({
      latenciesMs: [1, 2, 3],
      elapsedMs: 1500,
      statusCounts: { 400: 3, 500: 1 },
      errors: 1,
    });
    expect(completed(m)).toBe(4);
    expect(toRow('x', m)).toMatchObject({
      name: 'x',
      reqPerSec: 4 / 1.5,
      p50Ms: 2,
      p99Ms: 3,
      extra: { n: 4 },
    });
  });

  it('sizes a counted run to the duration at the warm-up rate (connections / median latency), within bounds', () => {
    const warm = (latencyMs: number) => ({
      latenciesMs: [latencyMs, latencyMs, 5000],
      elapsedMs: 60_000,
      statusCounts: { 200: 3 },
      errors: 0,
    });
    expect(countedAmount(warm(100), settings)).toBe(500);
    expect(countedAmount(warm(1000), settings)).toBe(200);
    expect(countedAmount(warm(1), settings)).toBe(4000);
    expect(countedAmount({ latenciesMs: [], elapsedMs: 1, statusCounts: {}, errors: 3 }, settings)).toBe(200);
  });
});
