import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import { SANDBOX_MANAGEMENT_GROUP } from '../../../dev/sandbox/resource-graph.js';
import type { GraphScopes } from '../../../src/arm/resource-graph.js';
import type { Found, ScanStats } from '../../../src/discovery/scan.js';
import { scanConnections } from '../../../src/discovery/scan.js';
import { createLogger, silentSink } from '../../../src/logger.js';
import { AKS, providerOf } from '../../../src/model/provider-registry.js';
import { formatConnectionId } from '../../../src/model/resource-id.js';
import { callContext, sandboxArmClient } from '../../support/arm.js';

/**
 * The scan against the sandbox's Resource Graph and Resource Manager, through the real ARM client: both query
 * paths, paging past Resource Graph's 1,000 rows, its quota headers, the scopes, and a failing query.
 */

const SUB_A = '0a0a0a0a-0000-4000-8000-00000000000a';
const SUB_B = '0b0b0b0b-0000-4000-8000-00000000000b';
const STORAGE = providerOf('Microsoft.Storage/storageAccounts')!;
const STORAGE_ACCOUNTS = 605;
const CLUSTERS = 12;

function seed(): unknown {
  const connections = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, i) => ({
      name: `${prefix}-${i}`,
      privateEndpointId: `/subscriptions/${SUB_B}/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/${prefix}-${i}`,
      status: i === 0 ? 'Pending' : 'Approved',
    }));
  return {
    subscriptions: [
      {
        subscriptionId: SUB_A,
        resourceGroups: [
          {
            name: 'rg-a',
            resources: [
              ...Array.from({ length: STORAGE_ACCOUNTS }, (_, i) => ({
                type: STORAGE.type,
                name: `sta${i}`,
                privateEndpointConnections: connections(`pe-sta${i}`, 2),
              })),
              ...Array.from({ length: CLUSTERS }, (_, i) => ({
                type: AKS.type,
                name: `aks${i}`,
                privateEndpointConnections: connections(`pe-aks${i}`, 3),
              })),
            ],
          },
        ],
      },
      {
        subscriptionId: SUB_B,
        resourceGroups: [
          {
            name: 'rg-b',
            resources: [
              { type: STORAGE.type, name: 'stb', privateEndpointConnections: connections('pe-stb', 1) },
            ],
          },
        ],
      },
    ],
  };
}

let sandbox: Sandbox;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pla-scan-'));
  writeFileSync(join(dir, 'seed.json'), JSON.stringify(seed()));
  sandbox = await startSandbox({ seedPath: join(dir, 'seed.json') });
});
afterAll(async () => sandbox?.close());
beforeEach(() => {
  sandbox.reset();
  // Generous by default; the quota test narrows it.
  sandbox.resourceGraph.settings.quotaPerWindow = 1_000;
});

interface Run {
  found: Found[];
  stats: ScanStats;
  slept: number[];
}

async function scan(scopes: GraphScopes, types = [STORAGE, AKS]): Promise<Run> {
  const slept: number[] = [];
  const stats: ScanStats = { pages: 0, resources: 0, connections: 0, errors: 0, throttledMs: 0 };
  const found: Found[] = [];
  const deps = {
    arm: sandboxArmClient(sandbox, { maxRetries: 0 }),
    scopes,
    types,
    concurrency: 4,
    context: () => callContext(),
    // Waits take no real time: Resource Graph's clock is moved on instead, so its quota windows still reset.
    sleep: async (ms: number) => {
      slept.push(ms);
      sandbox.resourceGraph.advance(ms);
    },
    logger: createLogger({ level: 'error', sink: silentSink, now: Date.now }),
  };
  for await (const item of scanConnections(deps, stats)) found.push(item);
  return { found, stats, slept };
}

const subscriptionOnly = (id: string): GraphScopes => ({ subscriptions: [id], managementGroups: [] });

