import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { discoveryRunner } from '../support/callers.js';
import type { TestHost } from '../support/host.js';
import { runScan, startEstate } from '../support/estate-host.js';
import { oneResourceSeed, pendingConnection, STRANGER, trustRule } from '../fixtures/discovery-estate.js';

/**
 * A scan with more to do than DISCOVERY_SCAN_BUDGET_SECONDS allows (here Resource Manager slow on every read):
 * once the budget is spent it acts on no more connections, counts them as errors and closes nothing, so the next
 * scheduled scan starts on time and goes on from there.
 */

const SUB = '7e1f0000-0000-4000-8000-0000000b0d6e';
const NAMES = Array.from({ length: 6 }, (_, i) => `pe-${i}`);
let sandbox: Sandbox;
let app: TestHost;
let token: string;

beforeAll(async () => {
  const seed = oneResourceSeed(
    SUB,
    'rg',
    { type: 'Microsoft.Storage/storageAccounts', name: 'stbudget' },
    NAMES.map((name) => pendingConnection(name, STRANGER)),
  );
  ({ sandbox, app } = await startEstate(
    // A rule for the discovery caller (trusting other consumers): each connection is read before people are asked.
    { SUB, seed, policy: `version: 1\nrules:\n${trustRule(SUB)}` },
    { DISCOVERY_SLACK_CHANNEL: 'C0BUDGET01', DISCOVERY_SCAN_BUDGET_SECONDS: '2' },
  ));
  token = await discoveryRunner(sandbox);
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});

it('acts until its budget is spent, leaves the rest counted for the next scan, and the next scan does it', async () => {
  sandbox.faults.add({
    method: 'GET',
    pathIncludes: 'privateEndpointConnections/pe-',
    kind: 'latency',
    latencyMs: 700,
    times: 1_000,
  });
  const first = await runScan(app, token);
  const asked = sandbox.platforms.slackMessages().length;
  expect(first).toMatchObject({ pending: 6, requested: asked, closed: 0 });
  expect(asked).toBeGreaterThan(0);
  expect(asked).toBeLessThan(6);
  expect(first.errors).toBe(6 - asked);

  sandbox.faults.clear();
  expect(await runScan(app, token)).toMatchObject({ pending: 6, errors: 0, requested: 6 - asked });
  expect(sandbox.platforms.slackMessages()).toHaveLength(6);
});
