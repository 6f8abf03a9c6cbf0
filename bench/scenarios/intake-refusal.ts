import { fileURLToPath } from 'node:url';
import { baseEnv } from '../children.js';
import type { BenchContext, BenchSettings, Scenario } from '../context.js';
import { send } from '../http-client.js';
import { runAutocannon } from '../load/autocannon.js';
import { withCpuOf } from '../process-cpu.js';
import type { LoadMeasurement } from '../load/measurement.js';
import { completed, countOf, merge, statusSummary, toRow } from '../load/measurement.js';
import { APPROVALS_PATH, SCHEMA_VIOLATION_BODY, signedPost } from '../requests.js';
import type { Figure, ScenarioResult } from '../types.js';

/**
 * (d) A signed request refused at validation (schema violation -> 400 problem+json, no I/O once the secret is
 * cached) next to a bare node:http server answering the same signed POST with the same bytes: the difference
 * is the cost of our intake (routing, envelope checks, signature check, JSON parse, Ajv, problem rendering).
 */

export const REFUSAL_ROW = '(d) POST /api/approvals -> 400 (schema)';
export const BARE_ROW = "(d') bare node:http -> same 400";
const BARE_SCRIPT = fileURLToPath(new URL('../bare-server.js', import.meta.url));
export const REFUSAL_CPU = '(d) host CPU per refusal';
export const BARE_CPU = "(d') bare server CPU per answer";
const ROUNDS = 2;
const HOP_BY_HOP = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);

export const intakeRefusalScenario: Scenario = {
  id: 'intake-refusal',
  title: REFUSAL_ROW,
  connectionsNeeded: (_s: BenchSettings) => 0,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { settings, sandbox, host } = ctx;
    const load = (baseUrl: string, durationSec: number): Promise<LoadMeasurement> =>
      runAutocannon({
        baseUrl,
        connections: settings.connections,
        durationSec,
        method: 'POST',
        next: () => signedPost(ctx.sign, APPROVALS_PATH, SCHEMA_VIOLATION_BODY),
      });

    // One real answer from the app, replayed byte for byte by the bare server.
    const sample = await send({
      method: 'POST',
      url: `${host.url}${APPROVALS_PATH}`,
      headers: ctx.sign(SCHEMA_VIOLATION_BODY),
      body: SCHEMA_VIOLATION_BODY,
      agent: false,
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(sample.headers)) {
      if (!HOP_BY_HOP.has(name) && typeof value === 'string') headers[name] = value;
    }

    const bare = ctx.children.spawnNode('bare-server', BARE_SCRIPT, [], {
      ...baseEnv(),
      BENCH_BARE_RESPONSE: JSON.stringify({ headers, body: sample.text }),
    });
    try {
      const ready = await bare.waitForLine((line) => line.startsWith('{"port"'), 10_000);
      const bareUrl = `http://127.0.0.1:${(JSON.parse(ready) as { port: number }).port}`;
      await load(host.url, settings.warmupSec);
      await load(bareUrl, settings.warmupSec);
      await sandbox.reset();
      // Alternating slices, so a change in background load over the run hits both sides alike.
      const appSlices: Sliced[] = [];
      const bareSlices: Sliced[] = [];
      const slice = settings.durationSec / ROUNDS;
      for (let round = 0; round < ROUNDS; round++) {
        appSlices.push(await withCpuOf(host.child.process.pid, () => load(host.url, slice)));
        bareSlices.push(await withCpuOf(bare.process.pid, () => load(bareUrl, slice)));
      }
      const app = merge(appSlices.map((s) => s.result));
      const base = merge(bareSlices.map((s) => s.result));
      const counts = await sandbox.counts();
      return {
        rows: [
          toRow(REFUSAL_ROW, app, { bytes: sample.text.length }),
          toRow(BARE_ROW, base, { bytes: sample.text.length }),
        ],
        figures: [cpuFigure(REFUSAL_CPU, app, appSlices), cpuFigure(BARE_CPU, base, bareSlices)],
        checks: [
          {
            name: '(d) every refusal is a 400 and causes no token fetch or ARM call',
            ok:
              sample.status === 400 &&
              app.errors === 0 &&
              countOf(app, 400) === completed(app) &&
              counts.arm.total === 0 &&
              counts.token === 0,
            detail: `responses ${statusSummary(app)}; sandbox ARM calls ${counts.arm.total}, token fetches ${counts.token}`,
          },
          {
            name: "(d') the bare server answered every request",
            ok: base.errors === 0 && countOf(base, 400) === completed(base),
            detail: `responses ${statusSummary(base)}`,
          },
        ],
      };
    } finally {
      await bare.stop();
    }
  },
};

type Sliced = { result: LoadMeasurement; cpuMs: number | undefined };

/** CPU time per answer, which the machine's other load moves far less than throughput (0 without /proc). */
function cpuFigure(name: string, measured: LoadMeasurement, slices: readonly Sliced[]): Figure {
  const cpuMs = slices.reduce((sum, s) => sum + (s.cpuMs ?? Number.NaN), 0);
  const perRequestUs = Number.isFinite(cpuMs) ? Math.round((cpuMs * 1000) / completed(measured)) : 0;
  return {
    name,
    value: perRequestUs,
    unit: 'µs',
    note: 'user + system time of its process over the timed runs',
  };
}