describe('scanConnections', () => {
  it('reads body-listed connections from Resource Graph page by page, and AKS clusters one by one', async () => {
    const { found, stats } = await scan(subscriptionOnly(SUB_A));
    expect(stats).toMatchObject({
      pages: 3, // 1,210 connection rows in pages of 1,000, then one page of 12 clusters
      resources: CLUSTERS,
      connections: STORAGE_ACCOUNTS * 2 + CLUSTERS * 3,
      errors: 0,
    });
    const ids = new Set(found.map((f) => formatConnectionId(f.connectionId).toLowerCase()));
    expect(ids.size).toBe(found.length);
    const pending = found.filter((f) => f.state.status === 'Pending');
    expect(pending).toHaveLength(STORAGE_ACCOUNTS + CLUSTERS);
    expect(pending[0]!.state.privateEndpointId).toMatch(/privateEndpoints\/pe-/);
    const lists = sandbox
      .requests()
      .filter((r) => r.method === 'GET' && r.path.endsWith('/privateEndpointConnections'));
    expect(lists).toHaveLength(CLUSTERS);
  });

  it('keeps to its scopes: one subscription, or a management group holding all of them', async () => {
    expect((await scan(subscriptionOnly(SUB_B))).stats.connections).toBe(1);
    const everywhere = await scan({ subscriptions: [], managementGroups: [SANDBOX_MANAGEMENT_GROUP] });
    expect(everywhere.stats.connections).toBe(STORAGE_ACCOUNTS * 2 + CLUSTERS * 3 + 1);
  });

  it('splits scopes Resource Graph will not take in one request, and meets each connection once', async () => {
    // A subscription named on its own and under a named management group: two queries (the mix is refused).
    const both = await scan({ subscriptions: [SUB_B], managementGroups: [SANDBOX_MANAGEMENT_GROUP] });
    expect(both.stats).toMatchObject({ errors: 0, connections: STORAGE_ACCOUNTS * 2 + CLUSTERS * 3 + 1 });
    const ids = both.found.map((f) => formatConnectionId(f.connectionId).toLowerCase());
    expect(new Set(ids).size).toBe(ids.length);
    const bodies = sandbox
      .requests()
      .filter((r) => r.method === 'POST')
      .map((r) => JSON.parse(r.body ?? '{}') as { subscriptions?: string[]; managementGroups?: string[] });
    expect(bodies.every((b) => !(b.subscriptions && b.managementGroups))).toBe(true);

    // More subscriptions than one request may name: batches of 1,000.
    sandbox.reset();
    const many = [SUB_A, ...Array.from({ length: 1_000 }, () => randomUUID())];
    const batched = await scan({ subscriptions: many, managementGroups: [] });
    expect(batched.stats).toMatchObject({ errors: 0, connections: STORAGE_ACCOUNTS * 2 + CLUSTERS * 3 });
  });

  it('counts a result Resource Graph cut short (resultTruncated, no $skipToken) as an error, keeping what came', async () => {
    sandbox.resourceGraph.settings.truncate = true;
    const { stats } = await scan(subscriptionOnly(SUB_A));
    // The first connections page (1,000 rows) is acted on; the rest was never offered.
    expect(stats).toMatchObject({ errors: 1, connections: 1_000 + CLUSTERS * 3 });
  });

  it('counts a scope Resource Graph answered only in part (x-ms-tenant-subscription-limit-hit) as an error, once per query', async () => {
    sandbox.resourceGraph.settings.subscriptionLimitHit = true;
    const { stats } = await scan(subscriptionOnly(SUB_A));
    // Both queries (connections, then resources) say so; every page that came is still read.
    expect(stats).toMatchObject({ errors: 2, connections: STORAGE_ACCOUNTS * 2 + CLUSTERS * 3 });
    expect(stats.pages).toBeGreaterThan(2);
  });

  it('asks only for the enabled types', async () => {
    const { stats } = await scan(subscriptionOnly(SUB_A), [AKS]);
    expect(stats).toMatchObject({ pages: 1, connections: CLUSTERS * 3 });
    const graph = sandbox.requests().filter((r) => r.method === 'POST');
    expect(graph).toHaveLength(1);
    expect(graph[0]!.body).not.toContain('storageaccounts');
  });

  it("waits for Resource Graph's quota window when it says none is left", async () => {
    sandbox.resourceGraph.settings.quotaPerWindow = 1;
    const { stats, slept } = await scan(subscriptionOnly(SUB_A));
    expect(stats.connections).toBe(STORAGE_ACCOUNTS * 2 + CLUSTERS * 3);
    expect(slept.length).toBeGreaterThanOrEqual(2);
    expect(slept.every((ms) => ms > 0 && ms <= 5_000)).toBe(true);
    expect(stats.throttledMs).toBe(slept.reduce((a, b) => a + b, 0));
  });

  it('waits at most 60 s for a quota window, whatever the header says; a query still refused then ends', async () => {
    sandbox.resourceGraph.settings.quotaPerWindow = 1;
    sandbox.resourceGraph.settings.quotaWindowSeconds = 3_600;
    const { stats, slept } = await scan(subscriptionOnly(SUB_A));
    expect(slept.length).toBeGreaterThanOrEqual(1);
    expect(slept.every((ms) => ms === 60_000)).toBe(true);
    // The window had not reset: Resource Graph answered 429, and that query ended with an error counted.
    expect(stats.errors).toBeGreaterThanOrEqual(1);
    expect(stats.connections).toBeLessThan(STORAGE_ACCOUNTS * 2 + CLUSTERS * 3);
  });

  it('a $skipToken seen before ends that query with an error counted, rather than looping', async () => {
    sandbox.resourceGraph.settings.repeatSkipToken = true;
    const { stats } = await scan(subscriptionOnly(SUB_A));
    // The connections query's second page names itself as the next one again: two pages, then it stops; the
    // resources query (one page) still runs.
    expect(stats.errors).toBe(1);
    expect(stats.pages).toBe(3);
    expect(stats.connections).toBe(STORAGE_ACCOUNTS * 2 + CLUSTERS * 3);
  });

  it('a failing query ends that query with an error counted; the other query still runs', async () => {
    sandbox.faults.add({
      method: 'POST',
      pathIncludes: 'Microsoft.ResourceGraph',
      kind: 'status',
      status: 500,
    });
    const { stats } = await scan(subscriptionOnly(SUB_A));
    expect(stats.errors).toBe(1);
    expect(stats.connections).toBe(CLUSTERS * 3);
  });

  it('a cluster whose list fails is counted, the others are read', async () => {
    sandbox.faults.add({
      method: 'GET',
      pathIncludes: '/aks3/privateEndpointConnections',
      kind: 'status',
      status: 500,
    });
    const { stats } = await scan(subscriptionOnly(SUB_A), [AKS]);
    expect(stats).toMatchObject({ errors: 1, connections: (CLUSTERS - 1) * 3 });
  });
});
