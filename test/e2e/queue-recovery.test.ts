import type { PipelineRequest, SendRequest } from '@azure/core-rest-pipeline';
import { RestError } from '@azure/core-rest-pipeline';
import { odata, TableClient } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { MAX_SWEEPS, sweepOperations, SWEEP_GRACE_MS } from '../../src/approval/sweep.js';
import { abandonWork } from '../../src/functions/work-end.js';
import { createLogger, silentSink } from '../../src/logger.js';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { EXAMPLE_ID, PENDING_2 } from '../support/arm.js';
import type { ChildHost } from '../support/child-host.js';
import { signedGet, signedRequest, startChildHost } from '../support/child-host.js';
import type { TestHost, TestResponse } from '../support/host.js';
import { startTestHost } from '../support/host.js';
import { eventually as until } from '../support/eventually.js';

/**
 * Accepted work survives what the queue and its workers can do to it: a message that goes missing is sent again
 * by the sweeper from the overdue row, and a worker that freezes past its lease (SIGSTOP, then SIGCONT) loses
 * the row to another, which finishes the work. Exactly one PUT either way. Work that meets a broken policy
 * (redeployed after it was accepted) waits for the fix, and ends 503, not denied, if none comes.
 */

const silentLogger = createLogger({ level: 'error', sink: silentSink, now: Date.now });

let sandbox: Sandbox;
let hosts: ChildHost[] = [];

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterEach(async () => {
  await Promise.all(hosts.map((h) => h.kill('SIGKILL')));
  hosts = [];
});
afterAll(async () => {
  await sandbox?.close();
});

describe('a lost message', () => {
  let app: TestHost;
  beforeAll(async () => {
    app = await startTestHost(sandbox, { QUEUE_WORKERS: 'off' });
  });
  afterAll(async () => {
    await app?.host.close();
  });

  it('is sent again by the sweeper once the row is overdue, with a new generation; the old one does nothing', async () => {
    if (!app.state.ok) throw new Error('host not configured');
    const { deps } = app.state;
    sandbox.reset();
    const accepted = await app.signedPost(
      '/api/approvals',
      { connectionId: PENDING_2, decision: 'Approved' },
      { headers: { prefer: 'respond-async' } },
    );
    expect(accepted.status, accepted.text).toBe(202);
    const queue = deps.stores.queue.clients!.queue;
    await queue.clearMessages(); // the message is lost

    const fresh = await sweepOperations(deps.continued.later, silentLogger);
    expect(fresh.resent).toBe(0); // not overdue yet: a poll may still be on its way
    const later = { ...deps.continued.later, now: () => Date.now() + SWEEP_GRACE_MS + 60_000 };
    expect((await sweepOperations(later, silentLogger)).resent).toBe(1);
    // A stray message of the first generation arrives too: it must not run the approval a second time.
    await deps.stores.queue.send({ kind: 'approval', requestId: accepted.json.id, generation: 0 });

    app.startWorkers();
    const done = await app.followOutcome(accepted.headers.get('location')!);
    expect(done.status, done.text).toBe(200);
    expect(done.json.outcome).toBe('approved');
    await until(
      async () => (await queue.getProperties()).approximateMessagesCount ?? 0,
      (n) => n === 0,
    );
    expect(sandbox.counts().arm.PUT).toBe(1);
    expect((await sweepOperations(later, silentLogger)).resent).toBe(0);
  });
});

