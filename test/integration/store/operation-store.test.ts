import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  MAX_ATTEMPTS_KEPT,
  TableOperationStore,
  type Attempt,
  type NewOperation,
  type Operation,
  type Outbox,
  type StoredResult,
  type Work,
} from '../../../src/store/operation-store.js';
import { purgeExpired } from '../../../src/store/retention.js';
import type { StoreTable } from '../../../src/store/table-clients.js';
import { clientSets, freshTables, ManualClock, storageConfig } from './helpers.js';

/**
 * The operation row of work that continues from the queue, against Azurite's Table service. The row is the
 * only thing a worker trusts: it holds the validated command (`work`), the generation a queue message must name
 * to run it, one worker's lease at a time (written under the row's ETag), and once done the caller's answer and
 * the report still owed (`outbox`), which the sweeper finds through `unfinished()`.
 */

const LEASE_MS = 30_000;
const EXPIRES_IN_MS = 48 * 3_600_000;
const CONN =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1/privateEndpointConnections/pe1';

/** A table prefix of this file's own, different for every test. */
const prefix = (): string => `opstore${randomBytes(5).toString('hex')}`;

function make(table: StoreTable, clock: ManualClock): TableOperationStore {
  return new TableOperationStore({ table, clock: clock.now });
}

function work(overrides: Partial<Work> = {}): Work {
  return {
    source: 'generic',
    caller: { source: 'generic', scheme: 'standard-webhooks', id: 'webhook-secret', deliveryId: 'msg_1' },
    request: {
      connectionId: CONN,
      decision: 'Approved',
      description: 'Approved by the private link approver: Genehmigt ✓',
      ticket: { system: 'servicenow', id: 'CHG0001234' },
    },
    connectionId: CONN,
    started: Date.UTC(2025, 0, 1, 11, 59, 59, 500),
    claim: { partitionKey: 'i-abc', rowKey: 'claim', fingerprint: 'f'.repeat(64), ttlMs: 86_400_000 },
    report: { kind: 'location' },
    ...overrides,
  };
}

function newOperation(
  requestId: string,
  clock: ManualClock,
  options: { attempts?: Attempt[]; work?: Work } = {},
): NewOperation {
  return {
    requestId,
    callerKey: 'standard-webhooks:webhook-secret',
    acceptedAt: clock.now(),
    deadline: clock.now() + 3_600_000,
    attempts: options.attempts ?? [],
    nextAttemptAt: clock.now() + 5_000,
    work: options.work ?? work(),
    carry: {},
  };
}

const RESULT: StoredResult = {
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: '{"outcome":"approved"}',
};

function outbox(state: Outbox['state'], nextAt: number): Outbox {
  return {
    target: { kind: 'servicenow', sysId: 'a'.repeat(32) },
    text: 'Approved pe1',
    ok: true,
    state,
    reports: state === 'pending' ? [] : [{ to: 'servicenow', at: '2025-01-01T12:00:00.000Z', ok: true }],
    nextAt,
    noted: state !== 'pending',
  };
}

async function setup(): Promise<{ store: TableOperationStore; clock: ManualClock; table: StoreTable }> {
  const tables = await freshTables(storageConfig({ tablePrefix: prefix() }));
  const clock = new ManualClock();
  return { store: make(tables.operations, clock), clock, table: tables.operations };
}

/** Opens an operation and takes it for `owner`, as a worker does with the message of generation 0. */
async function opened(
  store: TableOperationStore,
  clock: ManualClock,
  requestId: string = randomUUID(),
): Promise<Operation> {
  await store.open(newOperation(requestId, clock), clock.now() + EXPIRES_IN_MS);
  const read = await store.get(requestId);
  expect(read).toBeDefined();
  return read!;
}

async function taken(store: TableOperationStore, requestId: string, owner = 'worker-a'): Promise<Operation> {
  const result = await store.take(requestId, 0, owner, LEASE_MS);
  expect(result.kind).toBe('taken');
  return (result as Extract<typeof result, { kind: 'taken' }>).operation;
}

