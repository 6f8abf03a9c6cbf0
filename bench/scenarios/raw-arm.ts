import { Agent } from 'node:https';
import type { BenchContext, BenchSettings, Scenario } from '../context.js';
import { send } from '../http-client.js';
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
const API_VERSION = '2025-01-01';
const PUT_BODY = JSON.stringify({
  properties: { privateLinkServiceConnectionState: { status: 'Approved' } },
});

export const rawArmScenario: Scenario = {
  id: 'raw-arm',
  title: RAW_ARM_ROW,
  connectionsNeeded: (s: BenchSettings) => s.calibrationRequests + s.maxCounted,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { settings, sandbox } = ctx;
    const token = await sandbox.token();
    const agent = new Agent({ keepAlive: true, ca: sandbox.caCertPem, maxSockets: settings.connections });
    const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };

    const getThenPut = (ids: string[]) => async (index: number) => {
      const url = `${sandbox.armEndpoint}${ids[index] ?? ''}?api-version=${API_VERSION}`;
      const got = await send({ method: 'GET', url, headers, agent });
      if (got.status !== 200) throw new Error(`GET ${got.status} ${got.text}`);
      const put = await send({
        method: 'PUT',
        url,
        headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
        body: PUT_BODY,
        agent,
      });
      if (put.status !== 200) throw new Error(`PUT ${put.status} ${put.text}`);
    };
    const run = (count: number) => {
      const ids = ctx.pool.take(count);
      return runClosedLoop({ concurrency: settings.connections, amount: count, operation: getThenPut(ids) });
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
