import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { runAuditCli } from '../../dev/audit-cli.js';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { EXAMPLE_ID, PENDING_2 } from '../support/arm.js';
import type { ChildHost } from '../support/child-host.js';
import { signedGet, signedRequest, startChildHost } from '../support/child-host.js';
import type { TestResponse } from '../support/host.js';

/**
 * Opposing decisions on one connection, sent at once to two host processes: exactly one transition, and every
 * answer tells the truth about the state it met (issue: racing decisions bypassed the transition rule).
 */

let sandbox: Sandbox;
let hosts: ChildHost[] = [];
const tablePrefix = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;

beforeAll(async () => {
  sandbox = await startSandbox();
  const env = { POLICY_PATH: 'test/fixtures/policy/no-approved-to-rejected.yaml' };
  hosts = await Promise.all([
    startChildHost(sandbox, tablePrefix, env),
    startChildHost(sandbox, tablePrefix, env),
  ]);
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.kill()));
  await sandbox?.close();
});

const post = (host: ChildHost, body: unknown, query = ''): Promise<TestResponse> =>
  signedRequest(`${host.url}/api/approvals${query}`, sandbox.devSecrets.generic, body, {
    'idempotency-key': randomUUID(),
  });

interface Sent {
  decision: 'Approved' | 'Rejected';
  res: TestResponse;
}

async function verifyChain(connectionId: string): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await runAuditCli(['verify', connectionId], {
    env: { AzureWebJobsStorage: inject('azuriteTableConnectionString'), TABLE_PREFIX: tablePrefix },
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
  });
  return { code, out: lines.join('\n') };
}

describe('opposing decisions on one connection, across two processes', () => {
  it('50 approvals and 50 rejections at once: one PUT, one transition, every answer consistent with the final state', async () => {
    sandbox.reset();
    // A slow PUT widens the window in which an unserialised GET → policy → PUT would interleave.
    sandbox.faults.add({ method: 'PUT', kind: 'latency', latencyMs: 150, times: Infinity });
    const sends: Promise<Sent>[] = [];
    for (let i = 0; i < 100; i++) {
      const decision = i % 2 === 0 ? 'Approved' : 'Rejected';
      sends.push(
        post(hosts[i % 2]!, { connectionId: EXAMPLE_ID, decision }).then((res) => ({ decision, res })),
      );
    }
    const sent = await Promise.all(sends);

    expect(sandbox.counts().arm.PUT).toBe(1);
    const final = sandbox.connection(EXAMPLE_ID)?.status;
    expect(['Approved', 'Rejected']).toContain(final);

    const transitions = sent.filter((s) => s.res.status === 200 && s.res.json.outcome !== 'unchanged');
    expect(transitions).toHaveLength(1);
    const winner = transitions[0]!;
    expect(winner.decision).toBe(final);
    expect(winner.res.json.connection).toMatchObject({ previousStatus: 'Pending', status: final });

    for (const { decision, res } of sent) {
      if (res === winner.res) continue;
      if (decision === final) {
        // The same decision as the one that won meets it already applied.
        expect(res.status, res.text).toBe(200);
        expect(res.json.outcome).toBe('unchanged');
        expect(res.json.connection).toMatchObject({ previousStatus: final, status: final });
      } else {
        // The opposite decision is judged on the state it would really replace, which the policy forbids.
        expect(res.status, res.text).toBe(409);
        expect(res.json.type).toMatch(/transition-not-allowed$/);
        expect(res.json.detail).toContain(final);
      }
    }
    sandbox.faults.clear();
  });

  it('a flood of dry runs neither loses a record nor advances the chain, and real decisions still go through', async () => {
    sandbox.reset();
    // The same decision as the real one: a dry run that reads the state after it landed answers "unchanged"
    // (an opposite one would truthfully answer 409, which is not what this test is about).
    const dryRuns = Array.from({ length: 40 }, (_, i) =>
      post(hosts[i % 2]!, { connectionId: PENDING_2, decision: 'Rejected' }, '?dryRun=true'),
    );
    const real = post(hosts[0]!, { connectionId: PENDING_2, decision: 'Rejected' });
    const answers = await Promise.all([...dryRuns, real]);
    for (const res of answers) expect(res.status, res.text).toBe(200);
    expect((await real).json.outcome).toBe('rejected');

    // Every answer has its record, readable by request id from either process.
    for (const [i, res] of answers.entries()) {
      const id = res.headers.get('x-request-id')!;
      const record = await signedGet(`${hosts[i % 2]!.url}/api/approvals/${id}`, sandbox.devSecrets.generic);
      expect(record.status, `record of ${id}`).toBe(200);
      expect(record.json.requestId).toBe(id);
    }
    // Dry runs are recorded beside the chain; only the real decision is in it.
    const chain = await verifyChain(PENDING_2);
    expect(chain.code, chain.out).toBe(0);
    expect(chain.out).toMatch(/: 1 record\(s\)/);
  });
});
