import type { BenchContext, BenchSettings, Scenario } from '../context.js';
import { runWindow } from '../load/window-loop.js';
import { windowRow } from '../load/window-row.js';
import { APPROVALS_PATH, DRY_RUN_PATH, approvalBody, signedPost } from '../requests.js';
import type { ScenarioResult } from '../types.js';

/**
 * (n) A hot connection: HOT_CALLERS callers sending dry runs back to back, all on ONE Pending connection, for
 * `durationSec`; during it, APPROVERS callers approve other connections (each its own, one PUT each). Before
 * it, the same approvers run alone for as long, on the same fresh host, so "during" compares with "alone": a
 * flood on one connection should cost the others no more than the CPU it takes. Requests still unanswered
 * DRAIN_MS after the window are cut off and counted as waits (their percentiles are then lower bounds). The
 * host is its own, so a backlog it still holds cannot slow the scenarios after this one.
 */

export const HOT_ROW = '(n) 256 concurrent dry runs on ONE connection';
export const HOT_OTHERS_ROW = '(n) approvals on other connections during it';
export const HOT_ALONE_ROW = '(n) the same approvals, no flood';
const HOT_CALLERS = 256;
const APPROVERS = 2;
const DRAIN_MS = 5_000;
/** Enough for two approvers at well over 100 approvals/s each for both windows; a caller stops when out. */
const APPROVALS_RESERVED = 3_000;

export const hotConnectionScenario: Scenario = {
  id: 'hot-connection',
  title: `${HOT_ROW}, and approvals on other connections during it`,
  connectionsNeeded: (_s: BenchSettings) => 1 + APPROVALS_RESERVED,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { settings, sandbox } = ctx;
    const [hot] = ctx.pool.take(1) as [string];
    const toApprove = ctx.pool.take(APPROVALS_RESERVED);
    let nextApproval = 0;
    const host = await ctx.startHost();
    try {
      const approvals = (durationSec: number) =>
        runWindow({
          baseUrl: host.url,
          workers: APPROVERS,
          durationSec,
          drainMs: DRAIN_MS,
          next: () => {
            const id = toApprove[nextApproval++];
            return id === undefined ? undefined : signedPost(ctx.sign, APPROVALS_PATH, approvalBody(id));
          },
        });
      // Unmeasured: neither window should pay for the host's first token, TLS handshake or table.
      await approvals(settings.warmupSec);
      const alone = await approvals(settings.durationSec);
      await sandbox.reset();
      const [flood, during] = await Promise.all([
        runWindow({
          baseUrl: host.url,
          workers: HOT_CALLERS,
          durationSec: settings.durationSec,
          drainMs: DRAIN_MS,
          next: () => signedPost(ctx.sign, DRY_RUN_PATH, approvalBody(hot)),
        }),
        approvals(settings.durationSec),
      ]);
      const counts = await sandbox.counts();
      // The sandbox keys its counters by the lowercased id; no entry at all would mean no dry run reached it.
      const hotCounts = counts.byConnection[hot.toLowerCase()];
      const approved = during.statusCounts[200] ?? 0;
      return {
        rows: [
          windowRow(HOT_ROW, flood, { callers: HOT_CALLERS }),
          windowRow(HOT_OTHERS_ROW, during, { callers: APPROVERS }),
          windowRow(HOT_ALONE_ROW, alone, { callers: APPROVERS }),
        ],
        figures: [],
        checks: [
          {
            name: '(n) dry runs on the hot connection read it and never wrote',
            ok:
              hotCounts !== undefined &&
              hotCounts.PUT === 0 &&
              hotCounts.GET >= (flood.statusCounts[200] ?? 0),
            detail: `hot connection GET ${hotCounts?.GET ?? 0}, PUT ${hotCounts?.PUT ?? 0}; dry runs answered 200 ${flood.statusCounts[200] ?? 0}, cut off ${flood.cutOffMs.length}`,
          },
          {
            name: '(n) every approval during the flood answered 200 with one PUT on its own connection',
            ok:
              during.errors === 0 &&
              during.cutOffMs.length === 0 &&
              approved === during.latenciesMs.length &&
              counts.arm.PUT === approved,
            detail: `approvals ${approved}/${during.latenciesMs.length} answered 200, ${during.cutOffMs.length} cut off, ${during.errors} failed; sandbox PUT ${counts.arm.PUT}`,
          },
        ],
      };
    } finally {
      await host.stop();
    }
  },
};
