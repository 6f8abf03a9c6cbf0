import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/core-auth';
import { guardReplay } from '../../src/auth/replay-guard.js';
import { loadConfig } from '../../src/config.js';
import type { ApprovalResponse } from '../../src/model/approval.js';
import { createStores } from '../../src/store/create-stores.js';
import { fingerprint } from '../../src/store/idempotency-store.js';
import type { BenchContext, Scenario } from '../context.js';
import { percentile } from '../stats.js';
import type { ScenarioResult } from '../types.js';

/**
 * (h) The Table Storage work one accepted approval does, alone, against the same Azurite the hosts use, with the
 * real SDK: the replay guard (signature + delivery id), the idempotency claim, the connection lease, the audit
 * append under it (hash chain) and storing the answer — what storage adds to every request of (b).
 */

export const STORAGE_ROW = '(h) storage per approval (Azurite)';
const REQUESTS = 600;
const BENCH_ANSWER: ApprovalResponse = {
  id: 'bench',
  outcome: 'approved',
  connection: { id: 'bench', name: 'bench', status: 'Approved', previousStatus: 'Pending' },
  policy: { allowed: true, reasons: [] },
  arm: { status: 200, correlationId: 'bench' },
};

/** A connection string authenticates with the account key; the credential must never be asked. */
const noCredential: TokenCredential = {
  getToken: () => Promise.reject(new Error('not used with a connection string')),
};

export const storageCostScenario: Scenario = {
  id: 'storage',
  title: STORAGE_ROW,
  connectionsNeeded: () => 0,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const config = loadConfig({
      AzureWebJobsStorage: ctx.hostBaseEnv.AzureWebJobsStorage,
      TABLE_PREFIX: 'benchstore',
    });
    const stores = createStores(config.storage, noCredential, { clock: Date.now });
    await stores.ensureTables();

    const one = async (i: number): Promise<number> => {
      const started = performance.now();
      const requestId = randomUUID();
      const key = `generic:msg_${requestId}`;
      const connectionId = `/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c/privateEndpointConnections/pe-${i % 50}`;
      await guardReplay(
        stores.nonces,
        {
          signature: { scope: 'bench:signature', id: requestId },
          delivery: { scope: 'bench:webhook-id', id: requestId, retries: true },
        },
        key,
      );
      const claim = await stores.idempotency.claim(key, fingerprint({ connectionId }), requestId);
      if (claim.kind !== 'claimed') throw new Error(`unexpected claim result ${claim.kind}`);
      const lease = await stores.audit.lease(connectionId, requestId, Date.now() + 30_000);
      await stores.audit.appendLeased(lease, {
        requestId,
        time: new Date().toISOString(),
        source: 'generic',
        connectionId,
        decision: 'Approved',
        outcome: 'approved',
        httpStatus: 200,
        durationMs: 1,
      });
      await stores.idempotency.complete(claim.token, { requestId, response: BENCH_ANSWER });
      return performance.now() - started;
    };

    for (let i = 0; i < 50; i++) await one(i);
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: ctx.settings.connections }, async () => {
        while (next < REQUESTS) latencies.push(await one(next++));
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      rows: [
        {
          name: STORAGE_ROW,
          reqPerSec: latencies.length / seconds,
          p50Ms: percentile(sorted, 50),
          p99Ms: percentile(sorted, 99),
          extra: { n: latencies.length, unit: 'guard + claim + lease + audit + answer', chains: 50 },
        },
      ],
      figures: [],
      checks: [
        {
          name: '(h) every approval stored',
          ok: latencies.length === REQUESTS,
          detail: `${latencies.length}/${REQUESTS}`,
        },
      ],
    };
  },
};
