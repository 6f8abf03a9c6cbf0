import { odata, type TableClient } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  auditHash,
  auditRecordEntity,
  GENESIS_HASH,
  storedRecordFromEntity,
  type AuditRecord,
  type StoredAuditRecord,
} from '../../../src/store/audit-record.js';
import { LOST_HOLDER_SOURCE, TableAuditTrail } from '../../../src/store/audit-trail.js';
import { TableNonceStore } from '../../../src/store/nonce-store.js';
import { purgeChainMarks } from '../../../src/store/retention.js';
import {
  AuditConflictError,
  AuditRecordCorruptError,
  ConnectionBusyError,
} from '../../../src/store/errors.js';
import { chainPartition, hashedKey, isSeqRowKey, seqRowKey } from '../../../src/store/keys.js';
import { requestIdFor } from '../../../src/store/request-id.js';
import type { StoreTable } from '../../../src/store/table-clients.js';
import { clientSets, freshTables, ManualClock, storageConfig } from './helpers.js';

const CONNECTION =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-aks/providers/' +
  'Microsoft.ContainerService/managedClusters/aks-prod/privateEndpointConnections/pe-consumer.1234';

const OTHER = CONNECTION.replace('pe-consumer.1234', 'pe-other');

function record(requestId: string, overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    requestId,
    time: '2025-01-01T12:00:00.000Z',
    source: 'servicenow',
    callerId: 'servicenow-webhook-secret',
    callerScheme: 'standard-webhooks',
    approver: 'bob@contoso.com',
    requester: 'alice@contoso.com',
    ticket: {
      system: 'servicenow',
      id: 'CHG0031234',
      state: 'implement',
      url: 'https://contoso.service-now.com/x',
    },
    connectionId: CONNECTION,
    decision: 'Approved',
    outcome: 'approved',
    previousStatus: 'Pending',
    newStatus: 'Approved',
    httpStatus: 200,
    policyReasons: [{ rule: 'ticket-state', message: 'change is in implement' }],
    arm: { status: 200, requestId: 'arm-req', correlationId: 'corr-1' },
    durationMs: 123.4,
    ...overrides,
  };
}

const trailOn = (table: StoreTable, clock: () => number = Date.now): TableAuditTrail =>
  new TableAuditTrail({ table, clock, leaseSeconds: 30 });

async function setup(): Promise<{ client: TableClient; trail: TableAuditTrail }> {
  const tables = await freshTables(storageConfig());
  return { client: tables.audit.client, trail: trailOn(tables.audit) };
}

const soon = (): number => Date.now() + 10_000;

/** The chain's records in order, read straight from the table. */
async function chainOf(client: TableClient, connectionId: string): Promise<StoredAuditRecord[]> {
  const chained: StoredAuditRecord[] = [];
  const partition = odata`PartitionKey eq ${chainPartition(connectionId)}`;
  for await (const entity of client.listEntities<Record<string, unknown>>({
    queryOptions: { filter: partition },
  })) {
    if (!isSeqRowKey(entity.rowKey ?? '')) continue;
    const read = storedRecordFromEntity(entity);
    if (read.ok) chained.push(read.record);
  }
  return chained.sort((x, y) => x.seq - y.seq);
}

async function appendMany(
  trail: TableAuditTrail,
  count: number,
  connectionId = CONNECTION,
  prefix = 'req',
): Promise<void> {
  for (let i = 1; i <= count; i++) await trail.append(record(`${prefix}-${i}`, { connectionId }), soon());
}

