import { fileURLToPath } from 'node:url';
import { baseEnv } from '../children.js';
import type { BenchContext, Scenario } from '../context.js';
import { toRow } from '../load/measurement.js';
import type { ScenarioResult } from '../types.js';
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
      const { m, check, cpu } = await countedApprovals(
        ctx,
        { url, pid: floor.process.pid, label: '(l)' },
        '(l) the floor did one GET and one PUT per request, each on its own connection',
      );
      return {
        rows: [toRow(FLOOR_ROW, m, { unit: 'insert+GET+PUT+upsert' })],
        figures: [cpu],
        checks: [check],
      };
    } finally {
      await floor.stop();
    }
  },
};
