import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { discoveryRunner } from '../support/callers.js';
import type { TestHost } from '../support/host.js';
import { runScan, startEstate } from '../support/estate-host.js';
import { oneResourceSeed, pendingConnection, STRANGER } from '../fixtures/discovery-estate.js';

/**
 * A policy's expiry rejecting a connection whose write is long-running (SQL servers: a Location to poll), with
 * the provider still applying it at the decision's deadline: the rejection continues from the queue, and the scan
 * counts it expired, keeps its request id and tells people, once. Taken for a failure, the row went back to
 * `requested`, every scan counted an error, and the request closed as decided by someone else.
 */

const SUB = '7e1f0000-0000-4000-8000-00000001e0c9';
const ID = `/subscriptions/${SUB}/resourceGroups/rg-x/providers/Microsoft.Sql/servers/sqlx/privateEndpointConnections/pe-x`;
// About 1.7 s.
const EXPIRE_DAYS = 0.00002;

let sandbox: Sandbox;
let app: TestHost;
let token: string;

beforeAll(async () => {
  const seed = oneResourceSeed(SUB, 'rg-x', { type: 'Microsoft.Sql/servers', name: 'sqlx' }, [
    pendingConnection('pe-x', STRANGER),
  ]);
  const policy = [
    'version: 1',
    'rules:',
    '  - name: expire',
    '    decisions: [Rejected]',
    `    expireAfterDays: ${EXPIRE_DAYS}`,
    '    targets:',
    `      - { subscription: '${SUB}', resourceGroup: '*', type: '*', resource: '*' }`,
    '    callers:',
    '      - { source: discovery, ids: [scan] }',
    '',
  ].join('\n');
  // The decision's deadline is 600 ms; the operation needs 12 polls 100 ms apart.
  ({ sandbox, app } = await startEstate(
    { SUB, seed, policy },
    { ARM_DEADLINE_MS: '600', ARM_POLL_INTERVAL_MS: '100', DISCOVERY_SLACK_CHANNEL: 'C0EXPIRE01' },
  ));
  token = await discoveryRunner(sandbox);
  sandbox.operations.settings.pollsBeforeDone = 12;
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});

async function rowOf(id: string): Promise<Record<string, unknown> | undefined> {
  const listed = await app.signedGet('/api/discovery');
  return (listed.json.connections as Record<string, unknown>[]).find((r) => r.connectionId === id);
}

it('an expiry whose rejection continues from the queue is expired, once, not a failure', async () => {
  const started = Date.now();
  expect(await runScan(app, token)).toMatchObject({ requested: 1, errors: 0 });
  await new Promise((resolve) => setTimeout(resolve, started + EXPIRE_DAYS * 86_400_000 + 300 - Date.now()));

  expect(await runScan(app, token)).toMatchObject({ expired: 1, errors: 0 });
  const expired = await rowOf(ID);
  expect(expired).toMatchObject({ state: 'expired', rule: 'expire' });
  expect(expired?.requestId).toEqual(expect.any(String));
  const closing = sandbox.platforms.slackMessages().filter((m) => JSON.stringify(m).includes('was rejected'));
  expect(closing).toHaveLength(1);

  // While the operation runs the connection is still Pending: later scans leave the row as it is.
  expect(await runScan(app, token)).toMatchObject({ expired: 0, closed: 0, errors: 0 });
  for (let i = 0; i < 100 && sandbox.connection(ID)?.status !== 'Rejected'; i++)
    await new Promise((resolve) => setTimeout(resolve, 100));
  expect(sandbox.connection(ID)?.status).toBe('Rejected');
  expect(await runScan(app, token)).toMatchObject({ errors: 0 });
  expect(await rowOf(ID)).toMatchObject({ state: 'expired', requestId: expired?.requestId });
  const puts = sandbox.requests().filter((r) => r.method === 'PUT' && r.path.startsWith(ID));
  expect(puts).toHaveLength(1);
  expect(
    sandbox.platforms.slackMessages().filter((m) => JSON.stringify(m).includes('was rejected')),
  ).toHaveLength(1);
});