describe('TableAuditTrail (Azurite)', () => {
  it('appends linked records and reads them back by request id', async () => {
    const { trail } = await setup();
    const first = await trail.append(record('req-1'), soon());
    const second = await trail.append(
      record('req-2', { outcome: 'denied', httpStatus: 403, arm: undefined }),
      soon(),
    );

    expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH, requestId: 'req-1', durationMs: 123 });
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash, outcome: 'denied' });
    expect(second).not.toHaveProperty('arm');

    expect(await trail.get('req-1')).toEqual(first);
    expect(await trail.get('req-2')).toEqual(second);
    expect(await trail.get('req-unknown')).toBeUndefined();
    expect(await trail.verify(CONNECTION)).toEqual({ ok: true, count: 2 });
    // Connection ids compare case-insensitively, as ARM ids do.
    expect(await trail.verify(CONNECTION.toUpperCase())).toEqual({ ok: true, count: 2 });
    expect(await trail.verify('/subscriptions/other')).toEqual({ ok: true, count: 0 });
  });

  it('keeps the chain linear under 30 concurrent appends from several instances', async () => {
    const config = storageConfig();
    await freshTables(config);
    const trails = clientSets(config, 6).map((t) => trailOn(t.audit));
    const stored = await Promise.all(
      Array.from({ length: 30 }, (_, i) => trails[i % trails.length]!.append(record(`req-${i}`), soon())),
    );
    expect(stored.map((s) => s.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 1),
    );
    const bySeq = new Map(stored.map((s) => [s.seq, s]));
    for (let seq = 2; seq <= 30; seq++) expect(bySeq.get(seq)!.prevHash).toBe(bySeq.get(seq - 1)!.hash);

    expect(await trails[0]!.verify(CONNECTION)).toEqual({ ok: true, count: 30 });
    for (const s of stored) expect(await trails[1]!.get(s.requestId)).toEqual(s);
  });

  it.each([
    ['outcome', { outcome: 'rejected' }],
    ['approver', { approver: 'mallory@contoso.com' }],
    ['an absent field added', { previousStatus: undefined, newStatus: 'Approved', callerId: 'someone-else' }],
    ['ticket (JSON column)', { ticket: '{"id":"CHG0000001","system":"servicenow"}' }],
    ['httpStatus retyped', { httpStatus: '200' }],
    ['durationMs', { durationMs: 1 }],
    ['hash', { hash: 'f'.repeat(64) }],
    ['prevHash', { prevHash: '0'.repeat(64) }],
    ['seq', { seq: 99 }],
  ])('names the record whose %s was edited', async (_name, edit) => {
    const { client, trail } = await setup();
    await appendMany(trail, 10);
    const partitionKey = chainPartition(CONNECTION);
    const entity = await client.getEntity<Record<string, unknown>>(partitionKey, seqRowKey(7));
    const edited = Object.fromEntries(
      Object.entries({ ...entity, ...edit }).filter(([, value]) => value !== undefined),
    );
    await client.updateEntity({ ...edited, partitionKey, rowKey: seqRowKey(7) }, 'Replace');

    const result = await trail.verify(CONNECTION);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.brokenAt.seq).toBe(7);
      expect(result.brokenAt.requestId).toBe('req-7');
      expect(result.count).toBe(6);
    }
    // Read by its id, the altered record is refused, not served as genuine.
    await expect(trail.get('req-7')).rejects.toBeInstanceOf(AuditRecordCorruptError);
    expect(await trail.get('req-6')).toMatchObject({ requestId: 'req-6', seq: 6 });
  });

  it('verify refuses a record rehashed with a field of the wrong type, as get does', async () => {
    const { client, trail } = await setup();
    await appendMany(trail, 3);
    const partitionKey = chainPartition(CONNECTION);
    const entity = await client.getEntity<Record<string, unknown>>(partitionKey, seqRowKey(3));
    const stored = storedRecordFromEntity(entity);
    if (!stored.ok) throw new Error(stored.reason);
    const { seq, prevHash, hash: _hash, ...content } = stored.record;
    const retyped = { ...content, httpStatus: '200' } as unknown as AuditRecord;
    const hash = auditHash(retyped, seq, prevHash);
    await client.updateEntity(
      { ...entity, partitionKey, rowKey: seqRowKey(3), httpStatus: '200', hash },
      'Replace',
    );
    const head = await client.getEntity<Record<string, unknown>>(partitionKey, 'head');
    await client.updateEntity({ ...head, partitionKey, rowKey: 'head', hash }, 'Replace');

    await expect(trail.get('req-3')).rejects.toBeInstanceOf(AuditRecordCorruptError);
    expect(await trail.verify(CONNECTION)).toMatchObject({
      ok: false,
      brokenAt: { seq: 3, requestId: 'req-3', reason: 'unreadable fields: httpStatus' },
    });
  });

  it('detects a deleted record in the middle and at the end', async () => {
    const { client, trail } = await setup();
    await appendMany(trail, 5);
    const partitionKey = chainPartition(CONNECTION);

    await client.deleteEntity(partitionKey, seqRowKey(5));
    const tail = await trail.verify(CONNECTION);
    expect(tail).toMatchObject({ ok: false, count: 4, brokenAt: { seq: 5, requestId: 'req-5' } });

    await client.deleteEntity(partitionKey, seqRowKey(3));
    const middle = await trail.verify(CONNECTION);
    expect(middle).toMatchObject({ ok: false, count: 2, brokenAt: { seq: 3 } });
    if (!middle.ok) expect(middle.brokenAt.reason).toMatch(/record 3 is missing/);
  });

  it('detects records swapped between positions', async () => {
    const { client, trail } = await setup();
    await appendMany(trail, 4);
    const partitionKey = chainPartition(CONNECTION);
    const two = await client.getEntity<Record<string, unknown>>(partitionKey, seqRowKey(2));
    const three = await client.getEntity<Record<string, unknown>>(partitionKey, seqRowKey(3));
    await client.updateEntity({ ...three, partitionKey, rowKey: seqRowKey(2) }, 'Replace');
    await client.updateEntity({ ...two, partitionKey, rowKey: seqRowKey(3) }, 'Replace');
    expect(await trail.verify(CONNECTION)).toMatchObject({
      ok: false,
      brokenAt: { seq: 2, requestId: 'req-3' },
    });
  });

  it('detects a deleted chain head and a rewound one', async () => {
    const { client, trail } = await setup();
    await appendMany(trail, 3);
    const partitionKey = chainPartition(CONNECTION);
    const head = await client.getEntity<Record<string, unknown>>(partitionKey, 'head');

    await client.updateEntity({ ...head, partitionKey, rowKey: 'head', seq: 2 }, 'Replace');
    expect((await trail.verify(CONNECTION)).ok).toBe(false);

    await client.deleteEntity(partitionKey, 'head');
    expect(await trail.verify(CONNECTION)).toMatchObject({
      ok: false,
      brokenAt: { reason: 'chain head is missing' },
    });
  });

  it('a head deleted or rewound under recorded decisions: the next record goes after the last one, and the chain verifies', async () => {
    const tables = await freshTables(storageConfig());
    const client = tables.audit.client;
    const behind: unknown[] = [];
    // Each decision below comes from a process whose cache knows nothing of the head's past.
    const anotherProcess = (): TableAuditTrail =>
      new TableAuditTrail({
        table: tables.audit,
        clock: Date.now,
        leaseSeconds: 30,
        events: { onHeadBehind: (found) => behind.push(found) },
      });
    const trail = anotherProcess();
    await appendMany(trail, 3);
    const partitionKey = chainPartition(CONNECTION);

    await client.deleteEntity(partitionKey, 'head');
    expect((await anotherProcess().append(record('req-after-delete'), soon())).seq).toBe(4);

    const head = await client.getEntity<Record<string, unknown>>(partitionKey, 'head');
    await client.updateEntity({ ...head, partitionKey, rowKey: 'head', seq: 1 }, 'Merge');
    expect((await anotherProcess().append(record('req-after-rewind'), soon())).seq).toBe(5);

    expect(await trail.verify(CONNECTION)).toEqual({ ok: true, count: 5 });
    expect((await chainOf(client, CONNECTION)).map((r) => r.requestId)).toEqual([
      'req-1',
      'req-2',
      'req-3',
      'req-after-delete',
      'req-after-rewind',
    ]);
    expect(behind).toEqual([
      { connectionId: CONNECTION, headSeq: 0, tailSeq: 3 },
      { connectionId: CONNECTION, headSeq: 1, tailSeq: 4 },
    ]);

    // A last record that is not whole is not linked to: the append fails rather than build on it.
    const last = await client.getEntity<Record<string, unknown>>(partitionKey, seqRowKey(5));
    await client.updateEntity({ ...last, partitionKey, rowKey: seqRowKey(5), outcome: 'denied' }, 'Replace');
    await client.deleteEntity(partitionKey, 'head');
    await expect(anotherProcess().append(record('req-on-altered'), soon())).rejects.toBeInstanceOf(
      AuditRecordCorruptError,
    );
  });

  it('detects a record hidden from lookups (its id row deleted) and an id row keyed for another request', async () => {
    const { client, trail } = await setup();
    const ids = [1, 2, 3].map(() => requestIdFor(CONNECTION, randomUUID()));
    for (const id of ids) await trail.append(record(id), soon());
    expect(await trail.verify(CONNECTION)).toEqual({ ok: true, count: 3 });
    const partitionKey = chainPartition(CONNECTION);
    const second = await client.getEntity<Record<string, unknown>>(partitionKey, `id-${ids[1]!}`);
    await client.deleteEntity(partitionKey, `id-${ids[1]!}`);
    expect(await trail.verify(CONNECTION)).toMatchObject({
      ok: false,
      brokenAt: { seq: 2, requestId: ids[1], reason: expect.stringMatching(/id row is missing/) },
    });
    // Put back under another key: its key no longer says whose it is.
    const other = `${ids[1]!.slice(0, -1)}${ids[1]!.endsWith('0') ? '1' : '0'}`;
    await client.createEntity({ ...second, partitionKey, rowKey: `id-${other}` });
    expect(await trail.verify(CONNECTION)).toMatchObject({ ok: false, brokenAt: { requestId: ids[1] } });
  });

  it("chains a spooled record once, and detects a record rewritten into another connection's chain", async () => {
    const { client, trail } = await setup();
    await appendMany(trail, 2);
    // The spool's flush of a request chained meanwhile (a worker decided it again): nothing more is appended.
    expect(await trail.appendOnce(record('req-1'), soon())).toMatchObject({ seq: 1 });
    expect(await trail.verify(CONNECTION)).toEqual({ ok: true, count: 2 });

    // OTHER's chain gains a record of CONNECTION, linked and hashed as a careful forger would.
    await appendMany(trail, 1, OTHER, 'other');
    const partitionKey = chainPartition(OTHER);
    const head = await client.getEntity<Record<string, unknown>>(partitionKey, 'head');
    const moved = record('req-moved');
    const hash = auditHash(moved, 2, String(head.hash));
    const stored = { ...moved, seq: 2, prevHash: String(head.hash), hash };
    await client.createEntity(auditRecordEntity(partitionKey, seqRowKey(2), stored));
    await client.updateEntity({ ...head, partitionKey, rowKey: 'head', seq: 2, hash }, 'Replace');
    expect(await trail.verify(OTHER)).toMatchObject({
      ok: false,
      brokenAt: { seq: 2, requestId: 'req-moved', reason: expect.stringMatching(/another connection's/) },
    });
  });

  it("a record found stored by the spool's flush is anchored in the log then, since its writer never learnt it landed", async () => {
    const tables = await freshTables(storageConfig());
    const named = requestIdFor(CONNECTION, randomUUID());
    const written = [
      await trailOn(tables.audit).append(record(named), soon()),
      await trailOn(tables.audit).append(record('req-older-id'), soon()),
    ];
    const anchored: { requestId: string; seq: number; hash: string }[] = [];
    const altered: unknown[] = [];
    const flusher = new TableAuditTrail({
      table: tables.audit,
      clock: Date.now,
      leaseSeconds: 30,
      events: {
        onAppended: ({ requestId, seq, hash }) => anchored.push({ requestId, seq, hash }),
        onFoundAltered: (found) => altered.push(found),
      },
    });

    expect(await flusher.has(record(named))).toBe(true);
    expect(await flusher.has(record('req-older-id'))).toBe(true);
    expect(await flusher.has(record('req-never-written'))).toBe(false);
    expect(anchored).toEqual(written.map(({ requestId, seq, hash }) => ({ requestId, seq, hash })));

    // One found altered is there all the same (the flush must not hold it back), but is not anchored.
    const partitionKey = chainPartition(CONNECTION);
    const row = await tables.audit.client.getEntity<Record<string, unknown>>(partitionKey, seqRowKey(1));
    await tables.audit.client.updateEntity(
      { ...row, partitionKey, rowKey: seqRowKey(1), outcome: 'denied' },
      'Replace',
    );
    expect(await flusher.has(record(named))).toBe(true);
    expect(anchored).toHaveLength(2);
    // The copy that was written is handed over (to the log) before the spool lets go of it.
    expect(altered).toEqual([
      {
        seq: 1,
        reason: 'content does not match its hash (a field was altered)',
        spooled: record(named),
      },
    ]);
  });

  it('a lease excludes every other decision on the connection until its record is appended', async () => {
    const config = storageConfig();
    await freshTables(config);
    const [a, b] = clientSets(config, 2).map((t) => trailOn(t.audit));
    const lease = await a!.lease(CONNECTION, 'req-a', soon());
    await expect(b!.lease(CONNECTION.toUpperCase(), 'req-b', Date.now() + 300)).rejects.toBeInstanceOf(
      ConnectionBusyError,
    );
    const waiting = b!.lease(CONNECTION, 'req-b', soon());
    const stored = await a!.appendLeased(lease, record('req-a'));
    const next = await waiting;
    expect(next.seq).toBe(stored.seq);
    expect(next.hash).toBe(stored.hash);
    await b!.appendLeased(next, record('req-b'));
    expect(await a!.verify(CONNECTION)).toEqual({ ok: true, count: 2 });
  });

  it('a lease handed over by one attempt of a request is taken up by its next attempt at once, and by no other', async () => {
    const config = storageConfig();
    const { client } = (await freshTables(config)).audit;
    const [a, b] = clientSets(config, 2).map((t) => trailOn(t.audit));
    // The caller's attempt handed its work to the queue with its PUT unanswered, and handed the lease over.
    const kept = await a!.lease(CONNECTION, 'req-kept', soon());
    await a!.handOver(kept);
    await expect(b!.lease(CONNECTION, 'req-other', Date.now() + 300)).rejects.toBeInstanceOf(
      ConnectionBusyError,
    );
    const next = await b!.lease(CONNECTION, 'req-kept#worker-2', Date.now() + 300);
    // Taken up, the lease is that attempt's alone: a stalled earlier attempt of the same request waits like anyone.
    await expect(a!.lease(CONNECTION, 'req-kept#worker-1', Date.now() + 300)).rejects.toBeInstanceOf(
      ConnectionBusyError,
    );
    await b!.appendLeased(next, record('req-kept'));
    // No record about a lost holder: the lease never left the request.
    expect((await chainOf(client, CONNECTION)).map((r) => r.requestId)).toEqual(['req-kept']);
  });

  it('a lease whose holder died is taken over after it expires, and the late holder still appends after', async () => {
    const config = storageConfig();
    const { client } = (await freshTables(config)).audit;
    const clock = new ManualClock(Date.now());
    const [a, b] = clientSets(config, 2).map((t) => trailOn(t.audit, clock.now));
    const dead = await a!.lease(CONNECTION, 'req-dead', clock.now() + 1_000);
    clock.advance(31_000);
    const taken = await b!.lease(CONNECTION, 'req-live', clock.now() + 1_000);
    // Before the taker's own record, the chain says a decision lost its lease (its PUT may have landed).
    expect(taken.seq).toBe(1);
    const [lost] = await chainOf(client, CONNECTION);
    expect(lost).toMatchObject({
      seq: 1,
      about: 'req-dead',
      source: LOST_HOLDER_SOURCE,
      outcome: 'indeterminate',
      connectionId: CONNECTION,
      attempts: [{ code: 'LeaseExpired', mayHaveApplied: true }],
    });
    await b!.appendLeased(taken, record('req-live'));
    // The first holder was only slow: its record is not lost, it goes after the one that took over.
    const late = await a!.appendLeased(dead, record('req-dead'));
    expect(late.seq).toBe(3);
    expect(await a!.verify(CONNECTION)).toEqual({ ok: true, count: 3 });
  });

  it('a holder that stopped after its PUT is recorded when the next decision comes, with no retry of its own', async () => {
    const config = storageConfig();
    const { client } = (await freshTables(config)).audit;
    const clock = new ManualClock(Date.now());
    const [a, b] = clientSets(config, 2).map((t) => trailOn(t.audit, clock.now));
    await a!.lease(CONNECTION, 'req-crashed', clock.now() + 1_000);
    // A decision at work holds the chain: nothing is missing yet.
    expect(await a!.verify(CONNECTION)).toEqual({ ok: true, count: 0 });
    // Its process stops here, after sending its PUT: nothing else of it is ever written.
    clock.advance(31_000);
    // Until another decision comes, verify says the chain may be missing a change.
    expect(await a!.verify(CONNECTION)).toMatchObject({
      ok: false,
      brokenAt: { seq: 1, requestId: 'req-crashed', reason: expect.stringContaining('recorded nothing') },
    });
    await b!.append(record('req-next'), clock.now() + 1_000);
    const chain = await chainOf(client, CONNECTION);
    expect(chain.map((r) => [r.outcome, r.about])).toEqual([
      ['indeterminate', 'req-crashed'],
      ['approved', undefined],
    ]);
    expect(await a!.verify(CONNECTION)).toEqual({ ok: true, count: 2 });
  });

  it('a late holder whose request was recorded by the decision that took over records nothing more', async () => {
    const config = storageConfig();
    await freshTables(config);
    const clock = new ManualClock(Date.now());
    const [a, b] = clientSets(config, 2).map((t) => trailOn(t.audit, clock.now));
    const frozen = await a!.lease(CONNECTION, 'req-same#worker-a', clock.now() + 1_000);
    clock.advance(31_000);
    // A worker took the same request's work over and recorded it.
    const taken = await b!.lease(CONNECTION, 'req-same#worker-b', clock.now() + 1_000);
    const kept = await b!.appendLeased(
      taken,
      record('req-same', { attempts: [{ at: 'x', code: 'WorkerLost' }] }),
    );
    // The frozen worker wakes and records its own end: the request keeps its one record.
    const late = await a!.appendLeased(frozen, record('req-same'));
    expect(late).toEqual(kept);
    expect(await a!.verify(CONNECTION)).toEqual({ ok: true, count: 1 });
    expect(await a!.get('req-same')).toEqual(kept);
    // And the connection is free: the late holder left no lease behind.
    const next = await a!.lease(CONNECTION, 'req-next', clock.now() + 200);
    expect(next.seq).toBe(1);
  });

  it('a late holder that waits for the lease while the taker records the same request records nothing more', async () => {
    const config = storageConfig();
    await freshTables(config);
    const clock = new ManualClock(Date.now());
    const [a, b] = clientSets(config, 2).map((t) => trailOn(t.audit, clock.now));
    const id = requestIdFor(CONNECTION, randomUUID());
    const frozen = await a!.lease(CONNECTION, `${id}#worker-a`, clock.now() + 1_000);
    clock.advance(31_000);
    const taken = await b!.lease(CONNECTION, `${id}#worker-b`, clock.now() + 1_000);
    // The late holder wakes while the taker still works: it waits for the lease ...
    const late = a!.appendLeased(frozen, record(id));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // ... which the taker frees with its record of the same request.
    const kept = await b!.appendLeased(taken, record(id, { durationMs: 7 }));
    expect(await late).toEqual(kept);
    expect(await a!.verify(CONNECTION)).toEqual({ ok: true, count: 1 });
  });

  it('a released lease is free at once', async () => {
    const { trail } = await setup();
    const lease = await trail.lease(CONNECTION, 'req-1', soon());
    await trail.release(lease);
    const again = await trail.lease(CONNECTION, 'req-2', Date.now() + 200);
    expect(again.seq).toBe(0);
  });

  it('notes records beside the chain: idempotent per request id, refusing other content, never in the chain', async () => {
    const { trail } = await setup();
    const noted = await trail.note(record('req-dry', { outcome: 'dry-run' }));
    expect(await trail.note(record('req-dry', { outcome: 'dry-run' }))).toEqual(noted);
    await expect(trail.note(record('req-dry', { outcome: 'approved' }))).rejects.toBeInstanceOf(
      AuditConflictError,
    );
    expect(await trail.get('req-dry')).toEqual(noted);
    expect(await trail.has(record('req-dry'))).toBe(true);
    expect(await trail.verify(CONNECTION)).toEqual({ ok: true, count: 0 });
  });

  it('finds a chained record by request id even when its locator was lost', async () => {
    const { client, trail } = await setup();
    const stored = await trail.append(record('req-lost-locator'), soon());
    await client.deleteEntity(hashedKey('r', 'req-lost-locator'), 'index');
    expect(await trail.get('req-lost-locator')).toBeUndefined();
    expect(await trail.has(stored)).toBe(true);
    // has() is how the spool's flush checks a record: it writes the missing locator back.
    expect(await trail.get('req-lost-locator')).toEqual(stored);
  });

  it('writes no locator for a request id that names its chain: an id row in the chain, with the record', async () => {
    const { client, trail } = await setup();
    await appendMany(trail, 2);
    const id = requestIdFor(CONNECTION, randomUUID());
    const stored = await trail.append(record(id), soon());
    await expect(client.getEntity(hashedKey('r', id), 'index')).rejects.toMatchObject({ statusCode: 404 });
    const row = await client.getEntity(chainPartition(CONNECTION), `id-${id}`);
    expect(row).toMatchObject({ seq: 3, requestId: id });
    expect(await trail.get(id)).toEqual(stored);
    expect(await trail.has(stored)).toBe(true);
    // has() writes no locator for it either, and the chain with its id row verifies.
    await expect(client.getEntity(hashedKey('r', id), 'index')).rejects.toMatchObject({ statusCode: 404 });
    expect(await trail.verify(CONNECTION)).toEqual({ ok: true, count: 3 });
    // An id naming this chain that no record has: nothing found, and nothing mistaken for it.
    await trail.append(record(requestIdFor(OTHER, randomUUID()), { connectionId: OTHER }), soon());
    const unknown = requestIdFor(CONNECTION, randomUUID());
    expect(await trail.get(unknown)).toBeUndefined();
    expect(await trail.has(record(unknown))).toBe(false);
  });

  it("finds a record by its id past another chain whose partition key shares the id's 48 bits", async () => {
    const { client, trail } = await setup();
    const id = requestIdFor(CONNECTION, randomUUID());
    const stored = await trail.append(record(id), soon());
    // A chain sorting first among those the id's bits allow (a 48-bit prefix two connections happen to share).
    const chain = chainPartition(CONNECTION);
    const neighbour = `${chain.slice(0, 13)}${'0'.repeat(chain.length - 13)}`;
    expect(neighbour < chain).toBe(true);
    await client.createEntity({ partitionKey: neighbour, rowKey: 'head', kind: 'head', seq: 1 });
    expect(await trail.get(id)).toEqual(stored);
    expect(await trail.get(requestIdFor(CONNECTION, randomUUID()))).toBeUndefined();
  });

  it('verify reports an id row that names a record of another request', async () => {
    const { client, trail } = await setup();
    await appendMany(trail, 2);
    const id = requestIdFor(CONNECTION, randomUUID());
    await trail.append(record(id), soon());
    await client.updateEntity(
      { partitionKey: chainPartition(CONNECTION), rowKey: `id-${id}`, seq: 1 },
      'Merge',
    );
    expect(await trail.verify(CONNECTION)).toMatchObject({
      ok: false,
      brokenAt: { seq: 1, requestId: id, reason: "its id row names record 1, which is not this request's" },
    });
  });

  it('finds a noted record (a dry run) whose id names its chain through its own row', async () => {
    const { trail } = await setup();
    const id = requestIdFor(CONNECTION, randomUUID());
    const noted = await trail.note(record(id, { outcome: 'dry-run' }));
    expect(await trail.get(id)).toEqual(noted);
    expect(await trail.has(record(id, { outcome: 'dry-run' }))).toBe(true);
  });

  it('reports request ids whose index leads nowhere, and noted records that were altered', async () => {
    const { client, trail } = await setup();
    await trail.append(record('req-0'), soon());
    await trail.note(record('req-noted', { outcome: 'dry-run' }));
    // What a request that died between writing its locator and its record leaves behind.
    await client.createEntity({
      partitionKey: hashedKey('r', 'req-ghost'),
      rowKey: 'index',
      kind: 'index',
      chainPartition: chainPartition(CONNECTION),
      seq: 2,
      requestId: 'req-ghost',
    });
    const noted = await client.getEntity<Record<string, unknown>>(hashedKey('r', 'req-noted'), 'index');
    await client.updateEntity(
      { ...noted, partitionKey: hashedKey('r', 'req-noted'), rowKey: 'index', approver: 'x' },
      'Replace',
    );
    const problems = [];
    for await (const problem of trail.indexProblems()) problems.push(problem);
    expect(problems.map((p) => p.requestId).sort()).toEqual(['req-ghost', 'req-noted']);
    expect(await trail.get('req-ghost')).toBeUndefined();
  });

  it('stores only known fields, never extra properties such as a signature', async () => {
    const { client, trail } = await setup();
    const withExtras = {
      ...record('req-extra'),
      signature: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
    };
    await trail.append(withExtras, soon());
    for (const entity of await collect(client, "PartitionKey ne ''")) {
      for (const value of Object.values(entity)) expect(String(value)).not.toContain('K5oZfzN95Z9');
    }
  });

  it('lists the connections that have a chain', async () => {
    const { trail } = await setup();
    await appendMany(trail, 2);
    await appendMany(trail, 1, `${CONNECTION}-b`, 'b');
    expect(await trail.listConnections()).toEqual([CONNECTION, `${CONNECTION}-b`].sort());
  });

  it('still lists a chain whose head was deleted or renamed, so verify --all checks it', async () => {
    const { client, trail } = await setup();
    await appendMany(trail, 2);
    await appendMany(trail, 1, OTHER, 'other');
    const partitionKey = chainPartition(CONNECTION);
    const head = await client.getEntity<Record<string, unknown>>(partitionKey, 'head');
    await client.updateEntity({ ...head, partitionKey, rowKey: 'head', connectionId: OTHER }, 'Replace');
    expect(await trail.listConnections()).toEqual([CONNECTION, OTHER].sort());
    await client.deleteEntity(partitionKey, 'head');
    expect(await trail.listConnections()).toEqual([CONNECTION, OTHER].sort());
    expect((await trail.verify(CONNECTION)).ok).toBe(false);
  });
});

