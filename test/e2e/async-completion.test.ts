import { randomUUID } from 'node:crypto';
import type { QueueClient } from '@azure/storage-queue';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { EXAMPLE_ID, PENDING_2 } from '../support/arm.js';
import {
  FORM_TYPE,
  JSON_TYPE,
  post,
  serviceNowChange,
  slackForm,
  slackHeaders,
  teamsActivity,
  teamsHeaders,
} from '../support/callers.js';
import type { TestHost, TestResponse } from '../support/host.js';
import { startTestHost } from '../support/host.js';
import { TableAuditTrail } from '../../src/store/audit-trail.js';
import { eventually as poll } from '../support/eventually.js';

/**
 * Approvals that outlive their request continue from the Azurite queue and end where their caller looks: the
 * `Location` URL (Logic Apps, scripts), a work note (ServiceNow), the command's `response_url` (Slack), a
 * Workflows webhook (Teams). Real sockets, real queue and tables, the sandbox's platform stand-ins.
 */

let sandbox: Sandbox;
let app: TestHost;

beforeAll(async () => {
  sandbox = await startSandbox();
  app = await startTestHost(sandbox);
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});
beforeEach(() => sandbox.reset());

const deps = (host: TestHost) => {
  if (!host.state.ok) throw new Error('host not configured');
  return host.state.deps;
};

/** Polled every 100 ms. */
function eventually<T>(probe: () => T | Promise<T>, done: (value: T) => boolean, ms = 20_000): Promise<T> {
  return poll(probe, done, ms, 100);
}

/** Nothing left to run: every message handled (visible or not) — so a late duplicate would have shown by now. */
async function drained(host: TestHost): Promise<void> {
  const queue = deps(host).stores.queue.clients!.queue;
  const left = await eventually(
    async () => (await queue.getProperties()).approximateMessagesCount ?? 0,
    (n) => n === 0,
  );
  expect(left).toBe(0);
}

function sendServiceNow(host: TestHost, change: Record<string, unknown>): Promise<TestResponse> {
  return host.signedPost('/api/approvals/servicenow', change, { secret: sandbox.devSecrets.servicenow });
}

function sendSlack(host: TestHost, body: string): Promise<TestResponse> {
  return post(host, 'slack', body, {
    'content-type': FORM_TYPE,
    ...slackHeaders(body, sandbox.devSecrets.slack),
  });
}

