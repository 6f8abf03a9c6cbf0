import { randomUUID } from 'node:crypto';
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
import { pendingConnection, TRUSTED, trustRule } from '../fixtures/discovery-estate.js';

/**
 * An approval by discovery that failed, then a policy whose trusting rule has another name (a redeploy): the
 * next scan approves the connection. Its description names the rule, and the key it was claimed under stays
 * bound to what it first said for IDEMPOTENCY_TTL_HOURS, so the key must follow what the decision says, or the
 * scan is answered 422 and the connection waits, neither approved nor asked about, for days.
 */

const SUB = '7e1f0000-0000-4000-8000-0000000e4a3e';
const ID = `/subscriptions/${SUB}/resourceGroups/rg-rename/providers/Microsoft.Storage/storageAccounts/strename/privateEndpointConnections/pe-rename`;
const tablePrefix = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;

let sandbox: Sandbox;
let dir: string;
const hosts: TestHost[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pla-discovery-rename-'));
  const seed = {
    subscriptions: [
      {
        subscriptionId: SUB,
        resourceGroups: [
          {
            name: 'rg-rename',
            resources: [
              {
                type: 'Microsoft.Storage/storageAccounts',
                name: 'strename',
                privateEndpointConnections: [pendingConnection('pe-rename', TRUSTED)],
              },
            ],
          },
        ],
      },
    ],
  };
  writeFileSync(join(dir, 'seed.json'), JSON.stringify(seed));
  sandbox = await startSandbox({ seedPath: join(dir, 'seed.json') });
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.host.close()));
  await sandbox?.close();
});

/** A host on the shared tables whose policy trusts the consumer under the rule `name`. */
async function hostWithRule(name: string): Promise<TestHost> {
  const policy = join(dir, `${name}.yaml`);
  writeFileSync(policy, `version: 1\nrules:\n${trustRule(SUB).replace('name: trust', `name: ${name}`)}`);
  const host = await startTestHost(sandbox, {
    POLICY_PATH: policy,
    DISCOVERY_SCOPES: SUB,
    ARM_MAX_RETRIES: '0',
    TABLE_PREFIX: tablePrefix,
  });
  hosts.push(host);
  return host;
}

const scan = async (host: TestHost) => runScan(host, await discoveryRunner(sandbox));

it('a failed approval, then the trusting rule renamed: the next scan approves the connection', async () => {
  const before = await hostWithRule('trust-landing-zones');
  sandbox.faults.add({ method: 'PUT', pathIncludes: 'pe-rename', kind: 'status', status: 500, times: 1 });
  expect(await scan(before)).toMatchObject({ approved: 0, errors: 1 });
  expect(sandbox.connection(ID)?.status).toBe('Pending');
  await before.host.close();

  const after = await hostWithRule('trust-platform-consumers');
  expect(await scan(after)).toMatchObject({ approved: 1, errors: 0 });
  expect(sandbox.connection(ID)?.status).toBe('Approved');
});
