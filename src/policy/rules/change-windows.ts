import type { PolicyProblem } from '../policy-error.js';
import { pointer } from '../policy-error.js';
import type { CompiledWindow, EvaluationContext } from '../types.js';

/**
 * changeWindows: when a rule may be used. The request is inside when the local time in the window's IANA
 * time zone falls on a listed day between start (inclusive) and end (exclusive). end "24:00" means midnight;
 * an end before the start wraps past midnight, and then the part after midnight belongs to the listed day
 * that began it (Fri 22:00–06:00 covers Saturday 00:00–06:00). Several windows: any one suffices.
 * Daylight-saving changes follow the zone's wall clock.
 * Syntax and examples: docs/policy.md#changewindows.
 */

export const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
export type Day = (typeof DAYS)[number];

export interface RawWindow {
  timeZone: string;
  days: Day[];
  start: string;
  end: string;
}

export const changeWindowsSchema = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['timeZone', 'days', 'start', 'end'],
    properties: {
      timeZone: { type: 'string', minLength: 1, maxLength: 64 },
      days: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: DAYS } },
      start: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' },
      end: { type: 'string', pattern: '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$' },
    },
  },
} as const;

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

// Monday-first order reads naturally in messages ("Mon–Fri").
const WEEK_ORDER = [1, 2, 3, 4, 5, 6, 0];

function daysLabel(days: ReadonlySet<number>): string {
  const ordered = WEEK_ORDER.filter((day) => days.has(day));
  const first = ordered[0];
  const last = ordered[ordered.length - 1];
  const contiguous =
    first !== undefined &&
    last !== undefined &&
    WEEK_ORDER.indexOf(last) - WEEK_ORDER.indexOf(first) + 1 === ordered.length;
  if (contiguous && ordered.length >= 3) return `${DAYS[first]}–${DAYS[last]}`;
  return ordered.map((day) => DAYS[day]).join(', ');
}

function makeFormatter(timeZone: string): Intl.DateTimeFormat | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
  } catch {
    return undefined;
  }
}

/** IANA's Etc/GMT±N zones (and their aliases): Etc/GMT+2 is two hours behind UTC, as POSIX TZ signs it. */
const POSIX_OFFSET_ZONE = /^(?:Etc\/)?GMT[+-]\d{1,2}$/i;

export function compileChangeWindows(
  raw: readonly RawWindow[],
  at: string,
  problems: PolicyProblem[],
): CompiledWindow[] {
  // Formatters are costly to build and immutable, so each zone gets one, built here at load time.
  const formatters = new Map<string, Intl.DateTimeFormat | undefined>();
  const compiled: CompiledWindow[] = [];
  raw.forEach((window, index) => {
    const here = pointer(at, index);
    if (!formatters.has(window.timeZone)) formatters.set(window.timeZone, makeFormatter(window.timeZone));
    const formatter = formatters.get(window.timeZone);
    if (formatter === undefined) {
      problems.push({
        pointer: pointer(here, 'timeZone'),
        message: `${JSON.stringify(window.timeZone)} is not an IANA time zone this runtime knows (e.g. Europe/Amsterdam, UTC)`,
      });
    }
    const posixSigned = POSIX_OFFSET_ZONE.test(window.timeZone);
    if (posixSigned) {
      problems.push({
        pointer: pointer(here, 'timeZone'),
        message: `${JSON.stringify(window.timeZone)} has the POSIX sign, the opposite of what it reads as (Etc/GMT+2 is UTC-2), so the window would open hours from where it seems to; name the region (e.g. Europe/Berlin) or use UTC and write the hours in it`,
      });
    }
    const start = minutes(window.start);
    const end = minutes(window.end);
    if (start === end) {
      problems.push({
        pointer: pointer(here, 'end'),
        message: 'must differ from start (the window would be empty)',
      });
    }
    if (formatter === undefined || posixSigned || start === end) return;
    const days = new Set(window.days.map((day) => DAYS.indexOf(day)));
    compiled.push({
      label: `${daysLabel(days)} ${window.start}–${window.end} ${window.timeZone}`,
      timeZone: window.timeZone,
      days,
      start,
      end,
      formatter,
    });
  });
  return compiled;
}

export interface LocalTime {
  day: number;
  minute: number;
  label: string;
}

/** Weekday (0 = Sunday) and minute of day of `now` in the formatter's zone. */
export function localTime(formatter: Intl.DateTimeFormat, now: number): LocalTime | undefined {
  let weekday = '';
  let hour = Number.NaN;
  let minute = Number.NaN;
  for (const part of formatter.formatToParts(now)) {
    if (part.type === 'weekday') weekday = part.value;
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  const day = (DAYS as readonly string[]).indexOf(weekday);
  if (day < 0 || !Number.isInteger(hour) || !Number.isInteger(minute)) return undefined;
  // Some ICU versions spell midnight "24" even with h23; fold it back.
  const hh = hour % 24;
  return {
    day,
    minute: hh * 60 + minute,
    label: `${weekday} ${String(hh).padStart(2, '0')}:${String(minute).padStart(2, '0')}`,
  };
}

export function inWindow(window: CompiledWindow, local: LocalTime): boolean {
  if (window.start < window.end) {
    return window.days.has(local.day) && local.minute >= window.start && local.minute < window.end;
  }
  const previousDay = (local.day + 6) % 7;
  return (
    (window.days.has(local.day) && local.minute >= window.start) ||
    (window.days.has(previousDay) && local.minute < window.end)
  );
}

// ECMAScript's time value range: anything beyond is not an instant.
const MAX_TIME = 8.64e15;

export function checkChangeWindows(windows: readonly CompiledWindow[], ctx: EvaluationContext): string[] {
  const now = ctx.now;
  if (typeof now !== 'number' || !Number.isFinite(now) || Math.abs(now) > MAX_TIME) {
    return ['the evaluation time is not a valid instant, so change windows cannot be checked'];
  }
  const seen: string[] = [];
  for (const window of windows) {
    const local = localTime(window.formatter, now);
    if (local === undefined) continue;
    if (inWindow(window, local)) return [];
    seen.push(`${window.label} (it is ${local.label} there)`);
  }
  if (seen.length === 0) {
    return [
      "the local time of this rule's change windows could not be read, so none can be checked; ask the policy owners to check their time zones",
    ];
  }
  return [`the request falls outside this rule's change windows: ${seen.join('; ')}; retry inside a window`];
}