describe('the Logic Apps asynchronous pattern (generic route)', () => {
  it('Prefer: respond-async → 202 → Location → 200 with the body a synchronous approval has; one PUT', async () => {
    const sync = await app.signedPost('/api/approvals', { connectionId: PENDING_2, decision: 'Approved' });
    expect(sync.status).toBe(200);
    sandbox.reset();

    const res = await app.signedPost(
      '/api/approvals',
      { connectionId: EXAMPLE_ID, decision: 'Approved' },
      { headers: { prefer: 'respond-async' } },
    );
    expect(res.status, res.text).toBe(202);
    const id = res.json.id as string;
    expect(res.headers.get('x-request-id')).toBe(id);
    const location = res.headers.get('location')!;
    expect(new URL(location).pathname).toBe(`/api/approvals/${id}/outcome`);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(res.json).toMatchObject({ outcome: 'in-progress', location });
    // RFC 7240: the preference was applied, and answers here vary with Prefer (the synchronous one too).
    expect(res.headers.get('preference-applied')).toBe('respond-async');
    expect(res.headers.get('vary')).toMatch(/\bPrefer\b/i);
    expect(sync.headers.get('vary')).toMatch(/\bPrefer\b/i);
    expect(sync.headers.get('preference-applied')).toBeNull();

    const done = await app.followOutcome(location);
    expect(done.status, done.text).toBe(200);
    expect(done.headers.get('content-type')).toBe(sync.headers.get('content-type'));
    expect(done.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(done.json).sort()).toEqual(Object.keys(sync.json).sort());
    expect(done.json).toMatchObject({
      id,
      outcome: 'approved',
      connection: { status: 'Approved', previousStatus: 'Pending' },
      policy: { allowed: true },
      arm: { status: 200 },
    });
    expect(sandbox.counts().arm.PUT).toBe(1);
    // Read again: the same stored answer, not a second run.
    const again = await app.followOutcome(location);
    expect(again.json).toEqual(done.json);
    expect(sandbox.counts().arm.PUT).toBe(1);
  });

  it('keeps the function key of the request in the Location, and shows the work to no other caller', async () => {
    const res = await app.signedPost(
      '/api/approvals?code=fn-key-123',
      { connectionId: EXAMPLE_ID, decision: 'Approved' },
      { headers: { prefer: 'respond-async' } },
    );
    expect(res.status, res.text).toBe(202);
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.get('code')).toBe('fn-key-123');
    const path = `${location.pathname}${location.search}`;

    expect((await app.get(path)).status).toBe(401);
    const stranger = await app.signedGet(path, { secret: sandbox.devSecrets.servicenow });
    expect(stranger.status).toBe(404);
    expect(stranger.headers.get('content-type')).toBe('application/problem+json');
    const bad = await app.signedGet('/api/approvals/not-a-uuid/outcome');
    expect(bad.status).toBe(400);
    expect((await app.followOutcome(location.href)).status).toBe(200);
  });

  it('GET /api/approvals/{id} shows in-progress with the attempts so far, then the record with every attempt', async () => {
    sandbox.faults.add({ kind: 'status', status: 503, code: 'ServiceUnavailable', times: Infinity });
    const res = await app.signedPost('/api/approvals', { connectionId: EXAMPLE_ID, decision: 'Approved' });
    expect(res.status, res.text).toBe(202);
    const id = res.json.id as string;
    const running = await app.signedGet(`/api/approvals/${id}`);
    expect(running.status, running.text).toBe(200);
    expect(running.json).toMatchObject({ requestId: id, outcome: 'in-progress' });
    const attempts = running.json.attempts as { at: string; armStatus?: number }[];
    expect(attempts[0]?.armStatus).toBe(503);
    expect(typeof running.json.nextAttemptAt).toBe('string');
    const retried = await eventually(
      () => app.signedGet(`/api/approvals/${id}`),
      (r) => ((r.json.attempts as unknown[] | undefined)?.length ?? 0) >= 2,
    );
    expect((retried.json.attempts as unknown[]).length).toBeGreaterThanOrEqual(2);
    sandbox.faults.clear();

    const done = await app.followOutcome(res.headers.get('location')!);
    expect(done.status).toBe(200);
    const record = await eventually(
      () => app.signedGet(`/api/approvals/${id}`),
      (r) => Array.isArray(r.json.reports),
    );
    expect(record.json).toMatchObject({ requestId: id, outcome: 'approved' });
    expect((record.json.attempts as unknown[]).length).toBeGreaterThanOrEqual(2);
    expect(record.json.reports).toEqual([expect.objectContaining({ to: 'location', ok: true })]);
  });
});

describe('a passing Resource Manager fault', () => {
  it('is retried while the caller waits: 200 at once, not a 202 (that is for work the budget cannot finish)', async () => {
    sandbox.faults.add({ kind: 'status', status: 503, code: 'ServiceUnavailable', times: 1 });
    const res = await app.signedPost('/api/approvals', { connectionId: PENDING_2, decision: 'Approved' });
    expect(res.status, res.text).toBe(200);
    expect(res.json.outcome).toBe('approved');
    expect(sandbox.counts().arm.GET).toBe(2);
    expect(sandbox.counts().arm.PUT).toBe(1);
  });
});

