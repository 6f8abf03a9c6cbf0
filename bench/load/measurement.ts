import { summarize } from '../stats.js';
import type { LoadRow } from '../types.js';

/** What either load generator hands back: every latency sample, wall time, and what came back. */
export interface LoadMeasurement {
  /** One float per completed request (or operation), in ms, whatever its status. */
  latenciesMs: number[];
  elapsedMs: number;
  /** Completed requests by HTTP status (closed-loop operations count as 200 when they succeed). */
  statusCounts: Record<number, number>;
  /** Transport errors and timeouts: requests that never got an answer. */
  errors: number;
}

/** Several runs of the same load as one: samples and statuses pooled, wall times added. */
export function merge(parts: readonly LoadMeasurement[]): LoadMeasurement {
  const statusCounts: Record<number, number> = {};
  for (const part of parts) {
    for (const [status, n] of Object.entries(part.statusCounts)) {
      statusCounts[Number(status)] = (statusCounts[Number(status)] ?? 0) + n;
    }
  }
  return {
    latenciesMs: parts.flatMap((p) => p.latenciesMs),
    elapsedMs: parts.reduce((sum, p) => sum + p.elapsedMs, 0),
    statusCounts,
    errors: parts.reduce((sum, p) => sum + p.errors, 0),
  };
}

export function completed(m: LoadMeasurement): number {
  return Object.values(m.statusCounts).reduce((a, b) => a + b, 0);
}

export function countOf(m: LoadMeasurement, status: number): number {
  return m.statusCounts[status] ?? 0;
}

export function statusSummary(m: LoadMeasurement): string {
  const parts = Object.entries(m.statusCounts).map(([status, n]) => `${status}:${n}`);
  if (m.errors > 0) parts.push(`errors:${m.errors}`);
  return parts.join(' ');
}

export function toRow(
  name: string,
  m: LoadMeasurement,
  extra: Record<string, string | number> = {},
): LoadRow {
  const latency = summarize(m.latenciesMs);
  return {
    name,
    reqPerSec: completed(m) / (m.elapsedMs / 1000),
    p50Ms: latency.p50Ms,
    p99Ms: latency.p99Ms,
    extra: { n: completed(m), ...extra },
  };
}
