import { Agent } from 'node:http';
import { odata, TableClient } from '@azure/data-tables';
import type { BenchContext, BenchSettings, Scenario } from '../context.js';
import { send } from '../http-client.js';
import { APPROVALS_PATH, DRY_RUN_PATH, approvalBody } from '../requests.js';
import { percentile } from '../stats.js';
import type { ScenarioResult } from '../types.js';

/**
 * (i) One connection flooded: `FLOOD_WORKERS` callers sending dry runs back to back for `BENCH_FLOOD_SECONDS`
 * (default 60), while one caller keeps making real decisions on the same connection. Every dry run answered 200
 * must have its audit record (counted in the table afterwards), and the real decisions must not be starved.
 */

export const FLOOD_ROW = '(i) real decisions on a connection flooded by 50 dry-run callers';
const FLOOD_WORKERS = 50;
const durationSec = (): number => Number(process.env.BENCH_FLOOD_SECONDS ?? 60);

interface Sent {
  ok: string[];
  failed: number;
  latenciesMs: number[];
}

async function loop(
  ctx: BenchContext,
  path: string,
  connectionId: string,
  until: number,
  sent: Sent,
  agent: Agent,
) {
  while (performance.now() < until) {
    const body = approvalBody(connectionId);
    const t0 = performance.now();
    try {
      const res = await send({
        method: 'POST',
        url: `${ctx.host.url}${path}`,
        headers: ctx.sign(body),
        body,
        agent,
      });
      sent.latenciesMs.push(performance.now() - t0);
      if (res.status === 200) sent.ok.push(String(res.headers['x-request-id']));
      else sent.failed++;
    } catch {
      sent.failed++;
    }
  }
}

/** Records of this connection in the audit table, by outcome. */
async function recordCounts(ctx: BenchContext, connectionId: string): Promise<Record<string, number>> {
  const client = TableClient.fromConnectionString(ctx.hostBaseEnv.AzureWebJobsStorage ?? '', 'benchAudit', {
    allowInsecureConnection: true,
  });
  const counts: Record<string, number> = {};
  const rows = client.listEntities<{ outcome?: string }>({
    queryOptions: { filter: odata`connectionId eq ${connectionId}`, select: ['outcome'] },
  });
  for await (const row of rows) counts[row.outcome ?? '?'] = (counts[row.outcome ?? '?'] ?? 0) + 1;
  return counts;
}

export const floodScenario: Scenario = {
  id: 'flood',
  title: FLOOD_ROW,
  connectionsNeeded: (_s: BenchSettings) => 1,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const [connectionId] = ctx.pool.take(1);
    if (connectionId === undefined) throw new Error('no connection reserved');
    const agent = new Agent({ keepAlive: true, maxSockets: FLOOD_WORKERS + 1 });
    const until = performance.now() + durationSec() * 1000;
    const dry: Sent = { ok: [], failed: 0, latenciesMs: [] };
    const real: Sent = { ok: [], failed: 0, latenciesMs: [] };
    await Promise.all([
      ...Array.from({ length: FLOOD_WORKERS }, () =>
        loop(ctx, DRY_RUN_PATH, connectionId, until, dry, agent),
      ),
      loop(ctx, APPROVALS_PATH, connectionId, until, real, agent),
    ]);
    agent.destroy();
    const records = await recordCounts(ctx, connectionId);
    const sorted = [...real.latenciesMs].sort((a, b) => a - b);
    const seconds = durationSec();
    const decided = (records.approved ?? 0) + (records.unchanged ?? 0);
    return {
      rows: [
        {
          name: FLOOD_ROW,
          reqPerSec: real.latenciesMs.length / seconds,
          p50Ms: percentile(sorted, 50),
          p99Ms: percentile(sorted, 99),
          extra: { 'dry runs/s': Math.round(dry.ok.length / seconds), seconds },
        },
      ],
      figures: [
        { name: '(i) dry runs answered 200', value: dry.ok.length, unit: 'requests' },
        { name: '(i) their audit records found', value: records['dry-run'] ?? 0, unit: 'records' },
      ],
      checks: [
        {
          name: '(i) every dry run answered 200 has its audit record',
          ok: dry.failed === 0 && (records['dry-run'] ?? 0) === dry.ok.length,
          detail: `${dry.ok.length} answered, ${dry.failed} failed, ${records['dry-run'] ?? 0} records`,
        },
        {
          name: '(i) real decisions on the flooded connection: all answered, recorded, p99 under 2 s',
          ok: real.failed === 0 && decided === real.ok.length && percentile(sorted, 99) < 2_000,
          detail: `${real.ok.length} answered, ${real.failed} failed, ${decided} chained records, p99 ${percentile(sorted, 99).toFixed(0)} ms`,
        },
      ],
    };
  },
};
