import { arch, availableParallelism, cpus, platform, totalmem } from 'node:os';
import type { BenchSettings } from './context.js';
import type {
  Check,
  ComputedRatio,
  Figure,
  LoadRow,
  RatioSpec,
  ReportTable,
  ScenarioResult,
} from './types.js';

/** One report per run: the machine, the settings, one table of load rows, ratio lines, figures and checks. */

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  /** 1-minute load average when the run started: other work on the machine skews every figure. */
  loadAverage: number;
}

export interface Report {
  machine: Machine;
  settings: BenchSettings;
  rows: LoadRow[];
  ratios: ComputedRatio[];
  figures: Figure[];
  tables: ReportTable[];
  checks: Check[];
}

export function describeMachine(loadAverage: number): Machine {
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${platform()} ${arch()}`,
    loadAverage: Math.round(loadAverage * 100) / 100,
  };
}

export function computeRatios(rows: readonly LoadRow[], specs: readonly RatioSpec[]): ComputedRatio[] {
  const byName = new Map(rows.map((row) => [row.name, row]));
  const out: ComputedRatio[] = [];
  for (const spec of specs) {
    const num = byName.get(spec.numerator);
    const den = byName.get(spec.denominator);
    if (num === undefined || den === undefined) continue;
    out.push({
      label: spec.label,
      p50: num.p50Ms / den.p50Ms,
      p99: num.p99Ms / den.p99Ms,
      throughput: num.reqPerSec / den.reqPerSec,
    });
  }
  return out;
}

export function buildReport(
  machine: Machine,
  settings: BenchSettings,
  results: readonly ScenarioResult[],
  ratioSpecs: readonly RatioSpec[],
): Report {
  const rows = results.flatMap((r) => r.rows);
  return {
    machine,
    settings,
    rows,
    ratios: computeRatios(rows, ratioSpecs),
    figures: results.flatMap((r) => r.figures),
    tables: results.flatMap((r) => r.tables ?? []),
    checks: results.flatMap((r) => r.checks),
  };
}

const ms = (value: number): string =>
  Number.isNaN(value)
    ? '-'
    : value < 1
      ? value.toFixed(3)
      : value < 100
        ? value.toFixed(2)
        : value.toFixed(0);
/** Figures: counts stay whole numbers (13 calls, not 13.00 calls); measured values as latencies. */
const figureValue = (value: number): string =>
  Number.isInteger(value) ? value.toLocaleString('en-US') : ms(value);
const rate = (value: number): string =>
  Number.isNaN(value) ? '-' : Math.round(value).toLocaleString('en-US');
const times = (value: number): string =>
  `x${value < 0.01 ? value.toPrecision(2) : value < 10 ? value.toFixed(2) : value.toFixed(1)}`;

function table(header: string[], body: string[][], rightAligned: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
}

export function renderText(report: Report): string {
  const { machine: m, settings: s } = report;
  const out: string[] = [
    'private-link-approver bench',
    `machine:  ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, node ${m.node}, ${m.os}; ` +
      `load average ${m.loadAverage} at start`,
    `load:     closed loop, ${s.connections} connections, autocannon ((a): node:https); timed runs ${s.durationSec} s ` +
      `after ${s.warmupSec} s warm-up; counted runs (n) sized to ~${s.durationSec} s by a ${s.calibrationRequests}-request warm-up`,
    'layout:   load generator in the bench process; host, sandbox, Azurite, bare and floor servers each in their own ' +
      'process (all share the cores); (n) and (o): 256 callers in the bench process, unanswered cut off 5 s after the window',
    '',
  ];
  out.push(
    ...table(
      ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'notes'],
      report.rows.map((r) => [
        r.name,
        rate(r.reqPerSec),
        ms(r.p50Ms),
        ms(r.p99Ms),
        Object.entries(r.extra ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      ]),
      new Set([1, 2, 3]),
    ),
  );
  if (report.ratios.length > 0) {
    out.push('', 'ratios (latency: higher is slower; throughput: lower is slower)');
    out.push(
      ...table(
        ['', 'p50 latency', 'p99 latency', 'throughput'],
        report.ratios.map((r) => [r.label, times(r.p50), times(r.p99), times(r.throughput)]),
        new Set([1, 2, 3]),
      ),
    );
  }
  if (report.figures.length > 0) {
    out.push('');
    out.push(
      ...table(
        ['figure', 'value', 'note'],
        report.figures.map((f) => [
          f.name,
          `${figureValue(f.value)}${f.unit ? ` ${f.unit}` : ''}`,
          f.note ?? '',
        ]),
        new Set([1]),
      ),
    );
  }
  for (const t of report.tables) {
    out.push('', t.title);
    out.push(...table(t.header, t.rows, new Set(t.rightAligned ?? [])));
    if (t.note !== undefined) out.push(t.note);
  }
  out.push('', 'checks');
  for (const c of report.checks) out.push(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name} (${c.detail})`);
  return `${out.join('\n')}\n`;
}