async function listed(store: TableOperationStore): Promise<Operation[]> {
  const rows: Operation[] = [];
  for await (const row of store.unfinished()) rows.push(row);
  return rows;
}

describe('open and get', () => {
  it('opens an operation as queued, generation 0, with the whole command, readable at once', async () => {
    const { store, clock } = await setup();
    const attempts: Attempt[] = [{ at: '2025-01-01T11:59:59.000Z', armStatus: 503, code: 'ServerBusy' }];
    const slack = work({
      source: 'slack',
      caller: { source: 'slack', scheme: 'slack-v0', id: 'slack-signing-secret', name: 'U0123' },
      report: { kind: 'slack', responseUrl: 'https://hooks.slack.com/commands/T1/2/abc' },
      seenStatus: 'Pending',
    });
    const input = {
      ...newOperation('req-open', clock, { attempts, work: slack }),
      carry: { putSent: { previousStatus: 'Pending' } },
    };
    await store.open(input, clock.now() + EXPIRES_IN_MS);

    const read = await store.get('req-open');
    expect(read).toEqual({
      requestId: 'req-open',
      callerKey: input.callerKey,
      state: 'queued',
      acceptedAt: input.acceptedAt,
      deadline: input.deadline,
      generation: 0,
      swept: 0,
      attemptCount: 1,
      attempts,
      nextAttemptAt: input.nextAttemptAt,
      leaseUntil: 0,
      work: slack,
      carry: { putSent: { previousStatus: 'Pending' } },
      etag: expect.stringMatching(/\S/) as string,
    });
    expect(read!.owner).toBeUndefined();
    expect(read!.result).toBeUndefined();
    expect(read!.outbox).toBeUndefined();
  });

  it('keeps epoch milliseconds beyond Int32 exactly', async () => {
    const { store, clock } = await setup();
    clock.nowMs = Date.UTC(2031, 6, 15, 8, 30, 0, 123);
    await store.open(newOperation('req-int64', clock), clock.now() + EXPIRES_IN_MS);
    const read = await store.get('req-int64');
    expect(read?.acceptedAt).toBe(Date.UTC(2031, 6, 15, 8, 30, 0, 123));
    expect(read?.nextAttemptAt).toBe(Date.UTC(2031, 6, 15, 8, 30, 5, 123));
    expect(read?.deadline).toBe(Date.UTC(2031, 6, 15, 9, 30, 0, 123));
  });

  it('is idempotent per request id: a second open neither fails nor overwrites the first', async () => {
    const { store, clock } = await setup();
    await store.open(newOperation('req-twice', clock), clock.now() + EXPIRES_IN_MS);
    const first = await store.get('req-twice');
    clock.advance(1_000);
    const other = {
      ...newOperation('req-twice', clock),
      callerKey: 'slack-v0:U1',
      work: work({ source: 'slack' }),
    };
    await expect(store.open(other, clock.now() + EXPIRES_IN_MS)).resolves.toBeUndefined();
    expect(await store.get('req-twice')).toEqual(first);
  });

  it('treats request ids case-insensitively', async () => {
    const { store, clock } = await setup();
    const id = randomUUID().toUpperCase();
    await store.open(newOperation(id, clock), clock.now() + EXPIRES_IN_MS);
    expect((await store.get(id.toLowerCase()))?.requestId).toBe(id);
    expect((await store.take(id.toLowerCase(), 0, 'worker-a', LEASE_MS)).kind).toBe('taken');
  });

  it('answers undefined, and none/missing, for an operation it never opened', async () => {
    const { store } = await setup();
    expect(await store.get('never-opened')).toBeUndefined();
    expect(await store.take('never-opened', 0, 'worker-a', LEASE_MS)).toEqual({
      kind: 'none',
      why: 'missing',
    });
  });

  it('ignores a row without the command (written by an older version): nothing to run from it', async () => {
    const { store, clock, table } = await setup();
    await store.open(newOperation('req-old', clock), clock.now() + EXPIRES_IN_MS);
    for await (const row of table.client.listEntities()) {
      const broken = { partitionKey: row.partitionKey!, rowKey: row.rowKey!, work: 'not json' };
      await table.client.updateEntity(broken, 'Merge');
    }
    expect(await store.get('req-old')).toBeUndefined();
    expect((await store.take('req-old', 0, 'worker-a', LEASE_MS)).kind).toBe('none');
    expect(await listed(store)).toEqual([]);
  });
});

