import { describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../../src/store/audit-record.js';
import { TableAuditTrail } from '../../../src/store/audit-trail.js';
import { createTableClients } from '../../../src/store/table-clients.js';
import { callCounter, type CallCounter } from '../../support/storage-calls.js';
import { freshTables, storageConfig, unusedCredential } from './helpers.js';

/**
 * The lease's storage calls: one conditional write when this instance left the head, a read only after that
 * write fails (another instance moved the head, or this one restarted), and no reads at all while decisions of
 * one instance wait for each other. Counted on the real table clients against Azurite.
 */

const CONNECTION =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-aks/providers/' +
  'Microsoft.ContainerService/managedClusters/aks-prod/privateEndpointConnections/pe-cache';

const record = (requestId: string): AuditRecord => ({
  requestId,
  time: '2025-01-01T12:00:00.000Z',
  source: 'generic',
  connectionId: CONNECTION,
  decision: 'Approved',
  outcome: 'approved',
  httpStatus: 200,
  durationMs: 5,
});

const soon = (): number => Date.now() + 10_000;

async function instances(count: number): Promise<{ trail: TableAuditTrail; counter: CallCounter }[]> {
  const config = storageConfig();
  await freshTables(config);
  return Array.from({ length: count }, () => {
    const counter = callCounter();
    const tables = createTableClients(config, unusedCredential, { policies: [counter.policy] });
    return {
      trail: new TableAuditTrail({ table: tables.audit, clock: Date.now, leaseSeconds: 30 }),
      counter,
    };
  });
}

async function decide(
  on: { trail: TableAuditTrail; counter: CallCounter },
  requestId: string,
): Promise<string[]> {
  const mark = on.counter.mark();
  await on.trail.append(record(requestId), soon());
  return on.counter
    .since(mark)
    .map(
      (c) =>
        `${c.method} ${c.status}${c.table.startsWith('$batch') && c.table.endsWith('Audit') ? ' batch' : ''}`,
    );
}

describe('the chain head ETag kept by each instance', () => {
  it('one write for the lease when this instance left the head; a read only after another instance moved it', async () => {
    const [a, b] = await instances(2);
    // A connection this instance never decided: its head is inserted, not read first.
    expect((await decide(a!, 'req-1')).sort()).toEqual(['POST 202 batch', 'POST 204', 'PUT 204'].sort());
    // Decided here last: one conditional update with the ETag the batch returned.
    expect((await decide(a!, 'req-2')).sort()).toEqual(['PATCH 204', 'POST 202 batch', 'PUT 204'].sort());
    // Another instance, which never saw this head: its insert finds it, it reads it, then writes.
    expect((await decide(b!, 'req-3')).sort()).toEqual(
      ['POST 409', 'GET 200', 'PATCH 204', 'POST 202 batch', 'PUT 204'].sort(),
    );
    // Back on the first instance, whose ETag is stale now: 412, a read, the write.
    expect((await decide(a!, 'req-4')).sort()).toEqual(
      ['PATCH 412', 'GET 200', 'PATCH 204', 'POST 202 batch', 'PUT 204'].sort(),
    );
    expect(await a!.trail.verify(CONNECTION)).toEqual({ ok: true, count: 4 });
  });

  it('concurrent decisions in one instance wait for each other in memory: no head read, the chain stays linear', async () => {
    const [a, b] = await instances(2);
    const mark = a!.counter.mark();
    const stored = await Promise.all(
      Array.from({ length: 12 }, (_, i) => a!.trail.append(record(`req-${i}`), soon())),
    );
    expect(stored.map((s) => s.seq).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    const made = a!.counter.since(mark);
    expect(made.filter((c) => c.method === 'GET')).toHaveLength(0);
    expect(made.filter((c) => c.table.startsWith('$batch') && c.table.endsWith('Audit'))).toHaveLength(12);
    // Mixed with another instance at once: still one linear chain.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => [a, b][i % 2]!.trail.append(record(`mixed-${i}`), soon())),
    );
    expect(await b!.trail.verify(CONNECTION)).toEqual({ ok: true, count: 24 });
  });
});
