import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import type { TestHost } from '../support/host.js';
import { runScan, startStrangersEstate } from '../support/estate-host.js';

/**
 * A scan with more to do than DISCOVERY_SCAN_BUDGET_SECONDS allows (here Resource Manager slow on every read):
 * once its share of the budget for acting is spent it acts on no more connections and counts them as errors, so
 * the next scheduled scan starts on time and goes on from there.
 */

const SUB = '7e1f0000-0000-4000-8000-0000000b0d6e';
const NAMES = Array.from({ length: 6 }, (_, i) => `pe-${i}`);
let sandbox: Sandbox;
let app: TestHost;
let token: string;

beforeAll(async () => {
  ({ sandbox, app, token } = await startStrangersEstate(SUB, NAMES, {
    DISCOVERY_SLACK_CHANNEL: 'C0BUDGET01',
    DISCOVERY_SCAN_BUDGET_SECONDS: '3',
  }));
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
    latencyMs: 1_000,
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
