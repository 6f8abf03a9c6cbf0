import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SeedCluster, SeedFile } from '../dev/sandbox/seed.js';

/**
 * A sandbox seed with thousands of Pending connections, so every approval the bench sends is a real change
 * (GET + PUT) and never an "unchanged" answer. Scenarios take disjoint slices, so no scenario sees a
 * connection another one already approved, even if later versions of the app remember past requests.
 * bench/policy.yaml grants exactly these ids; keep the two in step.
 */

export const BENCH_SUBSCRIPTION_ID = '00000000-0000-4000-8000-0000000be4c0';
export const CONSUMER_SUBSCRIPTION_ID = '11111111-1111-4111-8111-0000000be4c1';
export const BENCH_RESOURCE_GROUP = 'rg-bench';
const CLUSTERS = 4;

export class PoolExhaustedError extends Error {
  override readonly name = 'PoolExhaustedError';
}

export interface ConnectionPool {
  seedPath: string;
  size: number;
  /** The next `count` unused connection ids; throws when the seed has too few left. */
  take(count: number): string[];
}

function connectionName(index: number): string {
  return `pe-bench-${String(index).padStart(6, '0')}`;
}

function clusterName(index: number): string {
  return `aks-bench-${index % CLUSTERS}`;
}

function connectionId(index: number): string {
  return (
    `/subscriptions/${BENCH_SUBSCRIPTION_ID}/resourceGroups/${BENCH_RESOURCE_GROUP}` +
    `/providers/Microsoft.ContainerService/managedClusters/${clusterName(index)}` +
    `/privateEndpointConnections/${connectionName(index)}`
  );
}

export function benchSeed(size: number): SeedFile {
  const clusters: SeedCluster[] = Array.from({ length: CLUSTERS }, (_, c) => ({
    name: clusterName(c),
    privateEndpointConnections: [],
  }));
  for (let i = 0; i < size; i++) {
    clusters[i % CLUSTERS]?.privateEndpointConnections.push({
      name: connectionName(i),
      privateEndpointId: `/subscriptions/${CONSUMER_SUBSCRIPTION_ID}/resourceGroups/rg-consumer/providers/Microsoft.Network/privateEndpoints/${connectionName(i)}`,
      status: 'Pending',
      provisioningState: 'Succeeded',
    });
  }
  return {
    subscriptions: [
      {
        subscriptionId: BENCH_SUBSCRIPTION_ID,
        resourceGroups: [{ name: BENCH_RESOURCE_GROUP, managedClusters: clusters }],
      },
    ],
  };
}

export async function writeBenchSeed(dir: string, size: number): Promise<ConnectionPool> {
  const seedPath = join(dir, 'bench-seed.json');
  await writeFile(seedPath, JSON.stringify(benchSeed(size)));
  let next = 0;
  return {
    seedPath,
    size,
    take(count) {
      if (next + count > size) {
        throw new PoolExhaustedError(`the bench seed has ${size - next} unused connections, ${count} asked`);
      }
      const ids = Array.from({ length: count }, (_, i) => connectionId(next + i));
      next += count;
      return ids;
    },
  };
}
