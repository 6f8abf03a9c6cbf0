import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { azuriteConnectionString as connectionStringFor } from '../../../dev/azurite.js';
import { claim, recordAndSettle } from '../../../src/approval/claim.js';
import type { Command } from '../../../src/approval/decide.js';
import { createLogger, silentSink } from '../../../src/logger.js';
import type { ApprovalResponse } from '../../../src/model/approval.js';
import { parseConnectionId } from '../../../src/model/resource-id.js';
import { createAuditSpool } from '../../../src/store/audit-spool.js';
import { TableAuditTrail } from '../../../src/store/audit-trail.js';
import { TableIdempotencyStore } from '../../../src/store/idempotency-store.js';
import { createTableClients } from '../../../src/store/table-clients.js';
import { closedPort, freshTables, storageConfig, unusedCredential } from '../store/helpers.js';

/**
 * The claim's end when the record can be kept nowhere: storage refuses the record and the local spool cannot
 * take it either. No answer may be stored without its record, so the key is given back (a retry decides again)
 * rather than completed. Real tables on Azurite for the claim; the audit table on a port nothing listens on.
 */

const CONNECTION =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1/privateEndpointConnections/pe-1';

function command(requestId: string): Command {
  return {
    requestId,
    source: 'generic',
    caller: { scheme: 'standard-webhooks', id: 'caller', source: 'generic' },
    request: { connectionId: CONNECTION, decision: 'Approved' },
    connectionId: parseConnectionId(CONNECTION),
    dryRun: false,
    deadline: Date.now() + 2_000,
    started: Date.now(),
    logger: createLogger({ level: 'error', sink: silentSink, now: Date.now }),
  };
}

const approved = (requestId: string): ApprovalResponse => ({
  id: requestId,
  outcome: 'approved',
  connection: { id: CONNECTION, name: 'pe-1', status: 'Approved', previousStatus: 'Pending' },
  policy: { allowed: true, reasons: [] },
  arm: { status: 200, correlationId: 'corr' },
});

describe('recordAndSettle when the record is kept nowhere', () => {
  it('gives the key back instead of storing an answer no record backs; a retry claims it again', async () => {
    const config = storageConfig();
    const tables = await freshTables(config);
    const idempotency = new TableIdempotencyStore({
      table: tables.idempotency,
      chainTable: tables.audit,
      clock: Date.now,
      claimLeaseSeconds: 30,
      idempotencyTtlHours: 1,
    });
    const live = new TableAuditTrail({ table: tables.audit, clock: Date.now, leaseSeconds: 30 });
    const claimDeps = { idempotency, audit: live, derivedKeyTtlMinutes: 10 };
    const key = randomUUID();
    const first = await claim(claimDeps, command('req-1'), key, { lease: false });
    if (first.kind !== 'claimed') throw new Error(`expected claimed, got ${first.kind}`);

    // Storage is gone for the record, and the spool's directory has become a file: neither can keep it.
    const down = createTableClients(
      storageConfig({ connectionString: connectionStringFor('127.0.0.1', await closedPort()) }),
      unusedCredential,
      { maxRetries: 0, requestTimeoutMs: 300 },
    );
    const directory = join(tmpdir(), `spool-${randomUUID()}`);
    const spool = createAuditSpool(directory);
    rmSync(directory, { recursive: true, force: true });
    writeFileSync(directory, 'not a directory');
    const recordDeps = {
      audit: new TableAuditTrail({ table: down.audit, clock: Date.now, leaseSeconds: 30 }),
      spool,
      now: Date.now,
    };
    const outcome = await recordAndSettle(
      { claim: claimDeps, record: recordDeps },
      command('req-1'),
      { outcome: { kind: 'done', response: approved('req-1') }, correlationId: 'corr' },
      first.token,
    );
    expect(outcome).toMatchObject({ kind: 'done', recordPending: true });

    // The retry is not handed an answer: the key was given back, so it is claimed and decided again.
    const retry = await claim(claimDeps, command('req-2'), key, { lease: false });
    expect(retry.kind).toBe('claimed');
  });
});
