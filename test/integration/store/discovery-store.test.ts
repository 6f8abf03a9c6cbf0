import { describe, expect, it } from 'vitest';
import { TableDiscoveryStore } from '../../../src/store/discovery-store.js';
import { purgeExpired } from '../../../src/store/retention.js';
import { clientSets, freshTables, storageConfig } from './helpers.js';

/**
 * What discovery remembers, against Azurite: one row per connection and private endpoint, created by exactly one
 * scan however many race for it, then moved on only by ETag-checked updates.
 */

const CONN =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/st1/privateEndpointConnections/pe1';
const PE =
  '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe1';
const seen = (at: number, connectionId = CONN, privateEndpointId = PE) => ({
  connectionId,
  privateEndpointId,
  status: 'Pending',
  at,
  expiresAt: at + 90 * 86_400_000,
});

describe('TableDiscoveryStore', () => {
  it('creates the row once when eight instances claim it at the same moment', async () => {
    const config = storageConfig();
    await freshTables(config);
    const stores = clientSets(config, 8).map((t) => new TableDiscoveryStore({ table: t.discovery }));
    const claims = await Promise.all(stores.map((s) => s.claim(seen(1_000))));
    expect(claims.filter((c) => c.created)).toHaveLength(1);
    expect(new Set(claims.map((c) => c.row.etag)).size).toBe(1);
    expect(claims[0]!.row).toMatchObject({ state: 'seen', firstSeenAt: 1_000, lastSeenAt: 1_000 });
  });

  it('lets one of two racing updates through; the other is told it lost', async () => {
    const store = new TableDiscoveryStore({ table: (await freshTables(storageConfig())).discovery });
    const { row } = await store.claim(seen(1_000));
    const [a, b] = await Promise.all([
      store.update(row, { state: 'approved' }),
      store.update(row, { state: 'requested' }),
    ]);
    expect([a, b].filter((r) => r !== undefined)).toHaveLength(1);
    const again = await store.claim(seen(2_000));
    expect(again.created).toBe(false);
    expect(['approved', 'requested']).toContain(again.row.state);
    expect(again.row.firstSeenAt).toBe(1_000);
  });

  it('counts a re-created private endpoint as a new row', async () => {
    const store = new TableDiscoveryStore({ table: (await freshTables(storageConfig())).discovery });
    await store.claim(seen(1_000));
    const recreated = await store.claim(seen(5_000, CONN, `${PE}-v2`));
    expect(recreated.created).toBe(true);
    expect(recreated.row.firstSeenAt).toBe(5_000);
  });

  it('keeps where people were asked, lists the open requests, and the newest rows first', async () => {
    const store = new TableDiscoveryStore({ table: (await freshTables(storageConfig())).discovery });
    for (let i = 0; i < 5; i++) {
      const { row } = await store.claim(seen(1_000 + i, `${CONN}${i}`));
      if (i % 2 === 0)
        await store.update(row, {
          state: 'requested',
          asked: { servicenow: { sysId: 'a'.repeat(32) }, slack: { channel: 'C0123456', ts: `1.${i}` } },
        });
    }
    const asked = [];
    for await (const row of store.asked()) asked.push(row);
    expect(asked.map((r) => r.connectionId).sort()).toEqual([`${CONN}0`, `${CONN}2`, `${CONN}4`]);
    expect(asked[0]!.asked).toMatchObject({ servicenow: { sysId: 'a'.repeat(32) } });
    const recent = await store.recent(2);
    expect(recent.map((r) => r.connectionId)).toEqual([`${CONN}4`, `${CONN}3`]);
  });

  it('keeps each scan’s counters and lists the newest first', async () => {
    const store = new TableDiscoveryStore({ table: (await freshTables(storageConfig())).discovery });
    await store.recordScan({ scanId: 'a', startedAt: 1_000, pages: 2, connections: 10 });
    await store.recordScan({ scanId: 'b', startedAt: 2_000, pages: 3, connections: 12 });
    await store.claim(seen(3_000));
    const scans = await store.scans(10);
    expect(scans.map((s) => s.scanId)).toEqual(['b', 'a']);
    expect(scans[0]).toMatchObject({ pages: 3, connections: 12, startedAt: 2_000 });
    expect((await store.recent(10)).map((r) => r.connectionId)).toEqual([CONN]);
  });
});

describe('retention of discovery rows', () => {
  it('deletes ended connections and old scan summaries once they expire, and keeps open rows', async () => {
    const tables = await freshTables(storageConfig());
    const store = new TableDiscoveryStore({ table: tables.discovery });
    const ended = (await store.claim(seen(1_000, `${CONN}-ended`))).row;
    await store.update(ended, { state: 'closed', closedAt: 2_000, expiresAt: 10_000 });
    await store.claim(seen(1_000, `${CONN}-open`));
    await store.recordScan({ scanId: 'old', startedAt: 1_000 });
    await store.recordScan({ scanId: 'new', startedAt: 9 * 86_400_000 });
    const deleted = await purgeExpired(tables.discovery, 8 * 86_400_000 + 2_000);
    expect(deleted).toBe(2);
    expect((await store.recent(10)).map((r) => r.connectionId)).toEqual([`${CONN}-open`]);
    expect((await store.scans(10)).map((s) => s.scanId)).toEqual(['new']);
  });
});
