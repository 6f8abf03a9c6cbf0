import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import type { TestHost } from '../support/host.js';
import { AUDIENCE, LOGIC_APP_OID, startTestHost } from '../support/host.js';

/**
 * Discovery when its dependencies fail mid-scan: nothing found is lost, nothing is done twice. A channel that
 * could not be asked is asked on the next scan (and only it); an approval Resource Manager refused is retried by
 * the next scan with one PUT in all; a Resource Graph failure ends that query, and the next scan finds the rest.
 */

const SUB = '7e1f0000-0000-4000-8000-0000000fa017';
const TRUSTED = '3c3c3c3c-3c3c-4c3c-8c3c-3c3c3c3c3c3c';
const STRANGER = '4d4d4d4d-4d4d-4d4d-8d4d-4d4d4d4d4d4d';
const storage = `/subscriptions/${SUB}/resourceGroups/rg-faults/providers/Microsoft.Storage/storageAccounts/stfaults`;
const TRUSTED_ID = `${storage}/privateEndpointConnections/pe-trusted`;
const STRANGER_ID = `${storage}/privateEndpointConnections/pe-stranger`;

const pending = (name: string, consumer: string) => ({
  name,
  privateEndpointId: `/subscriptions/${consumer}/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/${name}`,
  status: 'Pending',
});
const seed = {
  subscriptions: [
    {
      subscriptionId: SUB,
      resourceGroups: [
        {
          name: 'rg-faults',
          resources: [
            {
              type: 'Microsoft.Storage/storageAccounts',
              name: 'stfaults',
              privateEndpointConnections: [pending('pe-trusted', TRUSTED), pending('pe-stranger', STRANGER)],
            },
          ],
        },
      ],
    },
  ],
};
const policy = `version: 1
rules:
  - name: trust
    decisions: [Approved]
    targets:
      - subscription: '${SUB}'
        resourceGroup: '*'
        type: '*'
        resource: '*'
    callers:
      - source: discovery
        ids: [scan]
    consumers:
      subscriptions: ['${TRUSTED}']
`;

let sandbox: Sandbox;
let app: TestHost;
let token: string;

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
  token = await sandbox.openId.issueToken({
    aud: AUDIENCE,
    oid: LOGIC_APP_OID,
    azp: LOGIC_APP_OID,
    roles: ['Discovery.Run'],
  });
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});

const scan = async () => {
  const answer = await app.post('/api/discovery/run', '', { authorization: `Bearer ${token}` });
  expect(answer.status, answer.text).toBe(200);
  return answer.json;
};

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
  sandbox.platforms.failNext('servicenow', 1);
  sandbox.faults.add({ method: 'PUT', pathIncludes: 'pe-trusted', kind: 'status', status: 500, times: 10 });
  const second = await scan();
  // The approval failed (Resource Manager refused the PUT): counted, and left for the next scan.
  expect(second).toMatchObject({ errors: 1, approved: 0, requested: 1 });
  expect(sandbox.connection(TRUSTED_ID)?.status).toBe('Pending');
  // ServiceNow was down when people were asked: Slack and Teams were asked, ServiceNow not yet.
  expect(sandbox.platforms.records()).toHaveLength(0);
  expect(sandbox.platforms.slackMessages()).toHaveLength(1);
});

it('the next scan approves what failed and asks only the channel that was missing', async () => {
  sandbox.faults.clear();
  const third = await scan();
  expect(third).toMatchObject({ errors: 0, approved: 1 });
  expect(sandbox.connection(TRUSTED_ID)?.status).toBe('Approved');
  const records = sandbox.platforms.records();
  expect(records).toHaveLength(1);
  expect(records[0]!.fields.u_private_endpoint_connection_id).toBe(STRANGER_ID);
  expect(sandbox.platforms.slackMessages()).toHaveLength(1);
  await scan();
  expect(sandbox.platforms.records()).toHaveLength(1);
  const successfulPuts = sandbox.requests().filter((r) => r.method === 'PUT' && r.status === 200);
  expect(successfulPuts).toHaveLength(1);
});
