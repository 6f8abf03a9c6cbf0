import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { runAuditCli } from '../../dev/audit-cli.js';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { EXAMPLE_ID, PENDING_2, CLUSTER1 } from '../support/arm.js';
import type { ChildHost } from '../support/child-host.js';
import { signedGet, signedRequest, startChildHost } from '../support/child-host.js';
import type { TestResponse } from '../support/host.js';

const PENDING_3 = `${CLUSTER1}/privateEndpointConnections/PE-Pending-3.MixedCase`;
let sandbox: Sandbox;
let hosts: ChildHost[] = [];
const tablePrefix = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
/** A short lease, and an attempt deadline shorter still (the app refuses a lease that does not outlast it). */
const LEASE = { CLAIM_LEASE_SECONDS: '4', ARM_DEADLINE_MS: '2500' };

beforeAll(async () => {
  sandbox = await startSandbox();
  hosts = await Promise.all([
    startChildHost(sandbox, tablePrefix, LEASE),
    startChildHost(sandbox, tablePrefix, LEASE),
  ]);
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.kill()));
  await sandbox?.close();
});
beforeEach(() => sandbox.faults.clear());

const post = (
  host: ChildHost,
  body: unknown,
  headers: Record<string, string> = {},
  webhookId?: string,
  timestamp?: number,
) =>
  signedRequest(`${host.url}/api/approvals`, sandbox.devSecrets.generic, body, headers, webhookId, timestamp);
/** Waits (bounded) until the first attempt has read the connection, so it holds the claim and its PUT is on the way. */
async function untilRead(): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (sandbox.counts().arm.GET < 1) {
    if (Date.now() > deadline) throw new Error('the first attempt never reached Resource Manager');
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, 200));
}

/** A sender's retry: same delivery id, signed anew with a later timestamp. */
const later = () => Math.floor(Date.now() / 1000) + 1;