describe('take', () => {
  it('takes a queued operation for one owner, with a lease, and answers busy to others while it lasts', async () => {
    const { store, clock } = await setup();
    const before = await opened(store, clock, 'req-take');

    const result = await store.take('req-take', 0, 'worker-a', LEASE_MS);
    expect(result).toMatchObject({
      kind: 'taken',
      takenOver: false,
      operation: {
        requestId: 'req-take',
        state: 'running',
        owner: 'worker-a',
        leaseUntil: clock.now() + LEASE_MS,
      },
    });
    const operation = (result as Extract<typeof result, { kind: 'taken' }>).operation;
    expect(operation.etag).not.toBe(before.etag);
    expect(operation.generation).toBe(0);

    const stored = await store.get('req-take');
    expect(stored).toEqual(operation);

    clock.advance(LEASE_MS - 1);
    expect(await store.take('req-take', 0, 'worker-b', LEASE_MS)).toEqual({
      kind: 'busy',
      leaseUntil: operation.leaseUntil,
    });
    expect((await store.get('req-take'))?.owner).toBe('worker-a');
  });

  it('lets another worker take over once the lease ran out, says so, and refuses the old holder every write', async () => {
    const { store, clock } = await setup();
    await opened(store, clock, 'req-dead');
    const first = await taken(store, 'req-dead', 'worker-a');

    clock.advance(LEASE_MS + 1);
    const second = await store.take('req-dead', 0, 'worker-b', LEASE_MS);
    expect(second).toMatchObject({
      kind: 'taken',
      takenOver: true,
      operation: { state: 'running', owner: 'worker-b', leaseUntil: clock.now() + LEASE_MS },
    });

    // The dead worker's writes are all conditional on the ETag it saw: none of them lands any more.
    expect(await store.update(first, { state: 'queued', owner: '', leaseUntil: 0 })).toBeUndefined();
    expect(await store.update(first, { carry: { putSent: { previousStatus: 'Pending' } } })).toBeUndefined();
    expect(await store.update(first, { state: 'done', result: RESULT })).toBeUndefined();
    expect(await store.get('req-dead')).toMatchObject({
      state: 'running',
      owner: 'worker-b',
      carry: {},
      attempts: [],
    });
  });

  it('takes a row given back (queued, lease cleared) without calling it a takeover', async () => {
    const { store, clock } = await setup();
    await opened(store, clock, 'req-back');
    const first = await taken(store, 'req-back');
    expect(await store.update(first, { state: 'queued', owner: '', leaseUntil: 0 })).toBeDefined();
    expect(await store.take('req-back', 0, 'worker-b', LEASE_MS)).toMatchObject({
      kind: 'taken',
      takenOver: false,
      operation: { owner: 'worker-b' },
    });
  });

  it('gives exactly one of many concurrent workers on separate clients the operation; the others hear busy', async () => {
    const config = storageConfig({ tablePrefix: prefix() });
    await freshTables(config);
    const clock = new ManualClock();
    const stores = clientSets(config, 20).map((tables) => make(tables.operations, clock));
    await stores[0]!.open(newOperation('req-race', clock), clock.now() + EXPIRES_IN_MS);

    const results = await Promise.all(stores.map((store, i) => store.take('req-race', 0, `w${i}`, LEASE_MS)));
    const winners = results.filter((r) => r.kind === 'taken');
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'busy')).toHaveLength(19);
    expect((await stores[0]!.get('req-race'))?.owner).toBe(winners[0]!.operation.owner);
  });

  it('gives exactly one of many concurrent workers an operation whose lease ran out, as a takeover', async () => {
    const config = storageConfig({ tablePrefix: prefix() });
    await freshTables(config);
    const clock = new ManualClock();
    const stores = clientSets(config, 20).map((tables) => make(tables.operations, clock));
    await stores[0]!.open(newOperation('req-race-2', clock), clock.now() + EXPIRES_IN_MS);
    expect((await stores[0]!.take('req-race-2', 0, 'dead', LEASE_MS)).kind).toBe('taken');
    clock.advance(LEASE_MS + 1);

    const results = await Promise.all(
      stores.map((store, i) => store.take('req-race-2', 0, `w${i}`, LEASE_MS)),
    );
    const winners = results.filter((r) => r.kind === 'taken');
    expect(winners).toHaveLength(1);
    expect(winners[0]!.takenOver).toBe(true);
    expect((await stores[0]!.get('req-race-2'))?.owner).toBe(winners[0]!.operation.owner);
  });

  it('runs only the message of the current generation: any other is none/stale', async () => {
    const { store, clock } = await setup();
    const row = await opened(store, clock, 'req-gen');
    expect(await store.take('req-gen', 1, 'worker-a', LEASE_MS)).toEqual({ kind: 'none', why: 'stale' });

    // A retry (or the sweeper) sends a message of the next generation: the old one no longer runs the row.
    const bumped = await store.update(row, { generation: 1 });
    expect(bumped?.generation).toBe(1);
    expect(await store.take('req-gen', 0, 'worker-a', LEASE_MS)).toEqual({ kind: 'none', why: 'stale' });
    expect(await store.take('req-gen', 2, 'worker-a', LEASE_MS)).toEqual({ kind: 'none', why: 'stale' });
    const result = await store.take('req-gen', 1, 'worker-b', LEASE_MS);
    expect(result).toMatchObject({ kind: 'taken', operation: { generation: 1, owner: 'worker-b' } });

    // Stale even when the lease has run out: a stray old message never takes the row over.
    clock.advance(LEASE_MS + 1);
    expect(await store.take('req-gen', 0, 'worker-c', LEASE_MS)).toEqual({ kind: 'none', why: 'stale' });
    expect((await store.get('req-gen'))?.owner).toBe('worker-b');
  });

  it('never takes a done row again, whatever the generation or the time: none/done with the row', async () => {
    const { store, clock } = await setup();
    await opened(store, clock, 'req-done');
    const running = await taken(store, 'req-done');
    const done = await store.update(running, { state: 'done', owner: '', leaseUntil: 0, result: RESULT });
    expect(done).toBeDefined();

    for (const generation of [0, 1, 99]) {
      const result = await store.take('req-done', generation, 'worker-b', LEASE_MS);
      expect(result).toMatchObject({
        kind: 'none',
        why: 'done',
        operation: { state: 'done', result: RESULT },
      });
    }
    clock.advance(10 * LEASE_MS);
    expect((await store.take('req-done', 0, 'worker-b', LEASE_MS)).kind).toBe('none');
    expect((await store.get('req-done'))?.state).toBe('done');
  });
});