describe('ServiceNow write-back', () => {
  it('ARM answering 503: 202 once the retries ran out, then exactly one PUT and one work note on the record', async () => {
    sandbox.faults.add({ kind: 'status', status: 503, code: 'ServiceUnavailable', times: Infinity });
    const change = serviceNowChange(EXAMPLE_ID);
    const res = await sendServiceNow(app, change);
    expect(res.status, res.text).toBe(202);
    expect(res.json.work_note).toContain(res.json.id as string);
    // The GET and its retries (ARM_MAX_RETRIES, 4 by default) while the caller waits; then the queue.
    expect(sandbox.counts().arm.GET).toBe(5);
    expect(sandbox.counts().arm.PUT).toBe(0);

    await new Promise((r) => setTimeout(r, 1_500));
    sandbox.faults.clear();
    const notes = await eventually(
      () => sandbox.platforms.workNotes(),
      (n) => n.length > 0,
    );
    await drained(app);
    expect(sandbox.platforms.workNotes()).toHaveLength(1);
    expect(notes[0]).toMatchObject({ table: 'change_request', sysId: change.sys_id });
    expect(notes[0]!.note).toContain('Pending → Approved');
    expect(notes[0]!.note).toContain(res.json.id as string);
    expect(sandbox.counts().arm.PUT).toBe(1);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
    const record = await eventually(
      () => app.signedGet(`/api/approvals/${res.json.id as string}`),
      (r) => Array.isArray(r.json.reports),
    );
    expect(record.json).toMatchObject({ outcome: 'approved' });
    expect(record.json.reports).toEqual([expect.objectContaining({ to: 'servicenow', ok: true })]);
  });

  it('a work note that fails is retried from the queue and its end recorded; the approval stands', async () => {
    // The GET and its four retries while the rule waits fail: the work goes to the queue, which reports it.
    sandbox.faults.add({ kind: 'status', status: 503, times: 5 });
    sandbox.platforms.failNext('servicenow', 1);
    const change = serviceNowChange(PENDING_2);
    const res = await sendServiceNow(app, change);
    expect(res.status, res.text).toBe(202);
    const notes = await eventually(
      () => sandbox.platforms.workNotes(),
      (n) => n.length > 0,
    );
    expect(notes).toHaveLength(1);
    expect(sandbox.connection(PENDING_2)?.status).toBe('Approved');
    const record = await deps(app).stores.audit.get(res.json.id as string);
    expect(record?.outcome).toBe('approved');
    const reported = await eventually(
      () => deps(app).stores.audit.get(`${res.json.id as string}:reported`),
      (r) => r !== undefined,
    );
    expect(reported).toMatchObject({ outcome: 'reported', about: res.json.id });
    expect(reported?.reports?.map((r) => r.ok)).toEqual([false, true]);
  });
});

