import type { QueueClient } from '@azure/storage-queue';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import type { LaterDeps } from '../../../src/approval/continue-later.js';
import type { Job } from '../../../src/approval/job.js';
import { parseJob } from '../../../src/approval/job.js';
import type { OutboxDeps } from '../../../src/approval/report-outbox.js';
import {
  MAX_REPORT_TRIES,
  MAX_REPORT_TRIES_UNCAPPED,
  sendReport,
} from '../../../src/approval/report-outbox.js';
import type { StorageConfig } from '../../../src/config.js';
import type { LogLevel } from '../../../src/logger.js';
import { createLogger, type Logger } from '../../../src/logger.js';
import type { ReportTarget } from '../../../src/model/approval.js';
import { createOutbound } from '../../../src/report/outbound.js';
import type { Reporter } from '../../../src/report/reporter.js';
import { createReporter, MAX_REPORT_WAIT_SECONDS } from '../../../src/report/reporter.js';
import { createServiceNowWriter } from '../../../src/report/servicenow-work-note.js';
import type { AuditRecord } from '../../../src/store/audit-record.js';
import { TableAuditTrail } from '../../../src/store/audit-trail.js';
import { TableIdempotencyStore } from '../../../src/store/idempotency-store.js';
import type { Operation, Outbox, Work } from '../../../src/store/operation-store.js';
import { TableOperationStore } from '../../../src/store/operation-store.js';
import type { StoreTables } from '../../../src/store/table-clients.js';
import { createWorkQueue, type WorkQueue } from '../../../src/store/work-queue.js';
import { sandboxSecrets } from '../../support/arm.js';
import { clientSets, freshTables, ManualClock, storageConfig } from '../store/helpers.js';

/**
 * The report owed once queued work ended, sent from the operation row (approval/report-outbox.ts) against
 * Azurite (operation row, work queue, audit trail) and the sandbox's platform stand-ins through the real
 * reporter: claimed by moving the row's generation on (so two senders cannot both post), delivered, kept as
 * sent / pending / given up, retried through a `report` message, and — at the end — recorded beside the
 * decision as `<request id>:reported` with every try.
 */

const CONN =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/privateendpointconnection1';
/** Backoff between tries: 0.5–1 s, so a retry message is invisible for one second. */
const RETRY_MS = 1_000;
const MESSAGE = { text: 'Approved privateendpointconnection1 (request 1)', ok: true };

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});
beforeEach(() => sandbox.reset());

interface World {
  config: StorageConfig;
  clock: ManualClock;
  tables: StoreTables;
  operations: TableOperationStore;
  queue: WorkQueue;
  audit: TableAuditTrail;
  later: LaterDeps;
  logs: { level: LogLevel; event: string; fields: Record<string, unknown> }[];
  logger: Logger;
  outbox(reporter?: Reporter): OutboxDeps;
}

/** Fresh tables and queues under a prefix of this file's own, as the composition root wires them. */
async function world(): Promise<World> {
  const config = storageConfig({ tablePrefix: `outbox${randomBytes(5).toString('hex')}` });
  const tables = await freshTables(config);
  const queue = createWorkQueue(config, { getToken: () => Promise.resolve(null) });
  await queue.create();
  const clock = new ManualClock(Date.now());
  const operations = new TableOperationStore({ table: tables.operations, clock: clock.now });
  const audit = new TableAuditTrail({ table: tables.audit, clock: clock.now, leaseSeconds: 30 });
  const later: LaterDeps = {
    queue,
    operations,
    idempotency: new TableIdempotencyStore({
      table: tables.idempotency,
      chainTable: tables.audit,
      clock: clock.now,
      claimLeaseSeconds: 30,
      idempotencyTtlHours: 1,
    }),
    now: clock.now,
    maxAgeMs: 3_600_000,
    retryBaseMs: RETRY_MS,
    retryMaxMs: RETRY_MS,
    resultTtlMs: 3_600_000,
  };
  const logs: World['logs'] = [];
  const logger = createLogger({
    level: 'debug',
    now: clock.now,
    sink: (level, line) => {
      const { event, ...fields } = JSON.parse(line) as { event: string } & Record<string, unknown>;
      logs.push({ level, event, fields });
    },
  });
  return {
    config,
    clock,
    tables,
    operations,
    queue,
    audit,
    later,
    logs,
    logger,
    outbox: (reporter = slackReporter()) => ({ later, reporter, audit, now: clock.now }),
  };
}

