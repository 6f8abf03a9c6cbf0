import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { discoveryRunner } from '../support/callers.js';
import type { TestHost } from '../support/host.js';
import { startEstate } from '../support/estate-host.js';
import { faultsEstate } from '../fixtures/discovery-faults.js';

/**
 * Discovery with no channel to ask people on (no Slack channel, no ServiceNow instance, no Teams workflow URL in
 * Key Vault): a connection nobody could be asked about is still "requested", so the policy's expiry rejects it
 * rather than leaving it Pending for ever; nobody is "reminded" of it, and every channel is tried again at each
 * scan. Its own file: the managed-identity token cache is per process.
 */

const TEAMS_SECRET = 'no-teams-workflow-here';
const estate = faultsEstate('7e1f0000-0000-4000-8000-00000010a2e1');

let sandbox: Sandbox;
let app: TestHost;

beforeAll(async () => {
  ({ sandbox, app } = await startEstate(estate, {
    SERVICENOW_INSTANCE_URL: '',
    TEAMS_WORKFLOW_URL_SECRET_NAME: TEAMS_SECRET,
    // About a second: a reminder would be due at every scan after the first.
    DISCOVERY_REMIND_AFTER_HOURS: '0.0003',
    SECRET_CACHE_TTL_SECONDS: '0',
  }));
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
  // Past the reminder's time: with nobody asked there is no one to remind, and each scan counts the three again.
  await until(started + 1_500);
  expect(await run()).toMatchObject({ reminded: 0, requested: 0, errors: 3 });
  expect(sandbox.platforms.teamsPosts()).toHaveLength(0);
  await until(started + estate.EXPIRE_MS + 500);
  // The two a rule lets expire are rejected; the third is still nobody's, and counted so.
  expect(await run()).toMatchObject({ expired: 2, reminded: 0, errors: 1 });
  expect(sandbox.connection(estate.UNASKED_ID)?.status).toBe('Rejected');
  expect(sandbox.connection(estate.LAGGED_ID)?.status).toBe('Rejected');
  expect(sandbox.connection(estate.STRANGER_ID)?.status).toBe('Pending');
  expect(sandbox.connection(estate.TRUSTED_ID)?.status).toBe('Approved');
  const listed = await app.signedGet('/api/discovery');
  const rows = listed.json.connections as { connectionId: string; state: string }[];
  expect(rows.find((r) => r.connectionId === estate.STRANGER_ID)?.state).toBe('requested');

  // The Teams workflow URL appears in Key Vault: the next scan asks there, and a later one reminds there. (A
  // secret found missing is not looked for again for 5 s.)
  sandbox.keyVault.setSecret(TEAMS_SECRET, `${sandbox.armEndpoint}/_teams/workflow`);
  await until(Date.now() + 5_100);
  await run();
  const askedAt = Date.now();
  const asked = sandbox.platforms.teamsPosts().map((post) => JSON.stringify(post.body));
  expect(asked.filter((text) => text.includes(estate.STRANGER_ID))).toHaveLength(1);
  // Long since first seen, but people heard of it only now: no reminder until the reminder's time has passed again.
  expect(await run()).toMatchObject({ reminded: 0, errors: 0 });
  const row = ((await app.signedGet('/api/discovery')).json.connections as Record<string, unknown>[]).find(
    (r) => r.connectionId === estate.STRANGER_ID,
  );
  expect(Date.parse(String(row?.askedAt))).toBeGreaterThan(Date.parse(String(row?.firstSeenAt)));
  await until(askedAt + 1_500);
  // Teams fails the reminder: it is not spent, and the next scan reminds.
  sandbox.platforms.failNext('teams', 1);
  expect(await run()).toMatchObject({ reminded: 0, errors: 1 });
  const given = (await app.signedGet('/api/discovery')).json.connections as Record<string, unknown>[];
  const back = given.find((r) => r.connectionId === estate.STRANGER_ID);
  expect(back?.state).toBe('requested');
  expect(back?.remindedAt).toBeUndefined();
  expect(await run()).toMatchObject({ reminded: 1 });
  const last = JSON.stringify(sandbox.platforms.teamsPosts().at(-1)?.body);
  expect(last).toContain('Reminder');
  expect(last).toContain(estate.STRANGER_ID);
});

const until = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