describe('chat within its deadline', () => {
  it('Slack with ARM slowed to 5 s: acknowledged in under 3 s, the outcome posted to response_url', async () => {
    sandbox.faults.add({ kind: 'latency', latencyMs: 5_000, times: 1 });
    const responseUrl = sandbox.slackResponseUrl();
    const started = Date.now();
    const ack = await sendSlack(app, slackForm(`approve ${EXAMPLE_ID}`, { response_url: responseUrl }));
    const ackMs = Date.now() - started;
    expect(ack.status, ack.text).toBe(200);
    // Slack's own limit, not a performance goal: past 3 s the command is shown as failed.
    expect(ackMs).toBeLessThan(3_000);
    expect(ack.json.response_type).toBe('ephemeral');
    expect(ack.json.text).toMatch(/Working on it.*follows here.*request [0-9a-f-]{36}/s);

    const posts = await eventually(
      () => sandbox.platforms.slackPosts(),
      (p) => p.length > 0,
    );
    await drained(app);
    expect(sandbox.platforms.slackPosts()).toHaveLength(1);
    expect(new URL(responseUrl).pathname).toBe(posts[0]!.path);
    expect(posts[0]!.body).toMatchObject({ response_type: 'in_channel' });
    expect(JSON.stringify(posts[0]!.body)).toContain('Approved');
    expect(sandbox.counts().arm.PUT).toBe(1);
  });

  it('Teams with ARM slowed: answered with the request id and `status`, the outcome posted to the Workflows webhook', async () => {
    sandbox.faults.add({ kind: 'latency', latencyMs: 6_000, times: 1 });
    const body = JSON.stringify(teamsActivity(`approve ${EXAMPLE_ID}`));
    const ack = await post(app, 'teams', body, {
      'content-type': JSON_TYPE,
      ...teamsHeaders(body, sandbox.devSecrets.teams),
    });
    expect(ack.status, ack.text).toBe(200);
    expect(ack.json.text).toMatch(/status/);
    expect(ack.json.text).toMatch(/request [0-9a-f-]{36}/);
    // Not "follows here": an outgoing webhook has no way back into the thread after its reply.
    expect(ack.json.text).toMatch(/follows in the channel of the team's approvals workflow/);
    const posts = await eventually(
      () => sandbox.platforms.teamsPosts(),
      (p) => p.length > 0,
    );
    await drained(app);
    expect(sandbox.platforms.teamsPosts()).toHaveLength(1);
    expect(JSON.stringify(posts[0]!.body)).toContain('Approved');
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
  });
});

describe('work older than ASYNC_MAX_AGE_HOURS ends failed, and the caller is told', () => {
  let young: TestHost;
  beforeAll(async () => {
    // 0.0005 h = 1.8 s.
    young = await startTestHost(sandbox, { ASYNC_MAX_AGE_HOURS: '0.0005' });
  });
  afterAll(async () => {
    await young?.host.close();
  });

  it('generic: the Location ends in a 5xx problem; ServiceNow: a work note; Slack: response_url; nothing stays queued', async () => {
    sandbox.faults.add({ kind: 'status', status: 503, code: 'ServiceUnavailable', times: Infinity });
    const generic = await young.signedPost('/api/approvals', {
      connectionId: EXAMPLE_ID,
      decision: 'Approved',
    });
    const change = serviceNowChange(PENDING_2);
    const servicenow = await sendServiceNow(young, change);
    const slack = await sendSlack(
      young,
      slackForm(`approve ${EXAMPLE_ID}`, { response_url: sandbox.slackResponseUrl() }),
    );
    expect([generic.status, servicenow.status, slack.status]).toEqual([202, 202, 200]);

    const ended = await young.followOutcome(generic.headers.get('location')!);
    expect(ended.status).toBe(503);
    expect(ended.headers.get('content-type')).toBe('application/problem+json');
    expect(ended.json.instance).toBe(generic.json.id);
    const notes = await eventually(
      () => sandbox.platforms.workNotes(),
      (n) => n.length > 0,
    );
    expect(notes[0]).toMatchObject({ sysId: change.sys_id });
    expect(notes[0]!.note).not.toContain('accepted;');
    expect(notes[0]!.note).toMatch(/503|ServiceUnavailable/);
    const posts = await eventually(
      () => sandbox.platforms.slackPosts(),
      (p) => p.length > 0,
    );
    expect(JSON.stringify(posts[0]!.body)).not.toContain('Working on it');
    expect(JSON.stringify(posts[0]!.body)).toMatch(/503|ServiceUnavailable|not answer/);
    expect(sandbox.counts().arm.PUT).toBe(0);

    const queue = deps(young).stores.queue.clients!.queue;
    const left = await eventually(
      async () => (await queue.getProperties()).approximateMessagesCount ?? 0,
      (n) => n === 0,
    );
    expect(left).toBe(0);
    const record = await deps(young).stores.audit.get(generic.json.id as string);
    expect(record).toMatchObject({ outcome: 'failed', httpStatus: 503 });
  });
});

describe('poison messages', () => {
  let strict: TestHost;
  beforeAll(async () => {
    strict = await startTestHost(sandbox, { QUEUE_VISIBILITY_SECONDS: '1', QUEUE_MAX_DEQUEUE_COUNT: '2' });
  });
  afterAll(async () => {
    await strict?.host.close();
  });

  it('a message that is not a job ends in the poison queue and shows in /api/health', async () => {
    const queue: QueueClient = deps(strict).stores.queue.clients!.queue;
    await queue.sendMessage(
      Buffer.from(JSON.stringify({ kind: 'nonsense', id: randomUUID() })).toString('base64'),
    );
    const poison = deps(strict).stores.queue.clients!.poison;
    const moved = await eventually(
      async () => (await poison.getProperties()).approximateMessagesCount ?? 0,
      (n) => n > 0,
    );
    expect(moved).toBe(1);
    const health = await strict.get('/api/health');
    expect(health.json.status).toBe('degraded');
    expect(health.json.checks).toMatchObject({ poisonQueue: { messages: 1 } });
  });

  it('forged messages do nothing: a well-typed message names no row, or a row of another generation', async () => {
    const queue: QueueClient = deps(strict).stores.queue.clients!.queue;
    const send = (message: object) =>
      queue.sendMessage(Buffer.from(JSON.stringify(message)).toString('base64'));
    // A real approval, accepted and ended, so its row exists with generation 0 used.
    const real = await strict.signedPost(
      '/api/approvals',
      { connectionId: PENDING_2, decision: 'Approved' },
      { headers: { prefer: 'respond-async' } },
    );
    expect((await strict.followOutcome(real.headers.get('location')!)).status).toBe(200);
    sandbox.reset();
    await send({ kind: 'approval', requestId: randomUUID(), generation: 0 });
    await send({ kind: 'approval', requestId: real.json.id, generation: 7 });
    await send({ kind: 'report', requestId: real.json.id, generation: 0 });
    // What the old format carried is refused outright: a connection, a decision and a caller of its own.
    await send({ kind: 'approval', requestId: randomUUID(), generation: 0, connectionId: EXAMPLE_ID });
    await drained(strict);
    expect(sandbox.counts().arm.total).toBe(0);
    expect(sandbox.platforms.counts()).toMatchObject({ workNotes: 0, slack: 0, teams: 0 });
  });
});

describe("Resource Manager's Retry-After", () => {
  it('is waited out by the next attempt from the queue, not hit again after our shorter backoff', async () => {
    // Throttled on the write, asking for a minute: more than the attempt's deadline leaves, so the attempt ends.
    sandbox.faults.add({ method: 'PUT', kind: 'status', status: 429, retryAfter: '60', times: 5 });
    const res = await app.signedPost(
      '/api/approvals',
      { connectionId: PENDING_2, decision: 'Approved' },
      { headers: { prefer: 'respond-async' } },
    );
    expect(res.status, res.text).toBe(202);
    const path = new URL(res.headers.get('location')!).pathname.replace(/\/outcome$/, '');
    const waiting = await eventually(
      async () => (await app.signedGet(path)).json,
      (row) => Number(row.attemptCount ?? 0) >= 1,
    );
    const wait = Date.parse(String(waiting.nextAttemptAt)) - Date.now();
    // The backoff here is 1–2 s (ASYNC_RETRY_BASE_MS): a next attempt a minute away is the one asked for.
    expect(wait).toBeGreaterThan(50_000);
    expect(sandbox.counts().arm.PUT).toBe(1);
    // Its next attempt is not this file's business: nothing is left waiting in the queue for the tests after it.
    await deps(app).stores.queue.clients!.queue.clearMessages();
  });

  it("is waited out no longer than the work's own deadline, where its last attempt runs", async () => {
    const brief = await startTestHost(sandbox, { ASYNC_MAX_AGE_HOURS: '0.01' });
    try {
      // Asked for an hour on the caller's own attempt: the work it hands to the queue has 36 s to live.
      sandbox.faults.add({ method: 'PUT', kind: 'status', status: 429, retryAfter: '3600', times: 5 });
      const res = await brief.signedPost('/api/approvals', { connectionId: PENDING_2, decision: 'Approved' });
      expect(res.status, res.text).toBe(202);
      // The 202 tells the caller when to look, as its Location will: when the first attempt runs.
      expect(res.headers.get('retry-after')).toBe('36');
      const row = (await brief.signedGet(`/api/approvals/${res.json.id as string}`)).json;
      const wait = Date.parse(String(row.nextAttemptAt)) - Date.parse(String(row.acceptedAt));
      expect(wait).toBeLessThanOrEqual(36_000);
      await deps(brief).stores.queue.clients!.queue.clearMessages();
    } finally {
      await brief.host.close();
    }
  });
});

describe('a connection another instance is deciding', () => {
  it('is answered 202 once the wait for its lease runs out, and decided from the queue once it is free', async () => {
    const host = await startTestHost(sandbox, { SYNC_BUDGET_MS: '400' });
    try {
      // Another instance's decision holds the connection's lease (its own clients and in-process turns).
      const { tables } = deps(host).stores;
      const other = new TableAuditTrail({ table: tables.audit, clock: Date.now, leaseSeconds: 30 });
      const lease = await other.lease(PENDING_2, 'another-instance', Date.now() + 1_000);

      const res = await host.signedPost('/api/approvals', { connectionId: PENDING_2, decision: 'Approved' });
      expect(res.status, res.text).toBe(202);
      expect(sandbox.counts().arm.PUT).toBe(0);

      await other.release(lease);
      const done = await host.followOutcome(res.headers.get('location')!);
      expect(done.status, done.text).toBe(200);
      expect(done.json).toMatchObject({ outcome: 'approved', connection: { previousStatus: 'Pending' } });
      expect(sandbox.counts().arm.PUT).toBe(1);
      expect((await other.verify(PENDING_2)).ok).toBe(true);
    } finally {
      await host.host.close();
    }
  });
});

describe('a PUT handed to the queue without an answer', () => {
  /**
   * A host whose caller waits 0.8 s, with a lease of 3 s; its first PUT takes 2 s at Resource Manager. Answers
   * the host and a decision asked of PENDING_2, the first (Approved) already handed to the queue (202).
   */
  async function slowFirstPut(env: Record<string, string> = {}) {
    const host = await startTestHost(sandbox, {
      SYNC_BUDGET_MS: '800',
      ARM_DEADLINE_MS: '500',
      CLAIM_LEASE_SECONDS: '3',
      ASYNC_RETRY_BASE_MS: '300',
      ...env,
    });
    sandbox.faults.add({ method: 'PUT', kind: 'latency', latencyMs: 2_000, times: 1 });
    const ask = (decision: string) =>
      host.signedPost('/api/approvals', { connectionId: PENDING_2, decision });
    const approved = await ask('Approved');
    expect(approved.status, approved.text).toBe(202);
    return { host, ask, approved };
  }

  it('keeps its connection until it has settled: a later decision neither interleaves nor is undone, and it is not sent twice', async () => {
    const { host, ask, approved } = await slowFirstPut();
    try {
      // Another caller's decision meanwhile waits for the connection (202), rather than being made in between.
      const rejected = await ask('Rejected');
      expect(rejected.status, rejected.text).toBe(202);

      const first = await host.followOutcome(approved.headers.get('location')!, { timeoutMs: 30_000 });
      expect(first.status, first.text).toBe(200);
      // Its own PUT landed while it held back: reported as applied, from Pending, and not sent again.
      expect(first.json).toMatchObject({ outcome: 'approved', connection: { previousStatus: 'Pending' } });
      const second = await host.followOutcome(rejected.headers.get('location')!, { timeoutMs: 30_000 });
      expect(second.status, second.text).toBe(200);
      expect(second.json).toMatchObject({ outcome: 'rejected', connection: { previousStatus: 'Approved' } });
      // The last decision recorded is the one the connection shows.
      expect(sandbox.connection(PENDING_2)?.status).toBe('Rejected');
      expect(sandbox.counts().arm.PUT).toBe(2);
    } finally {
      await host.host.close();
    }
  }, 60_000);

  it('keeps it through a next attempt that fails for another reason (its read unanswered)', async () => {
    const { host, ask, approved } = await slowFirstPut({ ARM_MAX_RETRIES: '0' });
    try {
      // The queued attempt's read fails (503): it ends unfinished, its request's PUT still out.
      sandbox.faults.add({ method: 'GET', kind: 'status', status: 503, times: 1 });
      const rejected = await ask('Rejected');
      expect(rejected.status, rejected.text).toBe(202);
      const second = await host.followOutcome(rejected.headers.get('location')!, { timeoutMs: 30_000 });
      expect(second.status, second.text).toBe(200);
      // Decided after the first PUT landed, not between it and its landing.
      expect(second.json).toMatchObject({ outcome: 'rejected', connection: { previousStatus: 'Approved' } });
      await host.followOutcome(approved.headers.get('location')!, { timeoutMs: 30_000 });
      expect(sandbox.connection(PENDING_2)?.status).toBe('Rejected');
    } finally {
      await host.host.close();
    }
  }, 60_000);

  it('does not hold back after a PUT that was answered: a throttled one will not land', async () => {
    const host = await startTestHost(sandbox, { ARM_MAX_RETRIES: '0', ASYNC_RETRY_BASE_MS: '500' });
    try {
      sandbox.faults.add({ method: 'PUT', kind: 'status', status: 429, retryAfter: '1', times: 1 });
      const res = await host.signedPost(
        '/api/approvals',
        { connectionId: PENDING_2, decision: 'Approved' },
        { headers: { prefer: 'respond-async' } },
      );
      expect(res.status, res.text).toBe(202);
      // Within a lease's length (60 s here) of the throttled PUT: the next attempt sends it again.
      const done = await host.followOutcome(res.headers.get('location')!, { timeoutMs: 20_000 });
      expect(done.json).toMatchObject({ outcome: 'approved', connection: { previousStatus: 'Pending' } });
      const record = (await host.signedGet(`/api/approvals/${res.json.id as string}`)).json;
      const codes = (record.attempts as { code?: string }[]).map((a) => a.code);
      expect(codes).not.toContain('EarlierPutUnsettled');
      expect(sandbox.counts().arm.PUT).toBe(2);
    } finally {
      await host.host.close();
    }
  }, 60_000);
});