describe('update', () => {
  it('writes a patch under the ETag it was read with and answers the row as written', async () => {
    const { store, clock } = await setup();
    await opened(store, clock, 'req-upd');
    const running = await taken(store, 'req-upd');
    const attempts: Attempt[] = [
      { at: '2025-01-01T12:00:00.000Z', armStatus: 503, code: 'ServerBusy' },
      { at: '2025-01-01T12:00:05.000Z', armStatus: 504, mayHaveApplied: true },
    ];
    const patch = {
      state: 'queued' as const,
      owner: '',
      leaseUntil: 0,
      generation: 1,
      attempts,
      attemptCount: 2,
      nextAttemptAt: clock.now() + 7_000,
      carry: { putSent: { previousStatus: 'Pending' } },
    };
    const written = await store.update(running, patch);
    expect(written).toMatchObject({ ...patch, work: running.work, acceptedAt: running.acceptedAt });
    expect(written!.etag).not.toBe(running.etag);

    const read = await store.get('req-upd');
    const { owner: _owner, ...rest } = patch;
    expect(read).toMatchObject({ ...rest, work: running.work });
    expect(read!.etag).toBe(written!.etag);
    // An empty owner reads back as none.
    expect(read!.owner).toBeUndefined();
  });

  it('refuses a writer whose ETag is stale (another write came first): undefined, the row as the first left it', async () => {
    const { store, clock } = await setup();
    const row = await opened(store, clock, 'req-stale');
    expect(await store.update(row, { attempts: [{ at: 'one' }], attemptCount: 1 })).toBeDefined();
    // Same object again: its ETag is the one before the first update.
    expect(
      await store.update(row, { attempts: [{ at: 'one' }, { at: 'two' }], attemptCount: 2 }),
    ).toBeUndefined();
    expect(await store.get('req-stale')).toMatchObject({ attempts: [{ at: 'one' }], attemptCount: 1 });
  });

  it('lets exactly one of two writers holding the same ETag win', async () => {
    const { store, clock } = await setup();
    const row = await opened(store, clock, 'req-two');
    const [a, b] = await Promise.all([
      store.update(row, { generation: row.generation + 1, owner: 'a' }),
      store.update(row, { generation: row.generation + 1, owner: 'b' }),
    ]);
    expect([a, b].filter((w) => w !== undefined)).toHaveLength(1);
    expect((await store.get('req-two'))?.owner).toBe((a ?? b)!.owner);
  });

  it('answers undefined (not an error) for a row that is gone', async () => {
    const { store, clock, table } = await setup();
    const row = await opened(store, clock, 'req-gone');
    for await (const entity of table.client.listEntities()) {
      await table.client.deleteEntity(entity.partitionKey!, entity.rowKey!);
    }
    expect(await store.update(row, { state: 'done', result: RESULT })).toBeUndefined();
    expect(await store.get('req-gone')).toBeUndefined();
  });

  it('ends the work: the answer and the report owed, read back as written', async () => {
    const { store, clock } = await setup();
    await opened(store, clock, 'req-end');
    const running = await taken(store, 'req-end');
    const owed = outbox('pending', clock.now());
    const done = await store.update(running, {
      state: 'done',
      owner: '',
      leaseUntil: 0,
      result: RESULT,
      outbox: owed,
      expiresAt: clock.now() + EXPIRES_IN_MS,
    });
    expect(done).toMatchObject({ state: 'done', result: RESULT, outbox: owed });
    expect(done).not.toHaveProperty('expiresAt');
    expect(await store.get('req-end')).toMatchObject({
      state: 'done',
      result: RESULT,
      outbox: owed,
      leaseUntil: 0,
    });
  });

  it(`keeps a row of ${MAX_ATTEMPTS_KEPT} attempts (the most a worker keeps) with the count of all of them`, async () => {
    const { store, clock } = await setup();
    const many: Attempt[] = Array.from({ length: MAX_ATTEMPTS_KEPT }, (_, i) => ({
      at: new Date(clock.now() + i * 1_000).toISOString(),
      armStatus: 503,
      code: `ServerBusy${'x'.repeat(200)}`,
      mayHaveApplied: i % 2 === 0,
    }));
    await store.open(newOperation('req-many', clock, { attempts: many }), clock.now() + EXPIRES_IN_MS);
    const row = await store.get('req-many');
    expect(row).toMatchObject({ attemptCount: MAX_ATTEMPTS_KEPT, attempts: many });

    // Later attempts: the oldest drop out of the list, the count goes on.
    const later = [...many.slice(5), ...many.slice(0, 5)];
    expect(later).toHaveLength(MAX_ATTEMPTS_KEPT);
    expect(await store.update(row!, { attempts: later, attemptCount: 57 })).toBeDefined();
    expect(await store.get('req-many')).toMatchObject({ attemptCount: 57, attempts: later });
  });
});

