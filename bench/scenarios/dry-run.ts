import { setTimeout } from 'node:timers/promises';
import type { BenchContext, BenchSettings, Scenario } from '../context.js';
import { runAutocannon } from '../load/autocannon.js';
import { completed, countOf, statusSummary, toRow } from '../load/measurement.js';
import { DRY_RUN_PATH, approvalBody, cycle, signedPost } from '../requests.js';
import type { ScenarioResult } from '../types.js';

/**
 * (c) `?dryRun=true`: the same path as (b) up to the decision, then no PUT. The connections stay Pending, so a
 * small set is cycled for the whole duration and every answer still plans a write.
 */

export const DRY_RUN_ROW = '(c) POST /api/approvals?dryRun=true (GET, no PUT)';
const CYCLE_SIZE = 500;
const SETTLE_MS = 200;

export const dryRunScenario: Scenario = {
  id: 'dry-run',
  title: DRY_RUN_ROW,
  connectionsNeeded: (_s: BenchSettings) => CYCLE_SIZE,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { settings, sandbox, host } = ctx;
    const ids = ctx.pool.take(CYCLE_SIZE);
    const run = (durationSec: number) =>
      runAutocannon({
        baseUrl: host.url,
        connections: settings.connections,
        durationSec,
        method: 'POST',
        next: (
          (nextId) => () =>
            signedPost(ctx.sign, DRY_RUN_PATH, approvalBody(nextId()))
        )(cycle(ids)),
      });

    await run(settings.warmupSec);
    // Requests cut off when the warm-up ends may still reach the sandbox; let them land before the reset.
    await setTimeout(SETTLE_MS);
    await sandbox.reset();
    const m = await run(settings.durationSec);
    const counts = await sandbox.counts();
    const ok = countOf(m, 200);
    return {
      rows: [toRow(DRY_RUN_ROW, m)],
      figures: [],
      checks: [
        {
          name: '(c) dry runs read and never write',
          // A duration run ends with requests in flight: their GETs happen without an answer being counted.
          ok:
            m.errors === 0 &&
            ok === completed(m) &&
            counts.arm.PUT === 0 &&
            counts.arm.GET >= ok &&
            counts.arm.GET <= ok + settings.connections,
          detail: `responses ${statusSummary(m)}; sandbox GET ${counts.arm.GET}, PUT ${counts.arm.PUT}`,
        },
      ],
    };
  },
};
