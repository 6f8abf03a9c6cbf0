import { fileURLToPath } from 'node:url';
import { baseEnv } from '../children.js';
import type { BenchContext, Scenario } from '../context.js';
import { toRow } from '../load/measurement.js';
import { chainedBound, measurePatterns } from '../storage-patterns.js';
import type { PatternCost, SideCost } from '../storage-patterns.js';
import type { Check, Figure, ScenarioResult } from '../types.js';
import type { CpuParts } from './approve.js';
import { countedApprovalConnections, countedApprovals } from './approve.js';

/**
 * (l) The floor for (b): the least an approval webhook can do exactly once with a record (bench/floor-server.ts:
 * conditional insert, GET, PUT, upsert; no checks), in its own node:http process, on the same Azurite and
 * sandbox, loaded exactly as (b) is: the same signed bodies, each approving a Pending connection of its own,
 * a counted run sized the same way. (b)/(l) is what the app's checks, chain and answer cost over that floor.
 */

export const FLOOR_ROW = '(l) floor: bare node:http, insert + GET + PUT + upsert';
const FLOOR_SCRIPT = fileURLToPath(new URL('../floor-server.js', import.meta.url));

export const floorScenario: Scenario = {
  id: 'floor',
  title: FLOOR_ROW,
  connectionsNeeded: countedApprovalConnections,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { sandbox } = ctx;
    const env = sandbox.env();
    const floor = ctx.children.spawnNode('floor-server', FLOOR_SCRIPT, [], {
      ...baseEnv(),
      NODE_EXTRA_CA_CERTS: env.NODE_EXTRA_CA_CERTS ?? '',
      BENCH_FLOOR_STORAGE: ctx.hostBaseEnv.AzureWebJobsStorage ?? '',
      BENCH_FLOOR_ARM: sandbox.armEndpoint,
      BENCH_FLOOR_TOKEN: await sandbox.token(),
    });
    try {
      const ready = await floor.waitForLine((line) => line.startsWith('{"port"'), 20_000);
      const url = `http://127.0.0.1:${(JSON.parse(ready) as { port: number }).port}`;
      const { m, check, cpu, parts } = await countedApprovals(
        ctx,
        { url, pid: floor.process.pid, label: '(l)' },
        '(l) the floor did one GET and one PUT per request, each on its own connection',
      );
      const bound = await measuredBound(ctx, parts);
      return {
        rows: [toRow(FLOOR_ROW, m, { unit: 'insert+GET+PUT+upsert' })],
        figures: [cpu, ...bound.figures],
        checks: [check, bound.check],
      };
    } finally {
      await floor.stop();
    }
  },
};

/** The least (b)/(l) can be on this machine, wanting 1.3 or less (issue 14). */
const CHAINED_BOUND = '(l) least (b)/(l) with a chained record, CPU';

/**
 * What the floor would cost with the least chained storage instead of its two plain writes (Azurite's CPU and the
 * SDK client's, both measured), and nothing else added: no signature, schema, policy, hash or record to build. On
 * two shared cores at 10 callers the p50 follows CPU per request, so this bounds (b)/(l) from below.
 */
async function measuredBound(
  ctx: BenchContext,
  floor: CpuParts,
): Promise<{ figures: Figure[]; check: Check }> {
  const name = '(l) storage patterns measured on Azurite';
  if (ctx.azuritePid === undefined)
    return { figures: [], check: { name, ok: true, detail: 'no /proc: skipped' } };
  const cost: PatternCost = await measurePatterns(
    ctx.hostBaseEnv.AzureWebJobsStorage ?? '',
    ctx.azuritePid,
    ctx.settings.connections,
  );
  const bound = chainedBound(floor, cost);
  const shown = (side: SideCost): string =>
    `Azurite ${side.azurite.toFixed(3)} + client ${side.client.toFixed(3)} ms`;
  const figures: Figure[] = [
    {
      name: '(l) CPU per request: least chained storage',
      value: Math.round((cost.chained.azurite + cost.chained.client) * 1000) / 1000,
      unit: 'ms',
      note: `claim insert + record&head transaction + claim completion: ${shown(cost.chained)}; the floor's insert + upsert: ${shown(cost.floor)} (least of 3 rounds each)`,
    },
    {
      name: CHAINED_BOUND,
      value: Math.round(bound.ratio * 100) / 100,
      unit: 'x',
      note: `the floor's ${bound.floorMs.toFixed(2)} ms with the chained storage instead: ${bound.chainedMs.toFixed(2)} ms, not one check added; Azurite's part alone ×${bound.azuriteOnly.toFixed(2)}`,
    },
  ];
  const ok = Number.isFinite(bound.ratio) && bound.ratio > 0;
  return { figures, check: { name, ok, detail: `${cost.requests} requests of each pattern` } };
}
