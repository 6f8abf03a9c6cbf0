import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runAuditCli } from '../../../dev/audit-cli.js';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import { exampleConnectionId } from '../../../dev/sandbox/seed.js';
import type { TestHost } from '../../support/host.js';
import { startTestHost } from '../../support/host.js';
import type { CallCounter } from '../../support/storage-calls.js';
import { callCounter, countedStores } from '../../support/storage-calls.js';

/**
 * A flood on one connection: 256 dry runs at once, while real approvals go on other connections (and one on the
 * flooded connection itself). Correctness only, never speed: every dry run answered and recorded beside the
 * chain, every approval done with one PUT and chained, and the dry runs never touched the chain or its lease.
 */

let sandbox: Sandbox;
let app: TestHost;
let counter: CallCounter;
const prefix = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;

beforeAll(async () => {
  sandbox = await startSandbox();
  counter = callCounter();
  const env = { TABLE_PREFIX: prefix };
  app = await startTestHost(sandbox, env, { stores: countedStores(sandbox, prefix, counter, env) });
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});

async function verify(connectionId: string): Promise<string> {
  const lines: string[] = [];
  const code = await runAuditCli(['verify', connectionId], {
    env: { AzureWebJobsStorage: inject('azuriteTableConnectionString'), TABLE_PREFIX: prefix },
    out: (l) => lines.push(l),
    err: (l) => lines.push(l),
  });
  expect(code, lines.join('\n')).toBe(0);
  return lines.join('\n');
}

describe('a hot connection', () => {
  it('256 concurrent dry runs on one connection: all answered and noted, while approvals elsewhere are done', async () => {
    sandbox.reset();
    const hot = exampleConnectionId(50);
    const others = Array.from({ length: 8 }, (_, i) => exampleConnectionId(51 + i));
    const mark = counter.mark();
    const dryRuns = Array.from({ length: 256 }, () =>
      app.signedPost('/api/approvals?dryRun=true', { connectionId: hot, decision: 'Approved' }),
    );
    const approvals = others.map((connectionId) =>
      app.signedPost('/api/approvals', { connectionId, decision: 'Approved' }),
    );
    const [dry, real] = await Promise.all([Promise.all(dryRuns), Promise.all(approvals)]);

    for (const res of dry) {
      expect(res.status, res.text).toBe(200);
      expect(res.json.outcome).toBe('dry-run');
    }
    for (const res of real) {
      expect(res.status, res.text).toBe(200);
      expect(res.json.outcome).toBe('approved');
    }
    for (const connectionId of others) expect(sandbox.connection(connectionId)?.status).toBe('Approved');
    const puts = sandbox.requests().filter((r) => r.method === 'PUT');
    expect(puts.map((p) => p.path).sort()).toEqual([...others].sort());
    expect(sandbox.connection(hot)?.status).toBe('Pending');

    // Two transactions per real decision (claim + lease with its replay marks, record + release) and, for a dry run,
    // its replay marks alone: no dry run advanced or held the chain.
    const batches = counter
      .since(mark)
      .filter((c) => c.table.startsWith('$batch') && c.table.endsWith('Audit'));
    expect(batches.filter((c) => !c.onlyMarks)).toHaveLength(2 * others.length);
    expect(batches.filter((c) => c.onlyMarks)).toHaveLength(256);
    expect(await verify(hot)).toMatch(/: 0 record\(s\)/);
    for (const connectionId of others) expect(await verify(connectionId)).toMatch(/: 1 record\(s\)/);

    // Every dry run has its own record, readable by its request id.
    const records = await Promise.all(
      dry.map((res) => app.signedGet(`/api/approvals/${res.headers.get('x-request-id')!}`)),
    );
    for (const record of records) {
      expect(record.status, record.text).toBe(200);
      expect(record.json.outcome).toBe('dry-run');
    }
  });

  it('a real decision on the flooded connection still goes through, into the chain, and the dry runs are not in it', async () => {
    sandbox.reset();
    const hot = exampleConnectionId(59);
    const dryRuns = Array.from({ length: 256 }, () =>
      app.signedPost('/api/approvals?dryRun=true', { connectionId: hot, decision: 'Rejected' }),
    );
    const real = app.signedPost('/api/approvals', { connectionId: hot, decision: 'Rejected' });
    const answers = await Promise.all([...dryRuns, real]);
    for (const res of answers) expect(res.status, res.text).toBe(200);
    expect((await real).json.outcome).toBe('rejected');
    // A dry run answers from the state it read: before the write Pending (plan: write), after it unchanged.
    for (const res of answers.slice(0, 256)) expect(res.json.outcome).toBe('dry-run');
    expect(sandbox.requests().filter((r) => r.method === 'PUT')).toHaveLength(1);
    expect(await verify(hot)).toMatch(/: 1 record\(s\)/);
  });
  it('concurrent real decisions on one connection in one process wait in memory for the chain write, never reading the head', async () => {
    sandbox.reset();
    const connectionId = exampleConnectionId(49);
    const mark = counter.mark();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.signedPost(
          '/api/approvals',
          { connectionId, decision: 'Approved' },
          { headers: { 'idempotency-key': randomUUID() } },
        ),
      ),
    );
    for (const res of answers) expect(res.status, res.text).toBe(200);
    const outcomes = answers.map((res) => res.json.outcome as string).sort();
    expect(outcomes).toEqual(['approved', ...Array.from({ length: 19 }, () => 'unchanged')]);
    expect(sandbox.requests().filter((r) => r.method === 'PUT')).toHaveLength(1);
    const made = counter.since(mark);
    // Each decision: one transaction for claim + lease and one for the record; the next one starts from the head's
    // ETag the record's transaction returned. A decision that found the turn held writes its replay marks alone
    // (a replay is refused then, not after the wait) and looks at its own claim row once (is the same request at
    // work already?), never at the head.
    const batches = made.filter((c) => c.table.startsWith('$batch') && c.table.endsWith('Audit'));
    expect(batches.filter((c) => !c.onlyMarks)).toHaveLength(40);
    expect(batches.filter((c) => c.onlyMarks).length).toBeLessThanOrEqual(19);
    const reads = made.filter((c) => c.method === 'GET' && c.table === `${prefix}Audit`);
    expect(reads.filter((c) => c.rowKey === 'head')).toHaveLength(0);
    expect(reads.length).toBeLessThanOrEqual(19);
    expect(await verify(connectionId)).toMatch(/: 20 record\(s\)/);
  });
});
