import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { discoveryRunner } from '../support/callers.js';
import type { TestHost } from '../support/host.js';
import { startTestHost } from '../support/host.js';
import { faultsEstate } from '../fixtures/discovery-faults.js';

/**
 * Discovery with no channel to ask people on (no Slack channel, no ServiceNow instance, no Teams workflow URL in
 * Key Vault): a connection nobody could be asked about is still "requested", so the policy's expiry rejects it
 * rather than leaving it Pending for ever. Its own file: the managed-identity token cache is per process.
 */

const estate = faultsEstate('7e1f0000-0000-4000-8000-00000010a2e1');

let sandbox: Sandbox;
let app: TestHost;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pla-discovery-unasked-'));
  writeFileSync(join(dir, 'seed.json'), JSON.stringify(estate.seed));
  writeFileSync(join(dir, 'policy.yaml'), estate.policy);
  sandbox = await startSandbox({ seedPath: join(dir, 'seed.json') });
  app = await startTestHost(sandbox, {
    POLICY_PATH: join(dir, 'policy.yaml'),
    DISCOVERY_SCOPES: estate.SUB,
    SERVICENOW_INSTANCE_URL: '',
    TEAMS_WORKFLOW_URL_SECRET_NAME: 'no-teams-workflow-here',
  });
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});

it('a connection no channel took is still requested, so its expiry applies', async () => {
  const runner = await discoveryRunner(sandbox);
  const run = async () => {
    const answer = await app.post('/api/discovery/run', '', { authorization: runner });
    expect(answer.status, answer.text).toBe(200);
    return answer.json;
  };
  const started = Date.now();
  // Three connections nobody could be asked about: each an error, none counted as requested.
  expect(await run()).toMatchObject({ approved: 1, requested: 0, errors: 3 });
  expect(sandbox.platforms.slackMessages()).toHaveLength(0);
  expect(sandbox.platforms.records()).toHaveLength(0);
  await new Promise((resolve) =>
    setTimeout(resolve, Math.max(0, started + estate.EXPIRE_MS + 500 - Date.now())),
  );
  expect(await run()).toMatchObject({ expired: 2 });
  expect(sandbox.connection(estate.UNASKED_ID)?.status).toBe('Rejected');
  expect(sandbox.connection(estate.LAGGED_ID)?.status).toBe('Rejected');
  expect(sandbox.connection(estate.STRANGER_ID)?.status).toBe('Pending');
  expect(sandbox.connection(estate.TRUSTED_ID)?.status).toBe('Approved');
  const listed = await app.signedGet('/api/discovery');
  const rows = listed.json.connections as { connectionId: string; state: string }[];
  expect(rows.find((r) => r.connectionId === estate.STRANGER_ID)?.state).toBe('requested');
});
