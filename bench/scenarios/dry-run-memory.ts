import type { BenchContext, BenchSettings, Scenario } from '../context.js';
import { peakRssMb } from '../host-memory.js';
import { runWindow } from '../load/window-loop.js';
import { statusesOf, windowRow } from '../load/window-row.js';
import { DRY_RUN_PATH, approvalBody, cycle, signedPost } from '../requests.js';
import type { ScenarioResult } from '../types.js';

/**
 * (o) The host's peak resident memory under CALLERS concurrent dry runs spread over SPREAD connections (so they
 * rarely meet on one): a fresh host of its own, its peak RSS (VmHWM) read once it is warm and idle, then again
 * after `durationSec` of the flood. The rate and latencies are shown with it, since a host that answers fewer
 * requests at a time also holds less.
 */

export const MEMORY_ROW = '(o) 256 concurrent dry runs over 1,024 connections';
const CALLERS = 256;
const SPREAD = 1_024;
const DRAIN_MS = 5_000;

export const dryRunMemoryScenario: Scenario = {
  id: 'dry-run-memory',
  title: `${MEMORY_ROW}: the host's peak RSS`,
  connectionsNeeded: (_s: BenchSettings) => SPREAD,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { settings, sandbox } = ctx;
    const next = cycle(ctx.pool.take(SPREAD));
    const host = await ctx.startHost();
    try {
      // Dry runs for 0.2 s first: the idle figure is a host that has served (tokens, secret, tables), not a bare start.
      await runWindow({
        baseUrl: host.url,
        workers: 1,
        durationSec: 0.2,
        drainMs: DRAIN_MS,
        next: () => signedPost(ctx.sign, DRY_RUN_PATH, approvalBody(next())),
      });
      const idleMb = await peakRssMb(host);
      await sandbox.reset();
      const r = await runWindow({
        baseUrl: host.url,
        workers: CALLERS,
        durationSec: settings.durationSec,
        drainMs: DRAIN_MS,
        next: () => signedPost(ctx.sign, DRY_RUN_PATH, approvalBody(next())),
      });
      const peakMb = await peakRssMb(host);
      const counts = await sandbox.counts();
      const ok = r.statusCounts[200] ?? 0;
      return {
        rows: [windowRow(MEMORY_ROW, r, { 'peak RSS MB': peakMb })],
        figures: [
          {
            name: `(o) host peak RSS under ${CALLERS} concurrent dry runs over ${SPREAD.toLocaleString('en-US')} connections`,
            value: peakMb,
            unit: 'MB',
            note: `VmHWM; ${idleMb} MB after start and 0.2 s of single dry runs`,
          },
        ],
        checks: [
          {
            name: '(o) every dry run answered 200 and none wrote',
            ok: r.errors === 0 && ok === r.latenciesMs.length && counts.arm.PUT === 0,
            detail: `responses ${statusesOf(r)}, ${r.cutOffMs.length} cut off, ${r.errors} failed; sandbox PUT ${counts.arm.PUT}`,
          },
        ],
      };
    } finally {
      await host.stop();
    }
  },
};