/** The reporter as the composition root builds it, pointed at the sandbox (its host is on the Slack list). */
function reporter(
  options: { servicenow?: boolean; slackHosts?: readonly string[]; now?: () => number } = {},
): Reporter {
  const http = createOutbound({ tls: { ca: sandbox.caCertPem } });
  const secrets = sandboxSecrets(sandbox, { timeoutMs: 2_000, failureBackoffSeconds: 1 });
  return createReporter({
    http,
    secrets,
    ...(options.servicenow === false
      ? {}
      : {
          writeWorkNote: createServiceNowWriter({
            instanceUrl: `${sandbox.armEndpoint}/_servicenow`,
            table: 'change_request',
            credentialsSecretName: 'servicenow-api-credentials',
            secrets,
            http,
            now: Date.now,
            timeoutMs: 2_000,
          }),
        }),
    teamsWorkflowSecretName: 'teams-workflow-url',
    slackResponseUrlHosts: options.slackHosts ?? ['hooks.slack.com', new URL(sandbox.armEndpoint).host],
    now: options.now ?? Date.now,
  });
}

const slackReporter = (): Reporter => reporter();
const slackTarget = (): ReportTarget => ({
  kind: 'slack',
  responseUrl: sandbox.slackResponseUrl(randomBytes(6).toString('hex')),
});

function work(target: ReportTarget): Work {
  return {
    source: target.kind === 'servicenow' ? 'servicenow' : target.kind === 'slack' ? 'slack' : 'generic',
    caller: { source: 'generic', scheme: 'standard-webhooks', id: 'webhook-secret' },
    request: { connectionId: CONN, decision: 'Approved' },
    connectionId: CONN,
    started: Date.now(),
    claim: { partitionKey: 'p', rowKey: 'r', fingerprint: 'f', ttlMs: 60_000 },
    report: target,
  };
}

/** A row as finishApproval leaves it: done, the answer kept, the report owed and due now. */
async function ended(w: World, target: ReportTarget, outbox: Partial<Outbox> = {}): Promise<Operation> {
  const requestId = randomUUID();
  const now = w.clock.now();
  await w.operations.open(
    {
      requestId,
      callerKey: 'standard-webhooks:webhook-secret',
      acceptedAt: now,
      deadline: now + 3_600_000,
      attempts: [],
      nextAttemptAt: now,
      work: work(target),
      carry: {},
    },
    now + 3_600_000,
  );
  const taken = await w.operations.take(requestId, 0, 'worker-a', 30_000);
  if (taken.kind !== 'taken') throw new Error(`could not take ${requestId}`);
  const done = await w.operations.update(taken.operation, {
    state: 'done',
    owner: '',
    leaseUntil: 0,
    result: { status: 200, headers: {}, body: '{}' },
    outbox: { target, ...MESSAGE, state: 'pending', reports: [], nextAt: now, noted: false, ...outbox },
  });
  if (done === undefined) throw new Error(`could not end ${requestId}`);
  return done;
}

async function row(w: World, requestId: string): Promise<Operation> {
  const read = await w.operations.get(requestId);
  expect(read).toBeDefined();
  return read!;
}

async function reportedNote(w: World, requestId: string): Promise<AuditRecord | undefined> {
  return (await w.audit.get(`${requestId}:reported`)) as AuditRecord | undefined;
}

function queueClient(w: World): QueueClient {
  expect(w.queue.clients).toBeDefined();
  return w.queue.clients!.queue;
}

async function waiting(w: World): Promise<number> {
  return (await queueClient(w).getProperties()).approximateMessagesCount ?? 0;
}

