import { randomUUID } from 'node:crypto';
import { odata, TableClient } from '@azure/data-tables';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { runAuditCli } from '../../dev/audit-cli.js';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { EXAMPLE_ID, PENDING_2 } from '../support/arm.js';
import type { ChildHost } from '../support/child-host.js';
import { signedGet, signedRequest, startChildHost } from '../support/child-host.js';
import type { TestResponse } from '../support/host.js';
import { storedRecordFromEntity, type StoredAuditRecord } from '../../src/store/audit-record.js';
import { LOST_HOLDER_SOURCE } from '../../src/store/audit-trail.js';
import { chainPartition, isSeqRowKey } from '../../src/store/keys.js';
import { tableNames } from '../../src/store/table-clients.js';

/**
 * A worker process killed (SIGKILL) in the middle of a queued approval: another process, sharing the same
 * tables and queue, finishes it once the dead worker's lease runs out. Exactly one PUT, and the chain verifies.
 */

let sandbox: Sandbox;
let hosts: ChildHost[] = [];
const tablePrefix = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
// Leases short enough for a test, long enough that the dead worker's slow PUT lands before anyone takes over.
const env = {
  CLAIM_LEASE_SECONDS: '4',
  ARM_DEADLINE_MS: '2500',
  QUEUE_VISIBILITY_SECONDS: '2',
  QUEUE_POLL_MS: '100',
};

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.kill('SIGKILL')));
  hosts = [];
});
afterAll(async () => {
  await sandbox?.close();
});

async function start(): Promise<ChildHost> {
  const host = await startChildHost(sandbox, tablePrefix, env);
  hosts.push(host);
  return host;
}

async function until(probe: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function follow(host: ChildHost, location: string): Promise<TestResponse> {
  const path = new URL(location).pathname;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const res = await signedGet(`${host.url}${path}`, sandbox.devSecrets.generic);
    if (res.status !== 202 || Date.now() > deadline) return res;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function verifyChain(connectionId: string): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runAuditCli(['verify', connectionId], {
    env: { AzureWebJobsStorage: inject('azuriteTableConnectionString'), TABLE_PREFIX: tablePrefix },
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
  });
  return { code, out: lines.join('\n') };
}

const cases = [
  {
    name: 'while its GET waits: the next worker does the one PUT',
    connectionId: PENDING_2,
    method: 'GET',
    latencyMs: 3_000,
    outcome: 'approved',
  },
  {
    // The row says the PUT went out (written before it was sent), so the landed write is reported as this
    // request's own: approved, from Pending.
    name: 'while its PUT is in flight (and lands): the next worker finds it applied, sends none, reports it',
    connectionId: EXAMPLE_ID,
    method: 'PUT',
    latencyMs: 1_500,
    outcome: 'approved',
  },
] as const;

describe('a worker killed mid-job', () => {
  it.each(cases)('$name', async ({ connectionId, method, latencyMs, outcome }) => {
    sandbox.reset();
    const first = await start();
    sandbox.faults.add({ method, kind: 'latency', latencyMs, times: 1 });
    const accepted = await signedRequest(
      `${first.url}/api/approvals`,
      sandbox.devSecrets.generic,
      { connectionId, decision: 'Approved' },
      { prefer: 'respond-async' },
    );
    expect(accepted.status, accepted.text).toBe(202);
    // Counted on arrival (requests() lists them once answered): the worker is now waiting on this call.
    await until(() => sandbox.counts().arm[method] > 0);
    await first.kill('SIGKILL');

    const second = await start();
    const done = await follow(second, accepted.headers.get('location')!);
    expect(done.status, done.text).toBe(200);
    expect(done.json.outcome).toBe(outcome);
    expect((done.json.connection as { previousStatus: string }).previousStatus).toBe('Pending');
    expect(sandbox.counts().arm.PUT).toBe(1);
    expect(sandbox.connection(connectionId)?.status).toBe('Approved');

    const record = await signedGet(
      `${second.url}/api/approvals/${accepted.json.id as string}`,
      sandbox.devSecrets.generic,
    );
    expect(record.json.outcome).toBe(outcome);
    expect(record.json.attempts).toEqual(
      expect.arrayContaining([expect.objectContaining({ code: 'WorkerLost' })]),
    );
    const chain = await verifyChain(connectionId);
    expect(chain.code, chain.out).toBe(0);
  });
});

describe('a synchronous approval killed while its PUT is in flight', () => {
  it('is recorded as indeterminate, before the next decision on its connection, by the process that makes it', async () => {
    sandbox.reset();
    const first = await start();
    sandbox.faults.add({ method: 'PUT', kind: 'latency', latencyMs: 1_500, times: 1 });
    const body = { connectionId: EXAMPLE_ID, decision: 'Approved' };
    const lost = signedRequest(`${first.url}/api/approvals`, sandbox.devSecrets.generic, body).catch(
      (error: unknown) => error,
    );
    await until(() => sandbox.counts().arm.PUT > 0);
    await first.kill('SIGKILL');
    await lost;
    // The PUT lands, but its process is gone: nothing of it is recorded until its lease runs out.
    await until(() => sandbox.connection(EXAMPLE_ID)?.status === 'Approved');
    await new Promise((r) => setTimeout(r, Number(env.CLAIM_LEASE_SECONDS) * 1_000 + 200));

    const second = await start();
    const next = await signedRequest(`${second.url}/api/approvals`, sandbox.devSecrets.generic, body);
    expect(next.status, next.text).toBe(200);
    expect(next.json.outcome).toBe('unchanged');
    expect(sandbox.counts().arm.PUT).toBe(1);

    // The connection's chain holds the cases above too: this case wrote its last two records.
    const chain = (await chainOf(EXAMPLE_ID)).slice(-2);
    expect(chain.map((r) => [r.outcome, r.source])).toEqual([
      ['indeterminate', LOST_HOLDER_SOURCE],
      ['unchanged', 'generic'],
    ]);
    expect(chain[1]?.prevHash).toBe(chain[0]?.hash);
    expect(chain[0]?.attempts).toEqual([
      expect.objectContaining({ code: 'LeaseExpired', mayHaveApplied: true }),
    ]);
    expect(chain[1]?.requestId).toBe(next.json.id);
    const verified = await verifyChain(EXAMPLE_ID);
    expect(verified.code, verified.out).toBe(0);
  });
});

/** The connection's chain, oldest first, read straight from the audit table. */
async function chainOf(connectionId: string): Promise<StoredAuditRecord[]> {
  const client = TableClient.fromConnectionString(
    inject('azuriteTableConnectionString'),
    tableNames(tablePrefix).audit,
    { allowInsecureConnection: true },
  );
  const filter = odata`PartitionKey eq ${chainPartition(connectionId)}`;
  const chained: StoredAuditRecord[] = [];
  for await (const entity of client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
    const read = isSeqRowKey(entity.rowKey ?? '') ? storedRecordFromEntity(entity) : undefined;
    if (read?.ok) chained.push(read.record);
  }
  return chained.sort((a, b) => a.seq - b.seq);
}
