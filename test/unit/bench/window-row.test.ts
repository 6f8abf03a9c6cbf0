import { describe, expect, it } from 'vitest';
import { statusesOf, windowRow } from '../../../bench/load/window-row.js';

describe('window rows', () => {
  it('rates answers over the window and says when percentiles are lower bounds', () => {
    const row = windowRow(
      'flood',
      {
        latenciesMs: [10, 20, 30, 40],
        statusCounts: { 200: 3, 503: 1 },
        cutOffMs: [5_000],
        errors: 1,
        windowMs: 2_000,
      },
      { callers: 256 },
    );
    expect(row.reqPerSec).toBe(2);
    expect(row.p50Ms).toBe(30);
    expect(row.p99Ms).toBe(5_000);
    expect(row.extra).toEqual({
      n: 4,
      statuses: '200:3 503:1 errors:1 cut off:1',
      note: 'p99 at least (1 cut off unanswered at the end)',
      callers: 256,
    });
  });

  it('lists statuses for a check', () => {
    expect(
      statusesOf({ latenciesMs: [], statusCounts: { 200: 2 }, cutOffMs: [], errors: 0, windowMs: 1 }),
    ).toBe('200:2');
  });
});
