import { describe, expect, it } from 'vitest';
import { runAuditCli } from '../../../dev/audit-cli.js';
import { TableAuditTrail } from '../../../src/store/audit-trail.js';
import { fingerprint, TableIdempotencyStore } from '../../../src/store/idempotency-store.js';
import { chainPartition, seqRowKey } from '../../../src/store/keys.js';
import { closedPort, freshTables, storageConfig, unusedCredential } from './helpers.js';
import { azuriteConnectionString as connectionStringFor } from '../../../dev/azurite.js';

const A =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks/privateEndpointConnections/pe-a';
const B = A.replace('pe-a', 'pe-b');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, deps: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

async function seeded() {
  const config = storageConfig();
  const tables = await freshTables(config);
  const trail = new TableAuditTrail({ table: tables.audit, clock: Date.now, leaseSeconds: 30 });
  for (const [connectionId, n] of [
    [A, 3],
    [B, 2],
  ] as const) {
    for (let i = 1; i <= n; i++) {
      await trail.append(
        {
          requestId: `${connectionId.slice(-4)}-${i}`,
          time: '2025-01-01T12:00:00.000Z',
          source: 'generic',
          connectionId,
          outcome: 'approved',
          httpStatus: 200,
          durationMs: i,
        },
        Date.now() + 10_000,
      );
    }
  }
  const env = { AzureWebJobsStorage: config.connectionString, TABLE_PREFIX: config.tablePrefix };
  return { tables, env };
}

describe('audit CLI', () => {
  it('verifies one connection and all of them', async () => {
    const { env } = await seeded();
    const one = capture();
    expect(await runAuditCli(['verify', A], { env, credential: unusedCredential, ...one.deps })).toBe(0);
    expect(one.out).toEqual([`OK ${A}: 3 record(s)`]);

    const all = capture();
    expect(await runAuditCli(['verify', '--all'], { env, credential: unusedCredential, ...all.deps })).toBe(
      0,
    );
    expect(all.out).toEqual([
      `OK ${A}: 3 record(s)`,
      `OK ${B}: 2 record(s)`,
      'OK 2 chain(s), 5 intact record(s), 0 broken',
    ]);
  });

  it('reports an empty trail as OK before the app ever wrote (no table yet)', async () => {
    const config = storageConfig();
    const env = { AzureWebJobsStorage: config.connectionString, TABLE_PREFIX: config.tablePrefix };
    const all = capture();
    expect(await runAuditCli(['verify', '--all'], { env, credential: unusedCredential, ...all.deps })).toBe(
      0,
    );
    expect(all.out).toEqual(['OK 0 chain(s), 0 intact record(s), 0 broken']);
    const one = capture();
    expect(await runAuditCli(['verify', A], { env, credential: unusedCredential, ...one.deps })).toBe(0);
    expect(one.out).toEqual([`OK ${A}: 0 record(s)`]);
  });

  it('names the broken record and exits 1', async () => {
    const { env, tables } = await seeded();
    const partitionKey = chainPartition(B);
    const row = await tables.audit.client.getEntity<Record<string, unknown>>(partitionKey, seqRowKey(2));
    await tables.audit.client.updateEntity(
      { ...row, partitionKey, rowKey: seqRowKey(2), outcome: 'rejected' },
      'Replace',
    );

    const all = capture();
    expect(await runAuditCli(['verify', '--all'], { env, credential: unusedCredential, ...all.deps })).toBe(
      1,
    );
    expect(all.out).toEqual([`OK ${A}: 3 record(s)`]);
    expect(all.err[0]).toContain(`BROKEN ${B}: record 2 (request pe-b-2)`);
    expect(all.err[1]).toBe('BROKEN 2 chain(s), 4 intact record(s), 1 broken');
  });

  it('prints what a tampered table holds with its control characters escaped, never sent to the terminal', async () => {
    const { env, tables } = await seeded();
    const partitionKey = chainPartition(B);
    const row = await tables.audit.client.getEntity<Record<string, unknown>>(partitionKey, seqRowKey(2));
    // An escape sequence that would clear the screen and print a reassuring line.
    const forged = 'pe-b-2\u001b[2J\u001b[HOK everything verifies';
    await tables.audit.client.updateEntity(
      { ...row, partitionKey, rowKey: seqRowKey(2), requestId: forged },
      'Replace',
    );

    const all = capture();
    expect(await runAuditCli(['verify', '--all'], { env, credential: unusedCredential, ...all.deps })).toBe(
      1,
    );
    const printed = [...all.out, ...all.err].join('\n');
    expect(printed).not.toContain('\u001b');
    expect(printed).toContain('pe-b-2\\u{001B}[2J\\u{001B}[HOK everything verifies');
  });

  it('--all names an answer kept for replay whose audit record is missing, and exits 1', async () => {
    const { env, tables } = await seeded();
    const store = new TableIdempotencyStore({
      table: tables.idempotency,
      chainTable: tables.audit,
      clock: Date.now,
      claimLeaseSeconds: 30,
      idempotencyTtlHours: 1,
    });
    const claimed = await store.claim('key', fingerprint({ a: 1 }), 'req-unrecorded');
    if (claimed.kind !== 'claimed') throw new Error(claimed.kind);
    await store.complete(claimed.token, {
      requestId: 'req-unrecorded',
      response: {
        id: 'req-unrecorded',
        outcome: 'approved',
        connection: { id: A, name: 'pe-a', status: 'Approved', previousStatus: 'Pending' },
        policy: { allowed: true, reasons: [] },
        arm: { status: 200, correlationId: 'c' },
      },
    });
    const all = capture();
    expect(await runAuditCli(['verify', '--all'], { env, credential: unusedCredential, ...all.deps })).toBe(
      1,
    );
    expect(all.err.join('\n')).toContain('MISSING request req-unrecorded: an answer is kept for replay');
  });

  it('exits 2 on usage, configuration and storage errors', async () => {
    const usage = capture();
    expect(await runAuditCli(['verify'], { env: {}, ...usage.deps })).toBe(2);
    expect(await runAuditCli(['delete', A], { env: {}, ...usage.deps })).toBe(2);
    expect(usage.err[0]).toMatch(/^usage:/);

    const badConfig = capture();
    expect(await runAuditCli(['verify', A], { env: { TABLE_PREFIX: '1-bad' }, ...badConfig.deps })).toBe(2);
    expect(badConfig.err[0]).toMatch(/TABLE_PREFIX/);

    const down = capture();
    const env = { AzureWebJobsStorage: connectionStringFor('127.0.0.1', await closedPort()) };
    const code = await runAuditCli(['verify', A], {
      env,
      credential: unusedCredential,
      tuning: { maxRetries: 0, requestTimeoutMs: 500 },
      ...down.deps,
    });
    expect(code).toBe(2);
    expect(down.err[0]).toMatch(/^error: Storage unavailable/);
    expect(down.err.join('\n')).not.toMatch(/AccountKey|Eby8vdM02/);
    // It says where it looked and which setting to change.
    expect(down.err[1]).toMatch(
      /Tried http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1 \(from AzureWebJobsStorage/,
    );
  });
});
