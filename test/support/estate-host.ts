import { mkdtempSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { oneResourceSeed, pendingConnection, STRANGER, trustRule } from '../fixtures/discovery-estate.js';
import { discoveryRunner } from './callers.js';
import type { TestHost } from './host.js';
import { startTestHost } from './host.js';

/** An estate for discovery: what the sandbox is seeded with, the policy, and the subscription scanned. */
export interface Estate {
  SUB: string;
  seed: unknown;
  policy: string;
}

/** A sandbox seeded with the estate and a host scanning it under its policy, with `env` on top. */
export async function startEstate(
  estate: Estate,
  env: Record<string, string>,
): Promise<{ sandbox: Sandbox; app: TestHost; policyPath: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pla-estate-'));
  writeFileSync(join(dir, 'seed.json'), JSON.stringify(estate.seed));
  writeFileSync(join(dir, 'policy.yaml'), estate.policy);
  const sandbox = await startSandbox({ seedPath: join(dir, 'seed.json') });
  const app = await startTestHost(sandbox, {
    POLICY_PATH: join(dir, 'policy.yaml'),
    DISCOVERY_SCOPES: estate.SUB,
    ...env,
  });
  return { sandbox, app, policyPath: join(dir, 'policy.yaml') };
}

/** A scan run through `POST /api/discovery/run` with the runner's `token`: its report (the answer must be 200). */
export async function runScan(host: TestHost, token: string): Promise<Record<string, unknown>> {
  const answer = await host.post('/api/discovery/run', '', { authorization: token });
  expect(answer.status, answer.text).toBe(200);
  return answer.json;
}

/**
 * Pending connections `names` from a stranger on one storage account of `SUB`, under a rule for the discovery
 * caller that trusts other consumers (so each connection is read before people are asked), with `env` on top; and
 * a token of someone who may run a scan.
 */
export async function startStrangersEstate(
  SUB: string,
  names: readonly string[],
  env: Record<string, string>,
): Promise<{ sandbox: Sandbox; app: TestHost; token: string }> {
  const seed = oneResourceSeed(
    SUB,
    'rg',
    { type: 'Microsoft.Storage/storageAccounts', name: 'ststrangers' },
    names.map((name) => pendingConnection(name, STRANGER)),
  );
  const { sandbox, app } = await startEstate(
    { SUB, seed, policy: `version: 1\nrules:\n${trustRule(SUB)}` },
    env,
  );
  return { sandbox, app, token: await discoveryRunner(sandbox) };
}