describe('unfinished', () => {
  it('lists queued and running rows and done rows with a report still owed, and nothing else', async () => {
    const { store, clock } = await setup();
    const queued = await opened(store, clock);
    const running = await opened(store, clock);
    await taken(store, running.requestId);
    const runningExpired = await opened(store, clock);
    await taken(store, runningExpired.requestId);

    const endWith = async (state: Outbox['state'] | undefined): Promise<string> => {
      const row = await opened(store, clock);
      const held = await taken(store, row.requestId);
      const done = await store.update(held, {
        state: 'done',
        owner: '',
        leaseUntil: 0,
        result: RESULT,
        ...(state === undefined ? {} : { outbox: outbox(state, clock.now()) }),
      });
      expect(done).toBeDefined();
      return row.requestId;
    };
    const pending = await endWith('pending');
    await endWith('sent');
    await endWith('given-up');
    await endWith(undefined);

    // A pending report that was then sent leaves the list.
    const sentLater = await endWith('pending');
    const current = await store.get(sentLater);
    expect(await store.update(current!, { outbox: outbox('sent', clock.now()) })).toBeDefined();

    clock.advance(LEASE_MS + 1);
    const rows = await listed(store);
    expect(rows.map((r) => r.requestId).sort()).toEqual(
      [queued.requestId, running.requestId, runningExpired.requestId, pending].sort(),
    );
    const byId = new Map(rows.map((r) => [r.requestId, r]));
    expect(byId.get(queued.requestId)?.state).toBe('queued');
    expect(byId.get(running.requestId)?.state).toBe('running');
    expect(byId.get(pending)).toMatchObject({ state: 'done', outbox: { state: 'pending' } });
    // Rows come back whole, ETag included, so the sweeper can update them.
    for (const row of rows) {
      expect(row.work).toEqual(work());
      expect(row.etag).toMatch(/\S/);
    }
  });

  it('lists nothing for an empty table', async () => {
    const { store } = await setup();
    expect(await listed(store)).toEqual([]);
  });
});