describe('exactly once across two host processes', () => {
  it('50 concurrent duplicates spread over two processes cause exactly one PUT and consistent answers', async () => {
    sandbox.reset();
    sandbox.faults.add({ method: 'PUT', kind: 'latency', latencyMs: 400 });
    const key = randomUUID();
    const body = {
      connectionId: EXAMPLE_ID,
      decision: 'Approved',
      description: 'CHG0031234 approved by bob',
    };
    const first = await Promise.all(
      Array.from({ length: 50 }, (_, i) => post(hosts[i % 2]!, body, { 'idempotency-key': key })),
    );
    expect(sandbox.counts().arm.PUT).toBe(1);
    // Told to come back: in flight elsewhere (409), or shed by a process whose turns on the connection are full
    // while the machine is loaded (503, nothing done); either way with a Retry-After.
    const comeBack = (r: TestResponse): boolean => r.status === 409 || r.status === 503;
    expect(first.every((r) => r.status === 200 || comeBack(r))).toBe(true);
    const winners = first.filter((r) => r.status === 200 && r.headers.get('idempotent-replayed') !== 'true');
    expect(winners).toHaveLength(1);
    const original = winners[0]!;
    for (const r of first.filter(comeBack)) {
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.json.type).toMatch(r.status === 409 ? /in-flight/ : /dependency-unavailable/);
    }
    // Everyone who was told to come back gets the original answer, from either process.
    const again = await Promise.all(
      first.filter(comeBack).map((_, i) => post(hosts[i % 2]!, body, { 'idempotency-key': key })),
    );
    for (const r of [...again, ...first.filter((x) => x.headers.get('idempotent-replayed') === 'true')]) {
      expect(r.status).toBe(200);
      expect(r.headers.get('idempotent-replayed')).toBe('true');
      expect(r.json).toEqual(original.json);
    }
    expect(sandbox.counts().arm.PUT).toBe(1);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
  });

  it('a retry without a key is recognised by its delivery id, and a changed payload under a used key is 422', async () => {
    sandbox.reset();
    const key = randomUUID();
    const a = await post(
      hosts[0]!,
      { connectionId: PENDING_2, decision: 'Rejected' },
      { 'idempotency-key': key },
    );
    expect(a.status).toBe(200);
    const b = await post(
      hosts[1]!,
      { connectionId: PENDING_2, decision: 'Approved' },
      { 'idempotency-key': key },
    );
    expect(b.status).toBe(422);
    expect(b.headers.get('content-type')).toBe('application/problem+json');
    expect(sandbox.counts().arm.PUT).toBe(1);
    // No Idempotency-Key: a sender's retry keeps its webhook-id (re-signed with a new timestamp).
    const delivery = `msg_${randomUUID()}`;
    const c1 = await post(hosts[0]!, { connectionId: PENDING_3, decision: 'Approved' }, {}, delivery);
    const c2 = await post(
      hosts[1]!,
      { connectionId: PENDING_3, decision: 'Approved' },
      {},
      delivery,
      later(),
    );
    expect(c1.status).toBe(200);
    expect(c2.headers.get('idempotent-replayed')).toBe('true');
    expect(c2.json).toEqual(c1.json);
    expect(sandbox.counts().arm.PUT).toBe(2);
  });

  it('one key sent for two connections at once over two processes: one is decided, the other 422, nothing left held', async () => {
    sandbox.reset();
    sandbox.faults.add({ method: 'PUT', kind: 'latency', latencyMs: 300 });
    const key = randomUUID();
    const bodies = [
      { connectionId: PENDING_2, decision: 'Approved' },
      { connectionId: PENDING_3, decision: 'Approved' },
    ];
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        post(hosts[i % 2]!, bodies[Math.floor(i / 2) % 2], { 'idempotency-key': key }),
      ),
    );
    expect(sandbox.counts().arm.PUT).toBe(1);
    const decided = answers.filter(
      (r) => r.status === 200 && r.headers.get('idempotent-replayed') !== 'true',
    );
    expect(decided).toHaveLength(1);
    const winner = decided[0]!.json.connection as { id: string };
    for (const r of answers) {
      const sameBody = (r.status === 200 ? (r.json.connection as { id: string }).id : '') === winner.id;
      expect([200, 409, 422], r.text).toContain(r.status);
      if (r.status === 200) expect(sameBody).toBe(true);
    }
    expect(answers.filter((r) => r.status === 422).length).toBeGreaterThan(0);
    // The connection that lost holds no lease and no claim: a new request on it is decided at once.
    const loser = bodies.find((b) => sandbox.connection(b.connectionId)?.status === 'Pending')!;
    expect(bodies.filter((b) => sandbox.connection(b.connectionId)?.status === 'Approved')).toHaveLength(1);
    const fresh = await post(hosts[0]!, loser, { 'idempotency-key': randomUUID() });
    expect(fresh.status, fresh.text).toBe(200);
    expect(fresh.json.outcome).toBe('approved');
  });

  it('an in-flight duplicate gets 409 with Retry-After', async () => {
    sandbox.reset();
    sandbox.faults.add({ method: 'PUT', kind: 'latency', latencyMs: 1500 });
    const key = randomUUID();
    const body = { connectionId: EXAMPLE_ID, decision: 'Approved' };
    const slow = post(hosts[0]!, body, { 'idempotency-key': key });
    await untilRead();
    const dup = await post(hosts[1]!, body, { 'idempotency-key': key });
    expect(dup.status).toBe(409);
    expect(dup.headers.get('retry-after')).toBeTruthy();
    expect((await slow).status).toBe(200);
  });

  it('a process killed mid-request is recovered by a retry after the lease expires', async () => {
    const victim = await startChildHost(sandbox, tablePrefix, LEASE);
    // Warm it (token, Key Vault, tables), so the doomed request gets to its PUT quickly.
    await signedRequest(`${victim.url}/api/approvals?dryRun=true`, sandbox.devSecrets.generic, {
      connectionId: PENDING_2,
      decision: 'Approved',
    });
    sandbox.reset();
    sandbox.faults.add({ method: 'PUT', kind: 'latency', latencyMs: 2000 });
    const key = randomUUID();
    const body = { connectionId: EXAMPLE_ID, decision: 'Approved' };
    const doomed = post(victim, body, { 'idempotency-key': key }).catch((e: unknown) => e);
    await untilRead();
    await victim.kill('SIGKILL');
    expect(await doomed).toBeInstanceOf(Error);

    const during = await post(hosts[0]!, body, { 'idempotency-key': key });
    expect(during.status).toBe(409);
    // Past the dead process's lease (LEASE.CLAIM_LEASE_SECONDS).
    await new Promise((r) => setTimeout(r, Number(LEASE.CLAIM_LEASE_SECONDS) * 1000 + 500));
    const after = await post(hosts[1]!, body, { 'idempotency-key': key });
    expect(after.status).toBe(200);
    // Whether or not the dead process's PUT landed, the GET-first flow converges on Approved.
    expect(['approved', 'unchanged']).toContain(after.json.outcome);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
  });
});

