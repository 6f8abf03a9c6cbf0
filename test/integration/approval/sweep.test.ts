import type { QueueClient } from '@azure/storage-queue';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Job } from '../../../src/approval/job.js';
import { parseJob } from '../../../src/approval/job.js';
import { SWEEP_GRACE_MS, sweepOperations } from '../../../src/approval/sweep.js';
import type { LogLevel } from '../../../src/logger.js';
import { createLogger, type Logger } from '../../../src/logger.js';
import type { Operation, Outbox, Work } from '../../../src/store/operation-store.js';
import { TableOperationStore } from '../../../src/store/operation-store.js';
import { createWorkQueue, type WorkQueue } from '../../../src/store/work-queue.js';
import { freshTables, ManualClock, storageConfig, unusedCredential } from '../store/helpers.js';

/**
 * The sweeper against Azurite's Table and Queue services (approval/sweep.ts): a row that is overdue — queued
 * past its next attempt, running past its worker's lease, or done with a report owed past its next try, each
 * by more than the grace — is sent a message of a new generation (so a stray older message does nothing).
 * Fresh rows, rows another worker holds, and rows owing nothing are left alone.
 */

const CONN =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/privateendpointconnection1';
const LEASE_MS = 60_000;
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

interface World {
  clock: ManualClock;
  operations: TableOperationStore;
  queue: WorkQueue;
  logs: { level: LogLevel; event: string; fields: Record<string, unknown> }[];
  logger: Logger;
  sweep(): Promise<{ resent: number }>;
}

async function world(): Promise<World> {
  const config = storageConfig({ tablePrefix: `sweep${randomBytes(5).toString('hex')}` });
  const tables = await freshTables(config);
  const queue = createWorkQueue(config, unusedCredential);
  await queue.create();
  const clock = new ManualClock(T0);
  const operations = new TableOperationStore({ table: tables.operations, clock: clock.now });
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
    clock,
    operations,
    queue,
    logs,
    logger,
    sweep: () => sweepOperations({ operations, queue, now: clock.now }, logger),
  };
}

const work: Work = {
  source: 'generic',
  caller: { source: 'generic', scheme: 'standard-webhooks', id: 'webhook-secret' },
  request: { connectionId: CONN, decision: 'Approved' },
  connectionId: CONN,
  started: T0,
  claim: { partitionKey: 'p', rowKey: 'r', fingerprint: 'f', ttlMs: 60_000 },
  report: { kind: 'location' },
};

/** A queued row whose next attempt is due at `nextAttemptAt`. */
async function queued(w: World, nextAttemptAt: number): Promise<Operation> {
  const requestId = randomUUID();
  await w.operations.open(
    {
      requestId,
      callerKey: 'standard-webhooks:webhook-secret',
      acceptedAt: w.clock.now(),
      deadline: w.clock.now() + 3_600_000,
      attempts: [],
      nextAttemptAt,
      work,
      carry: {},
    },
    w.clock.now() + 3_600_000,
  );
  return (await w.operations.get(requestId))!;
}

/** A row a worker took now, holding it for `leaseMs`. */
async function running(w: World, leaseMs = LEASE_MS): Promise<Operation> {
  const row = await queued(w, w.clock.now());
  const taken = await w.operations.take(row.requestId, row.generation, 'worker-a', leaseMs);
  expect(taken.kind).toBe('taken');
  return (taken as Extract<typeof taken, { kind: 'taken' }>).operation;
}

/** A done row; with an outbox in `state` whose next try is due at `nextAt`. */
async function done(w: World, outbox?: { state: Outbox['state']; nextAt: number }): Promise<Operation> {
  const row = await running(w);
  const ended = await w.operations.update(row, {
    state: 'done',
    owner: '',
    leaseUntil: 0,
    result: { status: 200, headers: {}, body: '{}' },
    ...(outbox === undefined
      ? {}
      : {
          outbox: {
            target: { kind: 'teams' },
            text: 'Approved',
            ok: true,
            state: outbox.state,
            reports: [],
            nextAt: outbox.nextAt,
            noted: outbox.state !== 'pending',
          },
        }),
  });
  expect(ended).toBeDefined();
  return (await w.operations.get(row.requestId))!;
}

function client(w: World): QueueClient {
  expect(w.queue.clients).toBeDefined();
  return w.queue.clients!.queue;
}

/** Every message in the queue, decoded exactly as the worker parses it (and so in the strict job shape). */
async function messages(w: World): Promise<Job[]> {
  const peeked = await client(w).peekMessages({ numberOfMessages: 32 });
  return peeked.peekedMessageItems.map((item) =>
    parseJob(Buffer.from(item.messageText, 'base64').toString('utf8')),
  );
}

const byId = (jobs: Job[]): Job[] => [...jobs].sort((a, b) => a.requestId.localeCompare(b.requestId));