describe('retention and healing', () => {
  it('writes an expiry the retention purge compares as Int64: open for the work, update for the answer', async () => {
    const { store, clock, table } = await setup();
    const openExpiry = clock.now() + EXPIRES_IN_MS;
    await store.open(newOperation('req-exp', clock), openExpiry);
    expect(await purgeExpired(table, openExpiry - 1)).toBe(0);

    const running = await taken(store, 'req-exp');
    const answerExpiry = openExpiry + 7 * 24 * 3_600_000;
    expect(
      await store.update(running, { state: 'done', result: RESULT, expiresAt: answerExpiry }),
    ).toBeDefined();
    // The update moved the expiry: the open one no longer applies.
    expect(await purgeExpired(table, openExpiry + 1)).toBe(0);
    expect((await store.get('req-exp'))?.state).toBe('done');
    expect(await purgeExpired(table, answerExpiry + 1)).toBe(1);
    expect(await store.get('req-exp')).toBeUndefined();
  });

  it('keeps the expiry of an update that does not name one', async () => {
    const { store, clock, table } = await setup();
    const expiry = clock.now() + EXPIRES_IN_MS;
    await store.open(newOperation('req-keep', clock), expiry);
    const running = await taken(store, 'req-keep');
    expect(await store.update(running, { generation: 1 })).toBeDefined();
    expect(await purgeExpired(table, expiry - 1)).toBe(0);
    expect(await purgeExpired(table, expiry + 1)).toBe(1);
  });

  it('re-creates a table that disappeared and carries on', async () => {
    const { store, clock, table } = await setup();
    await table.client.deleteTable();
    await store.open(newOperation('req-heal', clock), clock.now() + EXPIRES_IN_MS);
    expect((await store.get('req-heal'))?.state).toBe('queued');
    expect((await store.take('req-heal', 0, 'worker-a', LEASE_MS)).kind).toBe('taken');
  });
});
