import { describe, expect, it } from 'vitest';
import { buildReport, computeRatios, renderText } from '../../../bench/report.js';
import type { BenchSettings } from '../../../bench/context.js';

const settings: BenchSettings = {
  connections: 10,
  durationSec: 5,
  warmupSec: 1,
  calibrationRequests: 10,
  minCounted: 20,
  maxCounted: 100,
  ioRequests: 100,
  importRuns: 1,
  hostStartRuns: 1,
};
const machine = { cpu: 'test cpu', cores: 2, memoryGiB: 4, node: 'v20', os: 'linux x64', loadAverage: 0.5 };

describe('bench report', () => {
  const rows = [
    { name: 'app', reqPerSec: 500, p50Ms: 4, p99Ms: 20 },
    { name: 'raw', reqPerSec: 1000, p50Ms: 2, p99Ms: 5 },
  ];

  it('computes latency and throughput ratios by row name, skipping missing rows', () => {
    const ratios = computeRatios(rows, [
      { label: 'app/raw', numerator: 'app', denominator: 'raw' },
      { label: 'gone', numerator: 'app', denominator: 'nope' },
    ]);
    expect(ratios).toEqual([{ label: 'app/raw', p50: 2, p99: 4, throughput: 0.5 }]);
  });

  it('renders one table with rows, ratios, figures and failed checks', () => {
    const report = buildReport(
      machine,
      settings,
      [
        {
          rows,
          figures: [{ name: 'import', value: 120, unit: 'ms' }],
          checks: [{ name: 'puts', ok: false, detail: 'PUT 0' }],
        },
      ],
      [{ label: 'app/raw', numerator: 'app', denominator: 'raw' }],
    );
    const text = renderText(report);
    expect(text).toContain('test cpu, 2 cores');
    expect(text).toMatch(/app\s+500\s+4\.00\s+20\.00/);
    expect(text).toMatch(/app\/raw\s+x2\.00\s+x4\.00\s+x0\.50/);
    expect(text).toMatch(/import\s+120 ms/);
    expect(text).toContain('FAIL  puts (PUT 0)');
  });

  it('renders scenario tables after the figures, and counts as whole numbers', () => {
    const report = buildReport(
      machine,
      settings,
      [
        {
          rows: [],
          figures: [{ name: 'calls at start-up', value: 13, unit: 'calls' }],
          checks: [],
          tables: [
            {
              title: 'calls per request',
              header: ['request', 'n', 'before answer'],
              rows: [
                ['approval', '10', '8'],
                ['refusal', '10', '0'],
              ],
              rightAligned: [1, 2],
              note: 'one request at a time',
            },
          ],
        },
      ],
      [],
    );
    expect(report.tables).toHaveLength(1);
    const text = renderText(report);
    expect(text).toMatch(/calls at start-up\s+13 calls/);
    expect(text).toMatch(/calls per request\nrequest\s+n\s+before answer/);
    expect(text).toMatch(/approval\s+10\s+8\n/);
    expect(text.indexOf('calls per request')).toBeLessThan(text.indexOf('checks'));
    expect(text).toContain('one request at a time');
  });
});