async function collect(client: TableClient, filter: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const entity of client.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
    out.push(entity);
  }
  return out;
}

describe('replay marks beside a chain', () => {
  it('are not part of it: verify passes them by, and retention deletes the expired ones and nothing else', async () => {
    const tables = await freshTables(storageConfig());
    const clock = new ManualClock();
    const nonces = new TableNonceStore({ table: tables.nonces, chainTable: tables.audit, clock: clock.now });
    const trail = trailOn(tables.audit, clock.now);
    const marks = nonces.beside(chainPartition(CONNECTION));
    for (let i = 0; i < 5; i++) await marks.remember('s', `old-${i}`, 60);
    await marks.rememberDelivery({ scope: 'd', id: 'old', binding: 'k' }, { scope: 'c', id: 'old' }, 60);
    await trail.append(record(requestIdFor(CONNECTION, randomUUID())), clock.now() + 10_000);
    clock.advance(61_000);
    await marks.remember('s', 'fresh', 60);
    expect(await trail.verify(CONNECTION)).toMatchObject({ ok: true, count: 1 });

    expect(await purgeChainMarks(tables.audit, clock.now())).toBe(7);
    expect(await purgeChainMarks(tables.audit, clock.now())).toBe(0);
    expect(await marks.remember('s', 'fresh', 60)).toBe(false);
    expect(await marks.remember('s', 'old-0', 60)).toBe(true);
    expect(await trail.verify(CONNECTION)).toMatchObject({ ok: true, count: 1 });
  });
});
