import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSeed, loadSeedFile } from '../../../dev/sandbox/seed.js';
import {
  BENCH_RESOURCE_GROUP,
  BENCH_SUBSCRIPTION_ID,
  CONSUMER_SUBSCRIPTION_ID,
  PoolExhaustedError,
  benchSeed,
  writeBenchSeed,
} from '../../../bench/seed-file.js';

describe('bench seed', () => {
  it('is a valid sandbox seed of Pending connections', () => {
    const seed = parseSeed(benchSeed(10), 'bench');
    const connections = seed.subscriptions.flatMap((s) =>
      s.resourceGroups.flatMap((g) => g.resources.flatMap((c) => c.privateEndpointConnections)),
    );
    expect(connections).toHaveLength(10);
    expect(connections.every((c) => c.status === 'Pending')).toBe(true);
  });

  it('hands out disjoint ids that exist in the written seed, then refuses', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-seed-test-'));
    try {
      const pool = await writeBenchSeed(dir, 5);
      const seed = loadSeedFile(pool.seedPath);
      const names = new Set(
        seed.subscriptions.flatMap((s) =>
          s.resourceGroups.flatMap((g) =>
            g.resources.flatMap((c) => c.privateEndpointConnections.map((p) => p.name)),
          ),
        ),
      );
      const a = pool.take(2);
      const b = pool.take(3);
      expect(new Set([...a, ...b]).size).toBe(5);
      for (const id of [...a, ...b]) expect(names.has(id.split('/').pop() ?? '')).toBe(true);
      expect(() => pool.take(1)).toThrow(PoolExhaustedError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('bench policy', () => {
  it('names the bench seed subscription, resource group and consumer subscription', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(new URL('../../../bench/policy.yaml', import.meta.url), 'utf8');
    expect(text).toContain(`subscription: ${BENCH_SUBSCRIPTION_ID}`);
    expect(text).toContain(`resourceGroup: ${BENCH_RESOURCE_GROUP}`);
    expect(text).toContain(`subscriptions: [${CONSUMER_SUBSCRIPTION_ID}]`);
  });
});
