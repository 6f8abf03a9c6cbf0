import type { LoadRow } from '../types.js';
import { censoredNote, summarizeCensored } from './censored-stats.js';
import type { WindowResult } from './window-loop.js';

/** A window loop's result as a report row: rate over the window, censored percentiles, statuses in the notes. */
export function windowRow(
  name: string,
  r: WindowResult,
  extra: Record<string, string | number> = {},
): LoadRow {
  const s = summarizeCensored(r.latenciesMs, r.cutOffMs);
  const statuses = Object.entries(r.statusCounts).map(([status, n]) => `${status}:${n}`);
  if (r.errors > 0) statuses.push(`errors:${r.errors}`);
  if (r.cutOffMs.length > 0) statuses.push(`cut off:${r.cutOffMs.length}`);
  const note = censoredNote(s);
  return {
    name,
    reqPerSec: r.latenciesMs.length / (r.windowMs / 1000),
    p50Ms: s.p50.ms,
    p99Ms: s.p99.ms,
    extra: {
      n: r.latenciesMs.length,
      statuses: statuses.join(' ') || 'none',
      ...(note === undefined ? {} : { note }),
      ...extra,
    },
  };
}

/** `200:12 409:3`, for check details. */
export function statusesOf(r: WindowResult): string {
  return Object.entries(r.statusCounts)
    .map(([status, n]) => `${status}:${n}`)
    .join(' ');
}