describe('a worker frozen past its lease', () => {
  it('is taken over by another worker, which finishes the work; thawed, it writes nothing more: one PUT', async () => {
    sandbox.reset();
    const tablePrefix = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const env = {
      CLAIM_LEASE_SECONDS: '3',
      ARM_DEADLINE_MS: '1500',
      QUEUE_VISIBILITY_SECONDS: '1',
      QUEUE_POLL_MS: '100',
    };
    const frozen = await startChildHost(sandbox, tablePrefix, env);
    hosts.push(frozen);
    sandbox.faults.add({ method: 'GET', kind: 'latency', latencyMs: 1_000, times: 1 });
    const accepted: TestResponse = await signedRequest(
      `${frozen.url}/api/approvals`,
      sandbox.devSecrets.generic,
      { connectionId: EXAMPLE_ID, decision: 'Approved' },
      { prefer: 'respond-async' },
    );
    expect(accepted.status, accepted.text).toBe(202);
    await until(
      () => sandbox.counts().arm.GET,
      (n) => n > 0,
    );
    frozen.process.kill('SIGSTOP');
    const taker = await startChildHost(sandbox, tablePrefix, env);
    hosts.push(taker);
    const path = new URL(accepted.headers.get('location')!).pathname;
    const done = await until(
      () => signedGet(`${taker.url}${path}`, sandbox.devSecrets.generic),
      (r) => r.status !== 202,
    );
    expect(done.status, done.text).toBe(200);
    frozen.process.kill('SIGCONT');
    // Give the thawed worker every chance to write: it must find the row gone from under it.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(sandbox.counts().arm.PUT).toBe(1);
    expect(done.json.outcome).toBe('approved');
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
  });
});

describe('accepted work that meets a broken policy', () => {
  it('waits for the fix like for any dependency, and ends 503 not-configured, not 403, when none comes', async () => {
    sandbox.reset();
    const tablePrefix = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    // About 2 s to live: the work ends at its deadline, after a few attempts.
    const env = { TABLE_PREFIX: tablePrefix, ASYNC_MAX_AGE_HOURS: '0.0006', ASYNC_RETRY_BASE_MS: '300' };
    const accepting = await startTestHost(sandbox, { ...env, QUEUE_WORKERS: 'off' });
    const accepted = await accepting.signedPost(
      '/api/approvals',
      { connectionId: PENDING_2, decision: 'Approved' },
      { headers: { prefer: 'respond-async' } },
    );
    await accepting.host.close();
    expect(accepted.status, accepted.text).toBe(202);

    // Redeployed with a policy that does not load: its routes refuse, its worker takes the queued work.
    const dir = mkdtempSync(join(tmpdir(), 'pla-broken-policy-'));
    writeFileSync(join(dir, 'policy.yaml'), 'version: 1\nrules: [{ name: x }]\n');
    const broken = await startTestHost(sandbox, { ...env, POLICY_PATH: join(dir, 'policy.yaml') });
    try {
      const location = accepted.headers.get('location')!;
      const done = await broken.followOutcome(location);
      expect(done.status, done.text).toBe(503);
      expect(done.json.type).toBe('urn:private-link-approver:problem:not-configured');
      expect(String(done.json.detail)).toContain('policy.yaml is invalid');
      expect(sandbox.counts().arm.PUT).toBe(0);
      const record = await broken.signedGet(`/api/approvals/${String(accepted.json.id)}`);
      const attempts = (record.json.attempts ?? []) as { code?: string }[];
      // Each attempt met the policy that did not load (how many fit in its life depends on the machine's speed).
      expect(attempts.length, record.text).toBeGreaterThanOrEqual(1);
      expect(attempts.every((a) => a.code === 'policy-invalid')).toBe(true);
    } finally {
      await broken.host.close();
    }
  });
});