describe('sweepOperations (Azurite)', () => {
  it('resends overdue work and owed reports with generation + 1, and leaves everything else alone', async () => {
    const w = await world();
    // Rows set up at T0, overdue once the sweep runs (at T0 + grace + a minute).
    const lateQueued = await queued(w, T0 + 5_000);
    const deadWorker = await running(w, 30_000);
    const lateReport = await done(w, { state: 'pending', nextAt: T0 });
    const sent = await done(w, { state: 'sent', nextAt: T0 });
    const givenUp = await done(w, { state: 'given-up', nextAt: T0 });
    const noReport = await done(w);

    w.clock.advance(SWEEP_GRACE_MS + 60_000);
    // Rows that are fresh when the sweep runs.
    const freshQueued = await queued(w, w.clock.now() + 5_000);
    const heldNow = await running(w);
    const freshReport = await done(w, { state: 'pending', nextAt: w.clock.now() + 5_000 });
    const untouched = [sent, givenUp, noReport, freshQueued, heldNow, freshReport];

    expect(await w.sweep()).toEqual({ resent: 3, abandoned: 0 });

    expect(byId(await messages(w))).toEqual(
      byId([
        { kind: 'approval', requestId: lateQueued.requestId, generation: lateQueued.generation + 1 },
        { kind: 'approval', requestId: deadWorker.requestId, generation: deadWorker.generation + 1 },
        { kind: 'report', requestId: lateReport.requestId, generation: lateReport.generation + 1 },
      ]),
    );
    for (const resent of [lateQueued, deadWorker, lateReport]) {
      const now = await w.operations.get(resent.requestId);
      // Only the generation moves: the state, the lease and the outbox stay as they were.
      expect(now).toMatchObject({
        state: resent.state,
        generation: resent.generation + 1,
        leaseUntil: resent.leaseUntil,
      });
      expect(now?.outbox).toEqual(resent.outbox);
    }
    for (const row of untouched) {
      expect(await w.operations.get(row.requestId)).toEqual(row);
    }
    expect(w.logs.filter((l) => l.event === 'operation.swept').map((l) => l.fields.kind)).toEqual(
      expect.arrayContaining(['approval', 'approval', 'report']),
    );
  });

  it("runs the row only with the new message: the old generation's message is stale", async () => {
    const w = await world();
    const lateQueued = await queued(w, T0);
    const deadWorker = await running(w, 1_000);
    w.clock.advance(SWEEP_GRACE_MS + 1_001);
    expect(await w.sweep()).toEqual({ resent: 2, abandoned: 0 });

    expect(
      await w.operations.take(lateQueued.requestId, lateQueued.generation, 'worker-b', LEASE_MS),
    ).toEqual({ kind: 'none', why: 'stale' });
    expect(
      await w.operations.take(lateQueued.requestId, lateQueued.generation + 1, 'worker-b', LEASE_MS),
    ).toMatchObject({ kind: 'taken', takenOver: false });

    // The worker that held the other row died: the new message takes it over, and says so.
    expect(
      await w.operations.take(deadWorker.requestId, deadWorker.generation, 'worker-b', LEASE_MS),
    ).toEqual({ kind: 'none', why: 'stale' });
    expect(
      await w.operations.take(deadWorker.requestId, deadWorker.generation + 1, 'worker-b', LEASE_MS),
    ).toMatchObject({ kind: 'taken', takenOver: true, operation: { owner: 'worker-b' } });
  });

  it('waits out the grace: due exactly the grace ago is left, a millisecond later is resent', async () => {
    const w = await world();
    const queuedRow = await queued(w, T0);
    const report = await done(w, { state: 'pending', nextAt: T0 });
    const held = await running(w, 0);

    w.clock.nowMs = T0 + SWEEP_GRACE_MS;
    expect(await w.sweep()).toEqual({ resent: 0, abandoned: 0 });
    expect(await messages(w)).toEqual([]);

    w.clock.advance(1);
    expect(await w.sweep()).toEqual({ resent: 3, abandoned: 0 });
    expect(byId(await messages(w))).toEqual(
      byId([
        { kind: 'approval', requestId: queuedRow.requestId, generation: 1 },
        { kind: 'report', requestId: report.requestId, generation: report.generation + 1 },
        { kind: 'approval', requestId: held.requestId, generation: 1 },
      ]),
    );
  });

  it('sends again only after waiting twice as long each time, each message of a newer generation', async () => {
    const w = await world();
    const row = await queued(w, T0);
    w.clock.advance(SWEEP_GRACE_MS + 1);
    expect(await w.sweep()).toEqual({ resent: 1, abandoned: 0 });
    // A queue that is merely slow is not flooded: the next resend waits for twice the grace.
    expect(await w.sweep()).toEqual({ resent: 0, abandoned: 0 });
    w.clock.advance(SWEEP_GRACE_MS);
    expect(await w.sweep()).toEqual({ resent: 1, abandoned: 0 });

    expect(await messages(w)).toEqual([
      { kind: 'approval', requestId: row.requestId, generation: 1 },
      { kind: 'approval', requestId: row.requestId, generation: 2 },
    ]);
    // Only the newest message runs the row.
    expect((await w.operations.take(row.requestId, 1, 'worker-b', LEASE_MS)).kind).toBe('none');
    expect((await w.operations.take(row.requestId, 2, 'worker-b', LEASE_MS)).kind).toBe('taken');
    // Running now, under a live lease: the next sweep leaves it.
    expect(await w.sweep()).toEqual({ resent: 0, abandoned: 0 });
  });

  it('resends nothing for an empty table', async () => {
    const w = await world();
    w.clock.advance(24 * 3_600_000);
    expect(await w.sweep()).toEqual({ resent: 0, abandoned: 0 });
    expect(await messages(w)).toEqual([]);
  });
});
