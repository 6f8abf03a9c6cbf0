import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { pendingConnection, STRANGER, TRUSTED, trustRule } from '../fixtures/discovery-estate.js';
import { discoveryRunner } from '../support/callers.js';
import type { ChildHost } from '../support/child-host.js';
import { signedGet, startChildHost } from '../support/child-host.js';

/**
 * Two host processes on the same tables scan the same estate at once (both timers fire at start, then both are
 * asked to scan again, several times, concurrently): every trusted connection is approved with exactly one PUT,
 * and people are asked exactly once about every other one.
 */

const SUB = '7e1f0000-0000-4000-8000-00000000ace0';
const EACH = 15;

const seed = {
  subscriptions: [
    {
      subscriptionId: SUB,
      resourceGroups: [
        {
          name: 'rg-race',
          resources: [
            {
              type: 'Microsoft.Storage/storageAccounts',
              name: 'strace',
              privateEndpointConnections: [
                ...Array.from({ length: EACH }, (_, i) => pendingConnection(`pe-trusted-${i}`, TRUSTED)),
                ...Array.from({ length: EACH }, (_, i) => pendingConnection(`pe-stranger-${i}`, STRANGER)),
              ],
            },
            {
              type: 'Microsoft.ContainerService/managedClusters',
              name: 'aksrace',
              privateEndpointConnections: Array.from({ length: EACH }, (_, i) =>
                pendingConnection(`pe-aks-${i}`, STRANGER),
              ),
            },
          ],
        },
      ],
    },
  ],
};

const policy = `version: 1
rules:
${trustRule(SUB)}`;

let sandbox: Sandbox;
let hosts: ChildHost[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pla-discovery-race-'));
  writeFileSync(join(dir, 'seed.json'), JSON.stringify(seed));
  writeFileSync(join(dir, 'policy.yaml'), policy);
  sandbox = await startSandbox({ seedPath: join(dir, 'seed.json') });
  const tablePrefix = `race${randomBytes(5).toString('hex')}`;
  const env = {
    POLICY_PATH: join(dir, 'policy.yaml'),
    DISCOVERY_SCOPES: SUB,
    DISCOVERY_SLACK_CHANNEL: 'C0RACE0001',
  };
  hosts = await Promise.all([
    startChildHost(sandbox, tablePrefix, env),
    startChildHost(sandbox, tablePrefix, env),
  ]);
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.kill()));
  await sandbox?.close();
});

it('two processes scanning at once decide each connection once and ask about each once', async () => {
  const token = await discoveryRunner(sandbox);
  const run = (host: ChildHost) =>
    fetch(`${host.url}/api/discovery/run`, { method: 'POST', headers: { authorization: token } });
  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all([run(hosts[0]!), run(hosts[1]!), run(hosts[0]!), run(hosts[1]!)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
  }

  const byConnection = sandbox.counts().byConnection;
  const puts = Object.entries(byConnection).filter(([, c]) => c.PUT > 0);
  expect(puts).toHaveLength(EACH);
  expect(puts.every(([id, c]) => id.includes('pe-trusted-') && c.PUT === 1)).toBe(true);

  const records = sandbox.platforms.records();
  const messages = sandbox.platforms.slackMessages().filter((m) => m.threadTs === undefined);
  const asked = (list: string[]) => new Set(list).size === list.length && list.length === EACH * 2;
  expect(asked(records.map((r) => r.fields.u_private_endpoint_connection_id ?? ''))).toBe(true);
  expect(asked(messages.map((m) => buttonConnection(m.blocks)))).toBe(true);

  const listed = await signedGet(`${hosts[1]!.url}/api/discovery`, sandbox.devSecrets.generic);
  const states = (listed.json.connections as { state: string }[]).map((c) => c.state);
  expect(states.filter((s) => s === 'approved')).toHaveLength(EACH);
  expect(states.filter((s) => s === 'requested')).toHaveLength(EACH * 2);
});

/** The connection a message's Approve button decides (its value: the connection id and the endpoint shown). */
function buttonConnection(blocks: unknown): string {
  const elements = (blocks as { elements?: { value?: string }[] }[]).flatMap((b) => b.elements ?? []);
  const value = elements.find((e) => e.value !== undefined)?.value ?? '{}';
  return (JSON.parse(value) as { connectionId?: string }).connectionId ?? '';
}
