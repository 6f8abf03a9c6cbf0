import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { discoveryRunner } from '../support/callers.js';
import type { TestHost } from '../support/host.js';
import { startTestHost } from '../support/host.js';
import { runScan, startEstate } from '../support/estate-host.js';
import { pendingConnection, TRUSTED, trustRule } from '../fixtures/discovery-estate.js';
import { act } from '../../src/discovery/act.js';
import { createLogger, silentSink } from '../../src/logger.js';
import { parseConnectionId } from '../../src/model/resource-id.js';
import { callContext, sandboxArmClient } from '../support/arm.js';

/**
 * Discovery approving a type whose write is long-running (SQL servers: a Location to poll) when the provider is
 * still applying it at the decision's deadline: the approval continues from the queue, waiting on the same
 * operation, and its record says how it ended, as a request's would. Ended at the deadline instead, the app's own
 * write was recorded as failed and the next scan took it for someone else's decision. One the provider ends
 * Failed is approved again by the next scan.
 */

const SUB = '7e1f0000-0000-4000-8000-00000001a0c5';
const server = (name: string) =>
  `/subscriptions/${SUB}/resourceGroups/rg-slow/providers/Microsoft.Sql/servers/${name}`;
const SLOW_ID = `${server('sqlslow')}/privateEndpointConnections/pe-slow`;
const OTHER_SUB = '7e1f0000-0000-4000-8000-00000001a0c6';
const LANDED_SUB = '7e1f0000-0000-4000-8000-00000001a0c7';
const LANDED_ID = `/subscriptions/${LANDED_SUB}/resourceGroups/rg-slow/providers/Microsoft.Sql/servers/sqllanded/privateEndpointConnections/pe-landed`;
const DIRECT_ID = `/subscriptions/${OTHER_SUB}/resourceGroups/rg-slow/providers/Microsoft.Sql/servers/sqldirect/privateEndpointConnections/pe-direct`;

let sandbox: Sandbox;
let app: TestHost;
let token: string;
let failedRequestId: string | undefined;
let policyPath: string;

beforeAll(async () => {
  const sqlServer = (name: string, connection: string) => ({
    type: 'Microsoft.Sql/servers',
    name,
    privateEndpointConnections: [pendingConnection(connection, TRUSTED)],
  });
  const subscription = (subscriptionId: string, server: string, connection: string) => ({
    subscriptionId,
    resourceGroups: [{ name: 'rg-slow', resources: [sqlServer(server, connection)] }],
  });
  const seed = {
    subscriptions: [
      subscription(SUB, 'sqlslow', 'pe-slow'),
      // Scanned by a host of its own (the last test).
      subscription(LANDED_SUB, 'sqllanded', 'pe-landed'),
      // Outside DISCOVERY_SCOPES: only the test that calls `act` itself touches it.
      subscription(OTHER_SUB, 'sqldirect', 'pe-direct'),
    ],
  };
  const direct = trustRule(OTHER_SUB).replace('name: trust', 'name: trust-direct');
  const landed = trustRule(LANDED_SUB).replace('name: trust', 'name: trust-landed');
  const policy = `version: 1\nrules:\n${trustRule(SUB)}${direct}${landed}`;
  // The decision's deadline is 600 ms; the operation needs 12 polls 100 ms apart.
  ({ sandbox, app, policyPath } = await startEstate(
    { SUB, seed, policy },
    { ARM_DEADLINE_MS: '600', ARM_POLL_INTERVAL_MS: '100' },
  ));
  token = await discoveryRunner(sandbox);
});
beforeEach(() => {
  sandbox.operations.settings.pollsBeforeDone = 12;
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});

const scan = () => runScan(app, token);

const puts = (id: string) =>
  sandbox.requests().filter((r) => r.method === 'PUT' && r.path.toLowerCase().startsWith(id.toLowerCase()));

async function rowOf(id: string): Promise<{ state: string; requestId?: string }> {
  const listed = await app.signedGet('/api/discovery');
  const rows = listed.json.connections as { connectionId: string; state: string; requestId?: string }[];
  const row = rows.find((r) => r.connectionId.toLowerCase() === id.toLowerCase());
  if (row === undefined) throw new Error(`no discovery row for ${id}`);
  return row;
}

