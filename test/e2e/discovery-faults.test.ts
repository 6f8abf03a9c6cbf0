import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { discoveryRunner } from '../support/callers.js';
import type { TestHost } from '../support/host.js';
import { startTestHost } from '../support/host.js';
import { runScan } from '../support/estate-host.js';
import { callContext, sandboxArmClient } from '../support/arm.js';
import { parseConnectionId } from '../../src/model/resource-id.js';
import { faultsEstate } from '../fixtures/discovery-faults.js';

/**
 * Discovery when its dependencies fail mid-scan: nothing found is lost, nothing is done twice. A channel that
 * could not be asked is asked on the next scan (and only it); an approval Resource Manager refused is retried by
 * the next scan with one PUT in all; a Resource Graph failure ends that query, and the next scan finds the rest.
 */

const { SUB, TRUSTED_ID, STRANGER_ID, LAGGED_ID, UNASKED_ID, EXPIRE_MS, seed, policy } = faultsEstate(
  '7e1f0000-0000-4000-8000-0000000fa017',
);

let sandbox: Sandbox;
let app: TestHost;
let token: string;
let firstSeen = 0;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pla-discovery-faults-'));
  writeFileSync(join(dir, 'seed.json'), JSON.stringify(seed));
  writeFileSync(join(dir, 'policy.yaml'), policy);
  sandbox = await startSandbox({ seedPath: join(dir, 'seed.json') });
  app = await startTestHost(sandbox, {
    POLICY_PATH: join(dir, 'policy.yaml'),
    DISCOVERY_SCOPES: SUB,
    DISCOVERY_SLACK_CHANNEL: 'C0FAULTS01',
    ARM_MAX_RETRIES: '0',
  });
  token = await discoveryRunner(sandbox);
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});

const scan = () => runScan(app, token);

it('Resource Graph down: the scan ends with the error counted and does nothing; the next one does it all', async () => {
  sandbox.faults.add({
    method: 'POST',
    pathIncludes: 'Microsoft.ResourceGraph',
    kind: 'status',
    status: 503,
    times: 10,
  });
  // Both queries fail (connections listed in resource bodies, and the resources whose connections are read).
  expect(await scan()).toMatchObject({ errors: 2, connections: 0, approved: 0, requested: 0 });
  sandbox.faults.clear();
  sandbox.platforms.failNext('servicenow', 100);
  sandbox.faults.add({ method: 'PUT', pathIncludes: 'pe-trusted', kind: 'status', status: 500, times: 10 });
  const second = await scan();
  // The approval failed (Resource Manager refused the PUT): counted, and left for the next scan.
  expect(second).toMatchObject({ errors: 1, approved: 0, requested: 3 });
  expect(sandbox.connection(TRUSTED_ID)?.status).toBe('Pending');
  // ServiceNow was down when people were asked: Slack and Teams were asked, ServiceNow not yet.
  expect(sandbox.platforms.records()).toHaveLength(0);
  expect(sandbox.platforms.slackMessages()).toHaveLength(3);
  firstSeen = Date.now();
});

it('the next scan approves what failed and asks only the channel that was missing', async () => {
  sandbox.faults.clear();
  sandbox.platforms.failNext('servicenow', 0);
  const third = await scan();
  expect(third).toMatchObject({ errors: 0, approved: 1 });
  expect(sandbox.connection(TRUSTED_ID)?.status).toBe('Approved');
  const records = sandbox.platforms.records();
  expect(records.map((r) => r.fields.u_private_endpoint_connection_id).sort()).toEqual(
    [LAGGED_ID, STRANGER_ID, UNASKED_ID].sort(),
  );
  expect(sandbox.platforms.slackMessages()).toHaveLength(3);
  await scan();
  expect(sandbox.platforms.records()).toHaveLength(3);
  const successfulPuts = sandbox.requests().filter((r) => r.method === 'PUT' && r.status === 200);
  expect(successfulPuts).toHaveLength(1);
});

it("an expiry never rejects what someone approved after Resource Graph's answer (it lags): that decision stands", async () => {
  // Resource Graph still lists pe-lagged as Pending; meanwhile an approver approves it in the portal.
  sandbox.resourceGraph.freeze();
  await sandboxArmClient(sandbox).updateConnectionState(
    parseConnectionId(LAGGED_ID),
    { status: 'Approved', description: 'approved in the portal' },
    callContext(),
  );
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstSeen + EXPIRE_MS + 300 - Date.now())));
  await scan();
  sandbox.resourceGraph.thaw();
  expect(sandbox.connection(LAGGED_ID)?.status).toBe('Approved');
  const puts = sandbox
    .requests()
    .filter((r) => r.method === 'PUT' && r.path.toLowerCase() === LAGGED_ID.toLowerCase());
  expect(puts).toHaveLength(1);
  // The one nobody decided was rejected by the expiry.
  expect(sandbox.connection(UNASKED_ID)?.status).toBe('Rejected');
  const listed = await app.signedGet('/api/discovery');
  const rows = listed.json.connections as { connectionId: string; state: string; closedWhy?: string }[];
  expect(rows.find((r) => r.connectionId === LAGGED_ID)).toMatchObject({
    state: 'closed',
    closedWhy: 'is now Approved',
  });
  expect(rows.find((r) => r.connectionId === UNASKED_ID)?.state).toBe('expired');
});
