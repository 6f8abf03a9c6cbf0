import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import type { TestHost } from '../support/host.js';
import { runScan, startStrangersEstate } from '../support/estate-host.js';

/**
 * Resource Manager down while a scan acts: after five connections in a row fail for that, the scan stops acting
 * on more (each would wait out its whole deadline for nothing, and a scan over hundreds would run for hours),
 * counts the rest as errors and closes nothing; the next scan, with Resource Manager back, does it all.
 */

const SUB = '7e1f0000-0000-4000-8000-0000000a0e7a';
const NAMES = Array.from({ length: 8 }, (_, i) => `pe-${i}`);
let sandbox: Sandbox;
let app: TestHost;
let token: string;

beforeAll(async () => {
  ({ sandbox, app, token } = await startStrangersEstate(SUB, NAMES, {
    DISCOVERY_SLACK_CHANNEL: 'C0OUTAGE01',
    ARM_MAX_RETRIES: '0',
  }));
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});

it('stops acting after five connections in a row find Resource Manager unavailable; the next scan does it all', async () => {
  sandbox.faults.add({
    method: 'GET',
    pathIncludes: 'privateEndpointConnections/pe-',
    kind: 'status',
    status: 503,
    times: 1_000,
  });
  expect(await runScan(app, token)).toMatchObject({ pending: 8, errors: 8, requested: 0, closed: 0 });
  const read = new Set(
    sandbox
      .requests()
      .filter((r) => r.method === 'GET' && r.path.includes('privateEndpointConnections/pe-'))
      .map((r) => r.path.split('?')[0]),
  );
  expect(read.size).toBe(5);
  expect(sandbox.platforms.slackMessages()).toHaveLength(0);

  sandbox.faults.clear();
  expect(await runScan(app, token)).toMatchObject({ pending: 8, errors: 0, requested: 8 });
  expect(sandbox.platforms.slackMessages()).toHaveLength(8);
});