describe('work whose messages keep failing', () => {
  it('ends failed once the sweeper gave up on it: recorded with its attempts, its Location a 500, its key free', async () => {
    sandbox.reset();
    const app = await startTestHost(sandbox, { QUEUE_WORKERS: 'off' });
    try {
      if (!app.state.ok) throw new Error('host not configured');
      const { deps } = app.state;
      const key = randomUUID();
      const accepted = await app.signedPost(
        '/api/approvals',
        { connectionId: PENDING_2, decision: 'Approved' },
        { headers: { prefer: 'respond-async', 'idempotency-key': key } },
      );
      expect(accepted.status, accepted.text).toBe(202);
      const id = String(accepted.json.id);
      // As if each of its messages had ended in the poison queue, and the sweeper had resent it as often as it does.
      const { operations } = deps.continued.later;
      const row = await operations.update((await operations.get(id))!, { swept: MAX_SWEEPS });
      // A worker takes the row just before the sweeper acts on what it listed: the sweeper leaves it, writing nothing.
      const taken = await operations.take(id, row!.generation, 'worker-a', 60_000);
      expect(taken.kind).toBe('taken');
      expect(await abandonWork(deps)(row!, silentLogger)).toBe(false);
      expect((await app.signedGet(`/api/approvals/${id}`)).json.outcome).toBe('in-progress');
      const later = {
        ...deps.continued.later,
        now: () => Date.now() + SWEEP_GRACE_MS * 2 ** 7,
        abandon: abandonWork(deps),
      };
      expect(await sweepOperations(later, silentLogger)).toEqual({ resent: 0, abandoned: 1 });

      const ended = await app.followOutcome(accepted.headers.get('location')!);
      expect(ended.status, ended.text).toBe(500);
      expect(ended.json).toMatchObject({
        type: 'urn:private-link-approver:problem:internal-error',
        instance: id,
      });
      const record = await app.signedGet(`/api/approvals/${id}`);
      expect(record.status, record.text).toBe(200);
      const attempts = record.json.attempts as { code?: string }[];
      expect(attempts.at(-1)?.code).toBe('Abandoned');
      expect(sandbox.counts().arm.PUT).toBe(0);
      // Its key is free again: the same request sent once more is decided, not answered 409 or from a result.
      const again = await app.signedPost(
        '/api/approvals',
        { connectionId: PENDING_2, decision: 'Approved' },
        { headers: { 'idempotency-key': key } },
      );
      expect(again.status, again.text).toBe(200);
      expect(again.json.outcome).toBe('approved');
      // Nothing is owed any more: the next sweep leaves it.
      expect(await sweepOperations(later, silentLogger)).toEqual({ resent: 0, abandoned: 0 });
    } finally {
      await app.host.close();
    }
  });
});

describe('a request that stopped between handing its work to the queue and marking its key', () => {
  it('is followed by a repeat (202 and its Location), not answered 409 and later decided again', async () => {
    sandbox.reset();
    const app = await startTestHost(sandbox, { QUEUE_WORKERS: 'off' });
    try {
      const key = randomUUID();
      const send = (headers: Record<string, string>) =>
        app.signedPost(
          '/api/approvals',
          { connectionId: PENDING_2, decision: 'Approved' },
          { headers: { 'idempotency-key': key, ...headers } },
        );
      const accepted = await send({ prefer: 'respond-async' });
      expect(accepted.status, accepted.text).toBe(202);
      // Its key as if the mark had not been written: still in flight, held by the request that handed the work over.
      const audit = TableClient.fromConnectionString(
        inject('azuriteTableConnectionString'),
        `${app.tablePrefix}Audit`,
        { allowInsecureConnection: true },
      );
      const filter = odata`state eq 'queued' and requestId eq ${String(accepted.json.id)}`;
      const rows = [];
      for await (const row of audit.listEntities({ queryOptions: { filter } })) rows.push(row);
      expect(rows).toHaveLength(1);
      const { partitionKey, rowKey } = rows[0]!;
      await audit.updateEntity(
        { partitionKey: partitionKey!, rowKey: rowKey!, state: 'in-flight', leaseUntil: Date.now() + 60_000 },
        'Merge',
      );

      const repeat = await send({});
      expect(repeat.status, repeat.text).toBe(202);
      expect(repeat.headers.get('location')).toBe(accepted.headers.get('location'));
      expect(sandbox.counts().arm.PUT).toBe(0);
    } finally {
      await app.host.close();
    }
  });
});

