import { percentile } from '../stats.js';

/**
 * Percentiles when some requests were cut off before their answer: each cut-off wait is a lower bound of its
 * latency, so it is ranked with the answered ones. A percentile is exact when every cut-off wait lies above it
 * (their true latencies are larger still and cannot change its rank); otherwise it is a lower bound.
 */

export interface CensoredPercentile {
  ms: number;
  /** true: the true percentile is at least `ms`, not exactly `ms`. */
  lowerBound: boolean;
}

export interface CensoredSummary {
  answered: number;
  cutOff: number;
  p50: CensoredPercentile;
  p99: CensoredPercentile;
}

function at(sorted: Float64Array, cutOffMs: readonly number[], p: number): CensoredPercentile {
  const ms = percentile(sorted, p);
  return { ms, lowerBound: cutOffMs.some((w) => w <= ms) };
}

export function summarizeCensored(
  latenciesMs: readonly number[],
  cutOffMs: readonly number[],
): CensoredSummary {
  const sorted = Float64Array.from([...latenciesMs, ...cutOffMs]).sort();
  return {
    answered: latenciesMs.length,
    cutOff: cutOffMs.length,
    p50: at(sorted, cutOffMs, 50),
    p99: at(sorted, cutOffMs, 99),
  };
}

/** For a row's notes: nothing when exact, else which percentiles are lower bounds and why. */
export function censoredNote(summary: CensoredSummary): string | undefined {
  const bounds = [summary.p50.lowerBound ? 'p50' : '', summary.p99.lowerBound ? 'p99' : '']
    .filter((s) => s !== '')
    .join(' and ');
  if (bounds === '') return undefined;
  return `${bounds} at least (${summary.cutOff} cut off unanswered at the end)`;
}