/** The record once the queue has ended the work (GET answers `in-progress` until then). */
async function ended(requestId: string, host: TestHost = app): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const record = await host.signedGet(`/api/approvals/${requestId}`);
    if (record.status === 200 && record.json.outcome !== 'in-progress') return record.json;
    if (Date.now() > deadline) throw new Error(`still ${record.status} ${record.text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

it('a write the provider ends Failed after the deadline leaves the connection Pending, recorded failed', async () => {
  sandbox.operations.failNext('PrivateEndpointConnectionUpdateFailed');
  expect(await scan()).toMatchObject({ approved: 1, errors: 0, requested: 0 });
  const row = await rowOf(SLOW_ID);
  expect(row.state).toBe('approved');
  expect(await ended(row.requestId ?? '')).toMatchObject({ outcome: 'failed', source: 'discovery' });
  expect(sandbox.connection(SLOW_ID)?.status).toBe('Pending');
  expect(puts(SLOW_ID)).toHaveLength(1);
  failedRequestId = row.requestId;
});

it('the next scan approves it again; still running at the deadline, it continues and is recorded approved', async () => {
  expect(await scan()).toMatchObject({ approved: 1, errors: 0, requested: 0 });
  const row = await rowOf(SLOW_ID);
  expect(row.state).toBe('approved');
  expect(row.requestId).not.toBe(failedRequestId);
  expect(await ended(row.requestId ?? '')).toMatchObject({
    outcome: 'approved',
    source: 'discovery',
    previousStatus: 'Pending',
    newStatus: 'Approved',
  });
  expect(sandbox.connection(SLOW_ID)?.status).toBe('Approved');
  expect(puts(SLOW_ID)).toHaveLength(2);
  // The next scan finds nothing to do: no third write, nothing closed as someone else's decision.
  expect(await scan()).toMatchObject({ approved: 0, closed: 0, errors: 0 });
  expect((await rowOf(SLOW_ID)).state).toBe('approved');
  expect(puts(SLOW_ID)).toHaveLength(2);
});

it("a scan that meets its own approval still continuing from the queue keeps that approval's request id", async () => {
  if (!app.state.ok) throw new Error('the host did not start');
  const { deps } = app.state;
  const actDeps = { approval: deps.approval, now: deps.now, newId: () => randomUUID(), deadlineMs: 600 };
  const target = parseConnectionId(DIRECT_ID);
  const endpoint = sandbox.connection(DIRECT_ID)?.privateEndpointId ?? '';
  const description = 'Approved by policy rule trust: found Pending by discovery';
  const logger = createLogger({ level: 'error', sink: silentSink, now: Date.now });
  const first = await act(actDeps, target, endpoint, 'Approved', description, logger);
  expect(first.outcome.kind).toBe('accepted');
  // A scan that stopped before writing the row down meets the same decision again while it continues: the id it
  // keeps must be the one whose record will come, or the row would wait on a record that never does.
  const again = await act(actDeps, target, endpoint, 'Approved', description, logger);
  expect(again.outcome).toMatchObject({ kind: 'accepted', duplicate: true });
  expect(again.requestId).toBe(first.requestId);
  expect(puts(DIRECT_ID)).toHaveLength(1);
});

it('one recorded failed whose connection Resource Manager then shows Approved keeps its row approved, not closed', async () => {
  const other = await startTestHost(sandbox, {
    POLICY_PATH: policyPath,
    DISCOVERY_SCOPES: LANDED_SUB,
    ARM_DEADLINE_MS: '600',
    ARM_POLL_INTERVAL_MS: '100',
  });
  try {
    sandbox.operations.failNext('PrivateEndpointConnectionUpdateFailed');
    expect(await runScan(other, token)).toMatchObject({ approved: 1, errors: 0 });
    const row = (await other.signedGet('/api/discovery')).json.connections as { requestId: string }[];
    expect(await ended(row[0]?.requestId ?? '', other)).toMatchObject({ outcome: 'failed' });
    // The change lands after all (or was applied meanwhile), while Resource Graph still lists it Pending.
    sandbox.resourceGraph.freeze();
    sandbox.operations.settings.pollsBeforeDone = 0;
    await sandboxArmClient(sandbox).updateConnectionState(
      parseConnectionId(LANDED_ID),
      { status: 'Approved', description: 'landed' },
      callContext(),
    );
    expect(await runScan(other, token)).toMatchObject({ approved: 0, closed: 0, errors: 0 });
    const after = (await other.signedGet('/api/discovery')).json.connections as { state: string }[];
    expect(after[0]?.state).toBe('approved');
  } finally {
    sandbox.resourceGraph.thaw();
    await other.host.close();
  }
});
