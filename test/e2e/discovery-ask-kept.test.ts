import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHttpHeaders } from '@azure/core-rest-pipeline';
import type { PipelineRequest, SendRequest } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { discoveryRunner } from '../support/callers.js';
import type { TestHost } from '../support/host.js';
import { startTestHost } from '../support/host.js';
import { runScan } from '../support/estate-host.js';
import { oneResourceSeed, pendingConnection, STRANGER } from '../fixtures/discovery-estate.js';

/**
 * Where people were asked is kept as each channel takes the request, not only once every channel was tried: when
 * the scan's last write of the row fails (storage refusing it, or the process stopping first), the channels that
 * took it are not asked again by the next scan. Written only at the end, they all were: a second ServiceNow record
 * and a second Slack message.
 */

const SUB = '7e1f0000-0000-4000-8000-0000000a5c01';
const ID = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/stx/privateEndpointConnections/pe-x`;
let sandbox: Sandbox;
let app: TestHost;
let refused = 0;

/** Storage refuses (503) every write of a discovery row that ends an ask (it gives the row's hold back). */
const refuseAskEnd = {
  name: 'refuse-ask-end',
  async sendRequest(request: PipelineRequest, next: SendRequest) {
    const body = typeof request.body === 'string' ? request.body : '';
    if (request.url.includes('Discovery') && body.includes('"asked"') && body.includes('"busyUntil"')) {
      refused += 1;
      const error = '{"odata.error":{"code":"ServerBusy","message":{"value":"busy"}}}';
      return { request, status: 503, headers: createHttpHeaders(), bodyAsText: error };
    }
    return next(request);
  },
};

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pla-ask-kept-'));
  const seed = oneResourceSeed(SUB, 'rg', { type: 'Microsoft.Storage/storageAccounts', name: 'stx' }, [
    pendingConnection('pe-x', STRANGER),
  ]);
  writeFileSync(join(dir, 'seed.json'), JSON.stringify(seed));
  writeFileSync(join(dir, 'policy.yaml'), 'version: 1\nrules: []\n');
  sandbox = await startSandbox({ seedPath: join(dir, 'seed.json') });
  app = await startTestHost(
    sandbox,
    { POLICY_PATH: join(dir, 'policy.yaml'), DISCOVERY_SCOPES: SUB, DISCOVERY_SLACK_CHANNEL: 'C0KEPT0001' },
    { storagePolicies: [refuseAskEnd] },
  );
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});

it("keeps each channel that took the request, though the ask's last write failed", async () => {
  const token = await discoveryRunner(sandbox);
  // The last write is tried again and still refused: the scan counts it an error.
  expect(await runScan(app, token)).toMatchObject({ errors: 1 });
  expect(refused).toBeGreaterThan(1);
  expect(sandbox.platforms.records()).toHaveLength(1);
  expect(sandbox.platforms.slackMessages()).toHaveLength(1);
  const listed = await app.signedGet('/api/discovery');
  const row = (listed.json.connections as Record<string, unknown>[]).find((r) => r.connectionId === ID);
  expect(row).toMatchObject({ state: 'requested' });
  const asked = row?.asked as Record<string, unknown> | undefined;
  expect(asked?.servicenow).toEqual({ sysId: expect.any(String) });
  expect(asked?.slack).toMatchObject({ channel: 'C0KEPT0001' });
  expect(row?.askedAt).toEqual(expect.any(String));
});