/** Waits until the messages sent with a delay become visible, and reads them (decoded, not removed). */
async function visibleJobs(w: World, count: number, ms = 4_000): Promise<Job[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const peeked = await queueClient(w).peekMessages({ numberOfMessages: 32 });
    const jobs = peeked.peekedMessageItems.map((item) =>
      parseJob(Buffer.from(item.messageText, 'base64').toString('utf8')),
    );
    if (jobs.length >= count || Date.now() > deadline) return jobs;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What the worker does with a `report` message: only the current generation sends (approval-worker.ts). */
async function onReportMessage(w: World, deps: OutboxDeps, job: Job): Promise<boolean> {
  const operation = await w.operations.get(job.requestId);
  if (operation?.state !== 'done' || operation.generation !== job.generation) return false;
  await sendReport(deps, operation, w.logger);
  return true;
}

describe('a report that goes through', () => {
  it('posts once, keeps the outbox as sent, records <id>:reported, and schedules nothing', async () => {
    const w = await world();
    const target = slackTarget();
    const operation = await ended(w, target);

    await sendReport(w.outbox(), operation, w.logger);

    expect(sandbox.platforms.slackPosts()).toEqual([
      {
        path: new URL((target as { responseUrl: string }).responseUrl).pathname,
        body: { response_type: 'in_channel', replace_original: false, text: MESSAGE.text },
        at: expect.any(Number) as number,
      },
    ]);
    const kept = await row(w, operation.requestId);
    expect(kept.generation).toBe(operation.generation + 1);
    expect(kept.outbox).toMatchObject({ state: 'sent', reports: [{ to: 'slack', ok: true }] });
    expect(await waiting(w)).toBe(0);

    expect(await reportedNote(w, operation.requestId)).toMatchObject({
      requestId: `${operation.requestId}:reported`,
      about: operation.requestId,
      outcome: 'reported',
      source: 'slack',
      connectionId: CONN,
      httpStatus: 200,
      reports: [{ to: 'slack', ok: true }],
    });
    expect(w.logs.find((l) => l.event === 'approval.reported')).toMatchObject({
      level: 'info',
      fields: { tries: 1 },
    });
    // The row is no longer owed anything: the sweeper leaves it alone.
    const unfinished: Operation[] = [];
    for await (const r of w.operations.unfinished()) unfinished.push(r);
    expect(unfinished).toEqual([]);
  });

  it('writes a ServiceNow work note through the real writer (credentials from the Key Vault stand-in)', async () => {
    const w = await world();
    const sysId = randomBytes(16).toString('hex');
    const operation = await ended(w, { kind: 'servicenow', sysId });

    await sendReport(w.outbox(reporter()), operation, w.logger);

    expect(sandbox.platforms.workNotes().map((n) => [n.sysId, n.note])).toEqual([[sysId, MESSAGE.text]]);
    expect((await row(w, operation.requestId)).outbox?.state).toBe('sent');
    expect((await reportedNote(w, operation.requestId))?.reports).toEqual([
      { to: 'servicenow', at: expect.any(String) as string, ok: true },
    ]);
  });

  it('is delivered once when two senders race on the same row (one claim wins)', async () => {
    const w = await world();
    const operation = await ended(w, slackTarget());
    // Two instances, each with its own clients, both holding the row as read.
    const [a, b] = clientSets(w.config, 2)
      .map((tables) => new TableOperationStore({ table: tables.operations, clock: w.clock.now }))
      .map((operations) => ({ ...w.outbox(), later: { ...w.later, operations } }));

    await Promise.all([sendReport(a!, operation, w.logger), sendReport(b!, operation, w.logger)]);

    expect(sandbox.platforms.counts().slack).toBe(1);
    const kept = await row(w, operation.requestId);
    expect(kept.generation).toBe(operation.generation + 1);
    expect(kept.outbox?.state).toBe('sent');
    expect(kept.outbox?.reports).toHaveLength(1);
    expect((await reportedNote(w, operation.requestId))?.reports).toHaveLength(1);
  });

  it('does nothing for a row read before it was sent, nor for one sent already', async () => {
    const w = await world();
    const operation = await ended(w, slackTarget());
    await sendReport(w.outbox(), operation, w.logger);
    const sent = await row(w, operation.requestId);

    // A redelivered message with the row as it was read before: its claim is refused.
    await sendReport(w.outbox(), operation, w.logger);
    // The row as it is now: nothing owed.
    await sendReport(w.outbox(), sent, w.logger);

    expect(sandbox.platforms.counts().slack).toBe(1);
    expect(await row(w, operation.requestId)).toEqual(sent);
  });

  it('does nothing for a row that owes no report (no outbox, or one whose end is recorded): not even a claim', async () => {
    const w = await world();
    const owed = await ended(w, slackTarget(), { state: 'given-up', noted: true });
    const given = await row(w, owed.requestId);
    await sendReport(w.outbox(), given, w.logger);
    expect(await row(w, given.requestId)).toEqual(given);

    const noOutbox = { ...given };
    delete noOutbox.outbox;
    await sendReport(w.outbox(), noOutbox, w.logger);
    expect(await row(w, given.requestId)).toEqual(given);
    expect(sandbox.platforms.counts().slack).toBe(0);
  });
});

describe('the end of a report', () => {
  it('is recorded later when it could not be at first: a given-up report whose note is owed gets it, and no post', async () => {
    const w = await world();
    const owed = await ended(w, slackTarget(), {
      state: 'given-up',
      noted: false,
      reports: [{ to: 'slack', at: new Date(w.clock.now()).toISOString(), ok: false, detail: 'gone' }],
    });
    await sendReport(w.outbox(), owed, w.logger);
    expect((await row(w, owed.requestId)).outbox?.noted).toBe(true);
    expect(await reportedNote(w, owed.requestId)).toMatchObject({ outcome: 'reported', httpStatus: 502 });
    expect(sandbox.platforms.counts().slack).toBe(0);
  });

  it('is claimed by one sender: a second sender reading the row after the claim finds nothing due', async () => {
    const w = await world();
    const operation = await ended(w, slackTarget());
    await Promise.all([
      sendReport(w.outbox(), operation, w.logger),
      sendReport(w.outbox(), operation, w.logger),
    ]);
    const afterClaim = await row(w, operation.requestId);
    await sendReport(w.outbox(), afterClaim, w.logger);
    expect(sandbox.platforms.counts().slack).toBe(1);
  });
});

describe('a report that fails', () => {
  it('stays pending with the failed try kept, and a report message of the new generation is scheduled', async () => {
    const w = await world();
    const operation = await ended(w, slackTarget());
    sandbox.platforms.failNext('slack', 1);
    const before = w.clock.now();

    await sendReport(w.outbox(), operation, w.logger);

    const kept = await row(w, operation.requestId);
    expect(kept.generation).toBe(operation.generation + 1);
    expect(kept.outbox).toMatchObject({ state: 'pending', reports: [{ to: 'slack', ok: false }] });
    expect(kept.outbox!.reports[0]!.detail).toMatch(/503/);
    expect(kept.outbox!.nextAt - before).toBeGreaterThanOrEqual(RETRY_MS / 2);
    expect(kept.outbox!.nextAt - before).toBeLessThanOrEqual(RETRY_MS);
    expect(await reportedNote(w, operation.requestId)).toBeUndefined();

    // The message waits out its delay, then names the row and the generation it was sent for — nothing else.
    expect(await waiting(w)).toBe(1);
    const jobs = await visibleJobs(w, 1);
    expect(jobs).toEqual([{ kind: 'report', requestId: operation.requestId, generation: kept.generation }]);

    // The worker picks it up once its delay has passed: the second try goes through, and the record has both.
    w.clock.advance(kept.outbox!.nextAt - w.clock.now());
    expect(await onReportMessage(w, w.outbox(), jobs[0]!)).toBe(true);
    const sent = await row(w, operation.requestId);
    expect(sent.outbox).toMatchObject({ state: 'sent', reports: [{ ok: false }, { ok: true }] });
    expect(sandbox.platforms.counts().slack).toBe(1);
    expect((await reportedNote(w, operation.requestId))?.reports?.map((r) => r.ok)).toEqual([false, true]);

    // The same message delivered again is of an older generation now: it sends nothing.
    expect(await onReportMessage(w, w.outbox(), jobs[0]!)).toBe(false);
    expect(sandbox.platforms.counts().slack).toBe(1);
  });

  it("waits out a 429's Retry-After longer than its backoff, and keeps how long it was asked to wait", async () => {
    const w = await world();
    const operation = await ended(w, slackTarget());
    sandbox.platforms.failNext('slack', 1, 429, '120');
    const before = w.clock.now();

    await sendReport(w.outbox(), operation, w.logger);

    const kept = await row(w, operation.requestId);
    expect(kept.outbox?.state).toBe('pending');
    expect(kept.outbox!.reports[0]).toMatchObject({ ok: false, retryAfterSeconds: 120 });
    expect(kept.outbox!.reports[0]!.detail).toMatch(/answered 429, asking to wait 120 s/);
    expect(kept.outbox!.nextAt - before).toBeGreaterThanOrEqual(120_000);
    // The retry message is in the queue, and still invisible past the backoff's longest wait (1 s here).
    expect(await waiting(w)).toBe(1);
    expect(await visibleJobs(w, 1, 1_500)).toEqual([]);
  });

  it("ends a Slack report whose Retry-After runs past the response_url's 30 minutes: a later post would be refused", async () => {
    const w = await world();
    const operation = await ended(w, slackTarget());
    sandbox.platforms.failNext('slack', 1, 429, '1800');

    await sendReport(w.outbox(), operation, w.logger);

    const kept = await row(w, operation.requestId);
    expect(kept.outbox?.state).toBe('given-up');
    expect(kept.outbox!.reports).toHaveLength(1);
    expect(await waiting(w)).toBe(0);
    expect((await reportedNote(w, operation.requestId))?.reports?.[0]?.detail).toMatch(
      /asking to wait 1800 s/,
    );
  });

  it('waits an hour at most, whatever Retry-After asks (a date far away, here)', async () => {
    const w = await world();
    const operation = await ended(w, { kind: 'servicenow', sysId: randomBytes(16).toString('hex') });
    sandbox.platforms.failNext('servicenow', 1, 503, new Date(Date.now() + 86_400_000).toUTCString());
    const before = w.clock.now();

    await sendReport(w.outbox(reporter()), operation, w.logger);

    const kept = await row(w, operation.requestId);
    expect(kept.outbox?.state).toBe('pending');
    expect(kept.outbox!.reports[0]!.detail).toMatch(/asking to wait 3600 s/);
    expect(kept.outbox!.nextAt - before).toBe(MAX_REPORT_WAIT_SECONDS * 1000);
  });

  it(`keeps trying a ServiceNow note past Slack's ${MAX_REPORT_TRIES}, up to ${MAX_REPORT_TRIES_UNCAPPED} tries`, async () => {
    const w = await world();
    const operation = await ended(w, { kind: 'servicenow', sysId: randomBytes(16).toString('hex') });
    sandbox.platforms.failNext('servicenow', MAX_REPORT_TRIES_UNCAPPED + 1);
    for (let tries = 1; tries <= MAX_REPORT_TRIES_UNCAPPED; tries++) {
      const current = await row(w, operation.requestId);
      w.clock.advance(Math.max(0, (current.outbox?.nextAt ?? 0) - w.clock.now()));
      await sendReport(w.outbox(reporter()), current, w.logger);
      const state = (await row(w, operation.requestId)).outbox?.state;
      expect(state).toBe(tries < MAX_REPORT_TRIES_UNCAPPED ? 'pending' : 'given-up');
    }
    expect((await reportedNote(w, operation.requestId))?.reports).toHaveLength(MAX_REPORT_TRIES_UNCAPPED);
  });

  it('gives a report up at once when the platform refuses it for good (a 404: the record is gone)', async () => {
    const w = await world();
    // A first note fetches the OAuth token, so the refusal below is the Table API's.
    const writer = reporter();
    const warm = await ended(w, { kind: 'servicenow', sysId: randomBytes(16).toString('hex') });
    await sendReport(w.outbox(writer), warm, w.logger);
    const operation = await ended(w, { kind: 'servicenow', sysId: randomBytes(16).toString('hex') });
    sandbox.platforms.failNext('servicenow', 1, 404);
    await sendReport(w.outbox(writer), operation, w.logger);
    expect((await row(w, operation.requestId)).outbox?.state).toBe('given-up');
    expect((await reportedNote(w, operation.requestId))?.reports).toEqual([
      expect.objectContaining({ ok: false, detail: expect.stringMatching(/answered 404/) }),
    ]);
    expect(await waiting(w)).toBe(0);
  });

  it("keeps trying when ServiceNow's token endpoint refuses the credentials (fixed in Key Vault, not final)", async () => {
    const w = await world();
    const operation = await ended(w, { kind: 'servicenow', sysId: randomBytes(16).toString('hex') });
    sandbox.platforms.failNext('servicenow', 1, 400);
    await sendReport(w.outbox(reporter()), operation, w.logger);
    expect((await row(w, operation.requestId)).outbox?.state).toBe('pending');
  });

  it(`gives up after ${MAX_REPORT_TRIES} tries in all and records every one of them`, async () => {
    const w = await world();
    const operation = await ended(w, slackTarget());
    sandbox.platforms.failNext('slack', MAX_REPORT_TRIES + 1);

    for (let tries = 1; tries <= MAX_REPORT_TRIES; tries++) {
      const current = await row(w, operation.requestId);
      w.clock.advance(Math.max(0, (current.outbox?.nextAt ?? 0) - w.clock.now()));
      expect(current.outbox?.state).toBe('pending');
      await sendReport(w.outbox(), current, w.logger);
      const kept = await row(w, operation.requestId);
      expect(kept.outbox?.reports).toHaveLength(tries);
      expect(kept.generation).toBe(operation.generation + tries);
      if (tries < MAX_REPORT_TRIES) {
        expect(kept.outbox?.state).toBe('pending');
        expect(await reportedNote(w, operation.requestId)).toBeUndefined();
      }
    }

    const given = await row(w, operation.requestId);
    expect(given.outbox?.state).toBe('given-up');
    expect(given.outbox?.reports.every((r) => !r.ok)).toBe(true);
    // A message after each of the first four failures, none after the last.
    expect(await waiting(w)).toBe(MAX_REPORT_TRIES - 1);

    const note = await reportedNote(w, operation.requestId);
    expect(note).toMatchObject({ outcome: 'reported', about: operation.requestId, httpStatus: 502 });
    expect(note?.reports).toHaveLength(MAX_REPORT_TRIES);
    expect(note?.reports?.every((r) => r.ok === false && /503/.test(r.detail ?? ''))).toBe(true);
    expect(w.logs.find((l) => l.event === 'approval.reported')).toMatchObject({
      level: 'error',
      fields: { tries: MAX_REPORT_TRIES },
    });

    // Given up is the end: another call posts nothing (the stand-in would still fail once more).
    await sendReport(w.outbox(), given, w.logger);
    expect(sandbox.platforms.counts().slack).toBe(0);
    expect(await row(w, operation.requestId)).toEqual(given);
  });

  it('gives up at once when nothing is set up to reach the caller (Slack URL no longer allowed)', async () => {
    const w = await world();
    const operation = await ended(w, slackTarget());

    await sendReport(w.outbox(reporter({ slackHosts: ['hooks.slack.com'] })), operation, w.logger);

    const kept = await row(w, operation.requestId);
    expect(kept.outbox).toMatchObject({
      state: 'given-up',
      reports: [{ to: 'slack', ok: false, configured: false }],
    });
    expect(await waiting(w)).toBe(0);
    expect(sandbox.platforms.counts().slack).toBe(0);
    const note = await reportedNote(w, operation.requestId);
    expect(note).toMatchObject({ httpStatus: 502, reports: [{ to: 'slack', ok: false }] });
    expect(note?.reports?.[0]?.detail).toMatch(/SLACK_RESPONSE_URL_HOSTS/);
  });

  it('gives up at once for a ServiceNow caller when no ServiceNow instance is configured', async () => {
    const w = await world();
    const operation = await ended(w, { kind: 'servicenow', sysId: randomBytes(16).toString('hex') });

    await sendReport(w.outbox(reporter({ servicenow: false })), operation, w.logger);

    expect((await row(w, operation.requestId)).outbox).toMatchObject({
      state: 'given-up',
      reports: [{ to: 'servicenow', ok: false, configured: false }],
    });
    expect(await waiting(w)).toBe(0);
    expect(sandbox.platforms.counts().workNotes).toBe(0);
    expect((await reportedNote(w, operation.requestId))?.reports?.[0]?.detail).toMatch(
      /SERVICENOW_INSTANCE_URL/,
    );
  });
});