describe('audit trail', () => {
  it('every accepted request leaves one record readable through GET /api/approvals/{id}, and the chain verifies', async () => {
    sandbox.reset();
    const body = {
      connectionId: PENDING_2,
      decision: 'Approved',
      ticket: { system: 'servicenow', id: 'CHG0000001' },
    };
    const delivery = `msg_${randomUUID()}`;
    const approved = await post(hosts[0]!, body, {}, delivery);
    const replayed = await post(hosts[1]!, body, {}, delivery, later());
    const denied = await post(
      hosts[0]!,
      { connectionId: PENDING_2, decision: 'Approved' },
      { 'idempotency-key': randomUUID() },
    );
    for (const [res, outcome] of [
      [approved, 'approved'],
      [replayed, 'replayed'],
      [denied, 'unchanged'],
    ] as const) {
      const id = res.headers.get('x-request-id')!;
      const record = await signedGet(`${hosts[1]!.url}/api/approvals/${id}`, sandbox.devSecrets.generic);
      expect(record.status).toBe(200);
      expect(record.json).toMatchObject({ requestId: id, outcome, source: 'generic' });
      expect(record.text).not.toContain(sandbox.devSecrets.generic);
      expect(record.text).not.toMatch(/v1,[A-Za-z0-9+/=]{20,}/);
    }
    const out: string[] = [];
    const code = await runAuditCli(['verify', PENDING_2], {
      env: { AzureWebJobsStorage: inject('azuriteTableConnectionString'), TABLE_PREFIX: tablePrefix },
      out: (l) => out.push(l),
      err: (l) => out.push(l),
    });
    expect(out.join('\n')).toMatch(/ok|OK/);
    expect(code).toBe(0);
  });

  it('an unknown record is a 404 problem, a malformed id a 400', async () => {
    const missing = await signedGet(
      `${hosts[0]!.url}/api/approvals/${randomUUID()}`,
      sandbox.devSecrets.generic,
    );
    expect(missing.status).toBe(404);
    const bad = await signedGet(`${hosts[0]!.url}/api/approvals/not-an-id`, sandbox.devSecrets.generic);
    expect(bad.status).toBe(400);
  });
});

describe('storage unreachable', () => {
  it('answers 503 with Retry-After and makes no ARM call', async () => {
    sandbox.reset();
    const broken = await startChildHost(sandbox, tablePrefix, {
      AzureWebJobsStorage:
        'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;',
    });
    try {
      const res = await post(broken, { connectionId: EXAMPLE_ID, decision: 'Approved' });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect(res.json.instance).toBe(res.headers.get('x-request-id'));
      expect(sandbox.counts().arm.total).toBe(0);
    } finally {
      await broken.kill();
    }
  });
});