describe('a queue slow to take the message', () => {
  it('does not hold up the 202: the send goes on, and the work runs once it lands', async () => {
    sandbox.reset();
    // Holds every message sent to the queue until released (a real pipeline policy on the real queue client).
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let held = 0;
    const slowQueue = {
      name: 'slow-queue-sends',
      async sendRequest(request: PipelineRequest, next: SendRequest) {
        if (request.method === 'POST' && request.url.includes('/messages')) {
          held += 1;
          await gate;
        }
        return next(request);
      },
    };
    const app = await startTestHost(sandbox, {}, { storagePolicies: [slowQueue] });
    try {
      const accepted = await app.signedPost(
        '/api/approvals',
        { connectionId: PENDING_2, decision: 'Approved' },
        { headers: { prefer: 'respond-async' } },
      );
      expect(accepted.status, accepted.text).toBe(202);
      // Answered while the message is still held: the caller did not wait for the queue.
      expect(held).toBe(1);
      expect(sandbox.counts().arm.PUT).toBe(0);
      release();
      const done = await app.followOutcome(accepted.headers.get('location')!);
      expect(done.status, done.text).toBe(200);
      expect(done.json.outcome).toBe('approved');
      expect(sandbox.counts().arm.PUT).toBe(1);
    } finally {
      release();
      await app.host.close();
    }
  });
});

describe('the work row written, its answer lost', () => {
  it('is accepted work (202, run once), not a failure answered while the row runs anyway', async () => {
    sandbox.reset();
    // Every insert into the operations table lands, and every answer to it is lost on the way back.
    let armed = true;
    const loseAnswer = {
      name: 'lose-operation-insert-answers',
      async sendRequest(request: PipelineRequest, next: SendRequest) {
        const response = await next(request);
        if (armed && request.method === 'POST' && /Operations$/i.test(new URL(request.url).pathname))
          throw new RestError('socket hang up', { code: 'ECONNRESET' });
        return response;
      },
    };
    const app = await startTestHost(sandbox, { SYNC_BUDGET_MS: '1500' }, { storagePolicies: [loseAnswer] });
    try {
      sandbox.faults.add({ method: 'GET', kind: 'status', status: 503, times: 1_000 });
      const res = await app.signedPost('/api/approvals', { connectionId: PENDING_2, decision: 'Approved' });
      armed = false;
      sandbox.faults.clear();
      expect(res.status, res.text).toBe(202);
      const done = await app.followOutcome(res.headers.get('location')!);
      expect(done.status, done.text).toBe(200);
      expect(done.json.outcome).toBe('approved');
      expect(sandbox.counts().arm.PUT).toBe(1);
    } finally {
      await app.host.close();
    }
  });
});

describe('a repeat of queued work past its deadline, the work not ended yet', () => {
  it('still follows that work under the same key, and the connection is decided once', async () => {
    sandbox.reset();
    // The work lives 3.6 s; its messages wait for the workers, started only after the repeat.
    const app = await startTestHost(sandbox, { QUEUE_WORKERS: 'off', ASYNC_MAX_AGE_HOURS: '0.001' });
    try {
      const key = randomUUID();
      const send = (): Promise<TestResponse> =>
        app.signedPost(
          '/api/approvals',
          { connectionId: PENDING_2, decision: 'Approved' },
          { headers: { prefer: 'respond-async', 'idempotency-key': key } },
        );
      const first = await send();
      expect(first.status, first.text).toBe(202);
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const repeat = await send();
      expect(repeat.status, repeat.text).toBe(202);
      expect(repeat.json.id).toBe(first.json.id);
      app.startWorkers();
      const done = await app.followOutcome(first.headers.get('location')!, { timeoutMs: 20_000 });
      expect(done.status, done.text).toBe(200);
      expect(sandbox.counts().arm.PUT).toBe(1);
    } finally {
      await app.host.close();
    }
  });
});
