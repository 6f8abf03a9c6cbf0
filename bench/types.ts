/**
 * The shapes every scenario returns and the printer renders. A scenario is a small module: it gets the shared
 * context (sandbox, host, connection pool, settings), runs, and hands back rows, single figures and checks.
 */

/** One load measurement: a closed loop at the bench's fixed concurrency. */
export interface LoadRow {
  name: string;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Facts shown next to the numbers (completed count, ARM calls seen, what one "request" is). */
  extra?: Record<string, string | number>;
}

/** A single value that is not a throughput: a cold-start time, an I/O count per 1,000 requests. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

/** A verification the scenario made, e.g. "one PUT per completed approval"; a failed check fails the run. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** A table of its own, for figures that are neither a load row nor one value (e.g. calls per request kind). */
export interface ReportTable {
  title: string;
  header: string[];
  rows: string[][];
  /** Columns (by index) whose cells are right-aligned numbers. */
  rightAligned?: number[];
  /** A line under the table: how it was measured, what would make it wrong. */
  note?: string;
}

export interface ScenarioResult {
  rows: LoadRow[];
  figures: Figure[];
  checks: Check[];
  tables?: ReportTable[];
}

/** `numerator` / `denominator` are row names; the printer computes latency and throughput ratios. */
export interface RatioSpec {
  label: string;
  numerator: string;
  denominator: string;
}

export interface ComputedRatio {
  label: string;
  p50: number;
  p99: number;
  throughput: number;
}

export const emptyResult = (): ScenarioResult => ({ rows: [], figures: [], checks: [] });
