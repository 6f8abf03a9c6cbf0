import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Azurite } from '../../dev/azurite.js';
import { startAzurite } from '../../dev/azurite.js';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { CLUSTER1, EXAMPLE_ID, PENDING_2 } from '../support/arm.js';
import type { ChildHost } from '../support/child-host.js';
import { signedGet, signedRequest, startChildHost } from '../support/child-host.js';
import type { TestResponse } from '../support/host.js';
import { eventually as poll } from '../support/eventually.js';

/**
 * Dependencies failing under a running host: storage killed and restarted empty, Key Vault and Resource Manager
 * failing. The host recovers without a restart, says what is degraded while it lasts, and loses no record.
 */

const PENDING_3 = `${CLUSTER1}/privateEndpointConnections/PE-Pending-3.MixedCase`;
let sandbox: Sandbox;
let azurite: Azurite | undefined;
let host: ChildHost;
const spool = mkdtempSync(join(tmpdir(), 'approver-spool-'));

/** The whole storage account, tables and queue, comes back empty on the ports it had. */
async function restartAzurite(ports: { tablePort: number; queuePort: number }): Promise<void> {
  azurite = await startAzurite(ports);
}

const portsOf = (a: Azurite): { tablePort: number; queuePort: number } => ({
  tablePort: a.table.port,
  queuePort: a.queue.port,
});

beforeAll(async () => {
  sandbox = await startSandbox();
  azurite = await startAzurite();
  host = await startChildHost(sandbox, 'faults', {
    AzureWebJobsStorage: azurite.connectionString,
    AUDIT_SPOOL_DIR: spool,
    AUDIT_SPOOL_FLUSH_SECONDS: '1',
    SECRET_CACHE_TTL_SECONDS: '1',
    HEALTH_STALE_SECONDS: '600',
  });
});
afterAll(async () => {
  await host?.kill();
  await azurite?.stop();
  await sandbox?.close();
  rmSync(spool, { recursive: true, force: true });
});
afterEach(() => sandbox.faults.clear());

const approve = (connectionId: string): Promise<TestResponse> =>
  signedRequest(`${host.url}/api/approvals`, sandbox.devSecrets.generic, {
    connectionId,
    decision: 'Approved',
  });

async function health(): Promise<{
  status: string;
  checks: Record<string, { state?: string; reason?: string }>;
}> {
  const res = await fetch(`${host.url}/api/health`);
  expect(res.status).toBe(200);
  return (await res.json()) as { status: string; checks: Record<string, { state?: string }> };
}

/** Polled every 250 ms. */
function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  return poll(probe, done, 20_000, 250);
}

describe('storage', () => {
  it('killed and restarted empty on the same port: degraded while down, recovered without a restart', async () => {
    sandbox.reset();
    const ok = await approve(PENDING_2);
    expect(ok.status, ok.text).toBe(200);
    expect((await health()).checks.storage?.state).toBe('ok');

    const ports = portsOf(azurite!);
    await azurite!.stop();
    const down = await approve(EXAMPLE_ID);
    expect(down.status).toBe(503);
    expect(sandbox.counts().arm.PUT).toBe(1);
    const during = await health();
    expect(during.status).toBe('degraded');
    expect(during.checks.storage?.state).toBe('degraded');

    await restartAzurite(ports);
    const back = await approve(EXAMPLE_ID);
    expect(back.status, back.text).toBe(200);
    expect(back.json.outcome).toBe('approved');
    expect((await health()).checks.storage?.state).toBe('ok');
  });

  it('approvals whose record cannot be written when their PUT lands are kept and recorded once storage returns', async () => {
    sandbox.reset();
    // Warm up: token, secrets and tables, so the approvals below reach their PUT together.
    expect((await approve(PENDING_3)).status).toBe(200);
    sandbox.reset();
    sandbox.faults.add({ method: 'PUT', kind: 'latency', latencyMs: 1500, times: Infinity });
    const inFlight = [EXAMPLE_ID, PENDING_2, PENDING_3].map((id) => approve(id));
    await eventually(
      async () => sandbox.counts().arm.PUT,
      (puts) => puts === 3,
    );
    const ports = portsOf(azurite!);
    await azurite!.stop();
    const answers = await Promise.all(inFlight);
    for (const res of answers) {
      expect(res.status, res.text).toBe(200);
      expect(res.json.outcome).toBe('approved');
      expect(res.headers.get('audit-record')).toBe('pending');
    }
    await restartAzurite(ports);
    for (const res of answers) {
      const id = res.headers.get('x-request-id')!;
      const record = await eventually(
        () => signedGet(`${host.url}/api/approvals/${id}`, sandbox.devSecrets.generic),
        (r) => r.status === 200,
      );
      expect(record.status, `record of ${id}`).toBe(200);
      expect(record.json).toMatchObject({ requestId: id, outcome: 'approved', previousStatus: 'Pending' });
    }
  });
});

describe('Key Vault and Resource Manager', () => {
  it('Resource Manager failing: accepted, shown as degraded, finished and ok again once it answers', async () => {
    sandbox.reset();
    sandbox.faults.add({ kind: 'status', status: 503, times: Infinity });
    const accepted = await approve(EXAMPLE_ID);
    expect(accepted.status, accepted.text).toBe(202);
    const during = await health();
    expect(during.status).toBe('degraded');
    expect(during.checks.arm?.state).toBe('degraded');
    sandbox.faults.clear();
    const location = accepted.headers.get('location')!;
    const done = await eventually(
      () => signedGet(location, sandbox.devSecrets.generic),
      (r) => r.status !== 202,
    );
    expect(done.status, done.text).toBe(200);
    expect(done.json.outcome).toBe('approved');
    expect((await health()).checks.arm?.state).toBe('ok');
  });

  it('Key Vault failing shows as degraded, and ok again once it answers', async () => {
    sandbox.reset();
    await new Promise((r) => setTimeout(r, 1100)); // the 1 s secret cache runs out
    sandbox.keyVault.faults.unavailable = true;
    const failed = await approve(EXAMPLE_ID);
    expect(failed.status).toBe(503);
    const during = await health();
    expect(during.checks.keyVault?.state).toBe('degraded');
    sandbox.keyVault.faults.unavailable = false;
    const back = await eventually(
      () => approve(PENDING_2),
      (r) => r.status === 200,
    );
    expect(back.status).toBe(200);
    expect((await health()).checks.keyVault?.state).toBe('ok');
  });
});
