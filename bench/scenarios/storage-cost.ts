import { randomUUID } from 'node:crypto';
import type { TokenCredential } from '@azure/core-auth';
import { replayCheck } from '../../src/auth/replay-guard.js';
import { loadConfig } from '../../src/config.js';
import type { ApprovalResponse } from '../../src/model/approval.js';
import { createStores } from '../../src/store/create-stores.js';
import { chainPartition } from '../../src/store/keys.js';
import { requestIdFor } from '../../src/store/request-id.js';
import { fingerprint } from '../../src/store/idempotency-store.js';
import type { BenchContext, Scenario } from '../context.js';
import { percentile } from '../stats.js';
import type { ScenarioResult } from '../types.js';

/**
 * (h) The Table Storage work one accepted approval does, alone, against the same Azurite the hosts use, with the
 * real SDK, in the app's order: the claim, the connection's lease and the replay marks (signature + delivery id) in
 * one transaction, then the key's binding; the record under the lease (hash chain) with the claim completed in
 * its transaction (the request id names the chain, as the app's do, so no locator) — what storage adds to every
 * request of (b).
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
      const connectionId = `/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c/privateEndpointConnections/pe-${i % 50}`;
      const requestId = requestIdFor(connectionId, randomUUID());
      const key = `generic:msg_${requestId}`;
      const payload = fingerprint({ connectionId });
      const chain = chainPartition(connectionId);
      const marks = replayCheck(
        stores.nonces.beside(chain),
        {
          signature: { scope: 'bench', parts: [requestId] },
          delivery: { scope: 'bench:webhook-id', id: requestId, retries: true },
        },
        key,
        false,
      );
      const beside = stores.idempotency.besideChain(chain, key, payload, requestId);
      const leased = await stores.audit.leaseClaiming(connectionId, requestId, Date.now() + 30_000, {
        ...beside,
        companions: marks,
      });
      const bound = await stores.idempotency.bind(key, payload, chain);
      if (bound.kind !== 'bound' || leased.kind !== 'leased') throw new Error('unexpected claim result');
      const token = { ...beside.owned, etag: leased.claimEtag };
      const completed = stores.idempotency.completionRow(token, { requestId, response: BENCH_ANSWER });
      await stores.audit.appendSettling(
        leased.lease,
        {
          requestId,
          time: new Date().toISOString(),
          source: 'generic',
          connectionId,
          decision: 'Approved',
          outcome: 'approved',
          httpStatus: 200,
          durationMs: 1,
        },
        { entity: completed, etag: token.etag },
      );
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
          extra: { n: latencies.length, unit: 'claim&lease with marks + bind + record&answer', chains: 50 },
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
