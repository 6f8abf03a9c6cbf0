import { Agent } from 'node:https';
import { getThenPut } from '../arm-raw.js';
import type { BenchContext, BenchSettings, Scenario } from '../context.js';
import { runClosedLoop } from '../load/closed-loop.js';
import { statusSummary, toRow } from '../load/measurement.js';
import { countedAmount } from '../load/sizing.js';
import type { ScenarioResult } from '../types.js';

/**
 * (a) The floor: what a plain HTTPS client pays for the two Resource Manager calls an approval makes. One
 * operation = GET the connection, then PUT its new state, on a keep-alive agent that trusts the sandbox CA,
 * with one bearer token fetched up front. Latency and throughput are per operation (two round trips).
 */

export const RAW_ARM_ROW = '(a) raw HTTPS GET+PUT -> sandbox ARM';

export const rawArmScenario: Scenario = {
  id: 'raw-arm',
  title: RAW_ARM_ROW,
  connectionsNeeded: (s: BenchSettings) => s.calibrationRequests + s.maxCounted,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { settings, sandbox } = ctx;
    const token = await sandbox.token();
    const agent = new Agent({ keepAlive: true, ca: sandbox.caCertPem, maxSockets: settings.connections });
    const target = { armEndpoint: sandbox.armEndpoint, token, agent };
    const run = (count: number) => {
      const ids = ctx.pool.take(count);
      return runClosedLoop({
        concurrency: settings.connections,
        amount: count,
        operation: async (index) => void (await getThenPut(target, ids[index] ?? '')),
      });
    };

    try {
      const warmup = await run(settings.calibrationRequests);
      await sandbox.reset();
      const amount = countedAmount(warmup, settings);
      const m = await run(amount);
      const counts = await sandbox.counts();
      const done = m.statusCounts[200] ?? 0;
      const httpPerSec = Math.round((2 * done) / (m.elapsedMs / 1000));
      return {
        rows: [toRow(RAW_ARM_ROW, m, { 'HTTP req/s': httpPerSec, unit: 'op=GET+PUT' })],
        figures: [],
        checks: [
          {
            name: '(a) every operation did one GET and one PUT',
            ok: m.errors === 0 && done === amount && counts.arm.GET === done && counts.arm.PUT === done,
            detail: `operations ${statusSummary(m)}; sandbox GET ${counts.arm.GET}, PUT ${counts.arm.PUT}`,
          },
        ],
      };
    } finally {
      agent.destroy();
    }
  },
};
