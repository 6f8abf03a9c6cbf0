import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { parseConnectionId } from '../../src/model/resource-id.js';
import { callContext, sandboxArmClient } from '../support/arm.js';
import { discoveryRunner } from '../support/callers.js';
import type { TestHost } from '../support/host.js';
import { startEstate } from '../support/estate-host.js';
import { faultsEstate } from '../fixtures/discovery-faults.js';

/**
 * Resource Graph lags behind Resource Manager by minutes: a connection it still lists as Pending that was decided
 * meanwhile (in the portal) is neither asked about nor counted as approved by discovery. Its row closes with what
 * Resource Manager shows, at the first scan that meets it.
 */

const estate = faultsEstate('7e1f0000-0000-4000-8000-00000010a9e1');

let sandbox: Sandbox;
let app: TestHost;

beforeAll(async () => {
  ({ sandbox, app } = await startEstate(estate, { DISCOVERY_SLACK_CHANNEL: 'C0LAGGED01' }));
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});

it('a connection decided after Resource Graph listed it Pending is closed, not asked about or approved', async () => {
  sandbox.resourceGraph.freeze();
  const arm = sandboxArmClient(sandbox);
  // One the policy trusts and one it does not, both approved in the portal after Resource Graph's snapshot.
  for (const id of [estate.TRUSTED_ID, estate.STRANGER_ID]) {
    await arm.updateConnectionState(
      parseConnectionId(id),
      { status: 'Approved', description: 'approved in the portal' },
      callContext(),
    );
  }
  const runner = await discoveryRunner(sandbox);
  const answer = await app.post('/api/discovery/run', '', { authorization: runner });
  sandbox.resourceGraph.thaw();
  expect(answer.status, answer.text).toBe(200);
  // The two still Pending in the estate are asked about; the two decided meanwhile are closed.
  expect(answer.json).toMatchObject({ pending: 4, approved: 0, requested: 2, closed: 2 });
  const asked = sandbox.platforms.slackMessages().map((m) => JSON.stringify(m));
  expect(asked.some((m) => m.includes('pe-stranger'))).toBe(false);
  expect(sandbox.requests().filter((r) => r.method === 'PUT')).toHaveLength(2);
  const listed = await app.signedGet('/api/discovery');
  const rows = listed.json.connections as { connectionId: string; state: string; closedWhy?: string }[];
  for (const id of [estate.TRUSTED_ID, estate.STRANGER_ID])
    expect(rows.find((r) => r.connectionId === id)).toMatchObject({
      state: 'closed',
      closedWhy: 'is now Approved',
    });
});
