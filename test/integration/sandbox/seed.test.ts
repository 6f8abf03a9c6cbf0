import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startSandbox } from '../../../dev/sandbox/index.js';
import {
  DISCOVERY_DEMO_SUBSCRIPTION,
  SeedError,
  defaultSeed,
  loadSeedFile,
  parseSeed,
} from '../../../dev/sandbox/seed.js';

const connection = { name: 'c1', privateEndpointId: '/pe', status: 'Pending' };
const doc = (connections: unknown[], sub = '00000000-0000-0000-0000-000000000000'): unknown => ({
  subscriptions: [
    {
      subscriptionId: sub,
      resourceGroups: [
        { name: 'rg', managedClusters: [{ name: 'k', privateEndpointConnections: connections }] },
      ],
    },
  ],
});

describe('sandbox seed', () => {
  it('ships the data the tests and benchmarks rely on', () => {
    const seed = defaultSeed();
    const all = seed.subscriptions.flatMap((s) =>
      s.resourceGroups.flatMap((g) => g.resources.flatMap((c) => c.privateEndpointConnections)),
    );
    const statuses = new Set(all.map((c) => c.status));
    for (const s of ['Pending', 'Approved', 'Rejected', 'Disconnected']) expect(statuses.has(s)).toBe(true);
    expect([...statuses].some((s) => !['Pending', 'Approved', 'Rejected', 'Disconnected'].includes(s))).toBe(
      true,
    );
    expect(all.filter((c) => c.status === 'Pending').length).toBeGreaterThanOrEqual(5);
    expect(seed.subscriptions.map((s) => s.subscriptionId)).toEqual([
      '00000000-0000-0000-0000-000000000000',
      '11111111-1111-1111-1111-111111111111',
      DISCOVERY_DEMO_SUBSCRIPTION,
    ]);
    expect(all.every((c) => c.provisioningState.length > 0)).toBe(true);
  });

  it('rejects malformed documents with a located message', () => {
    expect(() => parseSeed(doc([connection, { ...connection, name: 'C1' }]), 'x.json')).toThrow(
      /x\.json: .*duplicate name 'C1'/,
    );
    expect(() => parseSeed(doc([connection], 'not-a-uuid'), 'x.json')).toThrow(
      /subscriptionId must be a UUID/,
    );
    expect(() => parseSeed(doc([{ ...connection, extra: 1 }]), 'x.json')).toThrow(/unknown property 'extra'/);
    expect(() => parseSeed(doc([{ ...connection, status: '' }]), 'x.json')).toThrow(SeedError);
    expect(() => parseSeed({}, 'x.json')).toThrow(SeedError);
  });

  it('loads a custom seed file and re-reads it on reset', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'seed-test-'));
    const path = join(dir, 'seed.json');
    try {
      await writeFile(path, JSON.stringify(doc([connection])));
      expect(loadSeedFile(path).subscriptions).toHaveLength(1);
      const sandbox = await startSandbox({ seedPath: path });
      try {
        const id =
          '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/k/privateEndpointConnections/c1';
        expect(sandbox.connections()).toHaveLength(1);
        expect(sandbox.connection(id)?.status).toBe('Pending');
        await writeFile(path, JSON.stringify(doc([{ ...connection, status: 'Approved' }])));
        sandbox.reset();
        expect(sandbox.connection(id)?.status).toBe('Approved');
        await writeFile(path, '{');
        expect(() => sandbox.reset()).toThrow(SeedError);
        expect(sandbox.connection(id)?.status).toBe('Approved');
      } finally {
        await sandbox.close();
      }
      await expect(startSandbox({ seedPath: join(dir, 'missing.json') })).rejects.toThrow(SeedError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
