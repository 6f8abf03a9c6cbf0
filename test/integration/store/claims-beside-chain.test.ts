import { describe, expect, it } from 'vitest';
import type { ApprovalResponse } from '../../../src/model/approval.js';
import type { AuditRecord } from '../../../src/store/audit-record.js';
import { TableAuditTrail } from '../../../src/store/audit-trail.js';
import { fingerprint, TableIdempotencyStore } from '../../../src/store/idempotency-store.js';
import { chainPartition, hashedKey } from '../../../src/store/keys.js';
import { purgeExpiredKeys } from '../../../src/store/retention.js';
import type { StoreTables } from '../../../src/store/table-clients.js';
import { clientSets, freshTables, ManualClock, storageConfig } from './helpers.js';

/**
 * A decision's claim kept in its connection's chain partition: taken in one transaction with the connection's
 * lease, settled in one with the record; the key's binding to its payload beside it in the idempotency table.
 * Each "instance" here has its own clients and its own in-process state, on the same tables.
 */

const CONNECTION =
  '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1/privateEndpointConnections/pe-1';
const LEASE_SECONDS = 30;

interface Instance {
  audit: TableAuditTrail;
  claims: TableIdempotencyStore;
}

function instance(tables: StoreTables, clock: ManualClock): Instance {
  return {
    audit: new TableAuditTrail({ table: tables.audit, clock: clock.now, leaseSeconds: LEASE_SECONDS }),
    claims: new TableIdempotencyStore({
      table: tables.idempotency,
      chainTable: tables.audit,
      clock: clock.now,
      claimLeaseSeconds: LEASE_SECONDS,
      idempotencyTtlHours: 24,
    }),
  };
}

async function setUp(count = 2): Promise<{ instances: Instance[]; clock: ManualClock; tables: StoreTables }> {
  const config = storageConfig({ claimLeaseSeconds: LEASE_SECONDS });
  const tables = await freshTables(config);
  const clock = new ManualClock();
  return { instances: clientSets(config, count).map((t) => instance(t, clock)), clock, tables };
}

const chain = chainPartition(CONNECTION);
const payload = fingerprint({ decision: 'Approved' });

function record(requestId: string, clock: ManualClock): AuditRecord {
  return {
    requestId,
    time: new Date(clock.now()).toISOString(),
    source: 'generic',
    callerId: 'caller',
    callerScheme: 'hmac',
    connectionId: CONNECTION,
    decision: 'Approved',
    outcome: 'approved',
    httpStatus: 200,
    durationMs: 5,
  };
}

function answer(requestId: string): ApprovalResponse {
  return {
    id: requestId,
    outcome: 'approved',
    connection: { id: CONNECTION, name: 'pe-1', status: 'Approved', previousStatus: 'Pending' },
    policy: { allowed: true, reasons: [] },
    arm: { status: 200, correlationId: `corr-${requestId}` },
  };
}

/** Claims `key` for `requestId` with the connection's lease, as a request does. */
async function take(at: Instance, key: string, requestId: string, waitUntil: number) {
  const beside = at.claims.besideChain(chain, key, payload, requestId);
  const leased = await at.audit.leaseClaiming(CONNECTION, requestId, waitUntil, beside);
  return leased.kind === 'leased'
    ? { ...leased, token: { ...beside.owned, etag: leased.claimEtag } }
    : leased;
}

describe('claims kept beside the chain (Azurite)', () => {
  it('claim and lease in one transaction; the record completes the claim in its own; a repeat gets the answer', async () => {
    const { instances, clock } = await setUp();
    const [a, b] = instances as [Instance, Instance];
    const first = await take(a, 'key-1', 'req-1', clock.now() + 1_000);
    if (first.kind !== 'leased') throw new Error(`expected leased, got ${first.kind}`);

    // Another instance, the same key, while the first holds the lease: told it is in flight, without the lease.
    const meanwhile = await take(b, 'key-1', 'req-2', clock.now() + 50);
    expect(meanwhile).toMatchObject({ kind: 'stopped', result: { kind: 'in-flight' } });

    const completion = a.claims.completionRow(first.token, { requestId: 'req-1', response: answer('req-1') });
    const settled = await a.audit.appendSettling(first.lease, record('req-1', clock), {
      entity: completion,
      etag: first.token.etag,
    });
    expect(settled).toBe(true);

    const repeat = await take(b, 'key-1', 'req-3', clock.now() + 1_000);
    expect(repeat).toMatchObject({
      kind: 'stopped',
      result: { kind: 'replay', answer: { requestId: 'req-1' } },
    });
    // The claim row sits in the chain's partition, and the chain still verifies.
    expect(await b.audit.verify(CONNECTION)).toEqual({ ok: true, count: 1 });
  });

  it('a claim given back in the record transaction is taken again at once, by the next request with the key', async () => {
    const { instances, clock } = await setUp();
    const [a, b] = instances as [Instance, Instance];
    const first = await take(a, 'key-2', 'req-1', clock.now() + 1_000);
    if (first.kind !== 'leased') throw new Error('expected leased');
    const released = a.claims.releaseRow(first.token, { status: 502, detail: 'Resource Manager failed' });
    await a.audit.appendSettling(
      first.lease,
      { ...record('req-1', clock), outcome: 'failed', httpStatus: 502 },
      {
        entity: released,
        etag: first.token.etag,
      },
    );

    const again = await take(b, 'key-2', 'req-2', clock.now() + 1_000);
    expect(again.kind).toBe('leased');
    if (again.kind === 'leased') await b.audit.release(again.lease);
  });

  it('a claim taken over meanwhile cannot join the record: the record lands alone and says so', async () => {
    const { instances, clock } = await setUp();
    const [a, b] = instances as [Instance, Instance];
    const first = await take(a, 'key-3', 'req-1', clock.now() + 1_000);
    if (first.kind !== 'leased') throw new Error('expected leased');
    // The claim's lease ran out and another attempt took the claim over (its ETag moved).
    clock.advance((LEASE_SECONDS + 1) * 1_000);
    const takeover = await b.claims.claim('key-3', payload, 'req-2', undefined, chain);
    expect(takeover.kind).toBe('claimed');

    const settled = await a.audit.appendSettling(first.lease, record('req-1', clock), {
      entity: a.claims.completionRow(first.token, { requestId: 'req-1', response: answer('req-1') }),
      etag: first.token.etag,
    });
    expect(settled).toBe(false);
    expect(await a.audit.get('req-1')).toMatchObject({ requestId: 'req-1', seq: 1 });
  });

  it('50 instances racing one key on one connection: one claim and lease, the others in flight or busy', async () => {
    const { instances, clock } = await setUp(50);
    const results = await Promise.all(
      instances.map((at, i) => take(at, 'key-4', `req-${i}`, clock.now() + 200).catch((e: unknown) => e)),
    );
    const leased = results.filter(
      (r) => typeof r === 'object' && r !== null && 'kind' in r && r.kind === 'leased',
    );
    expect(leased).toHaveLength(1);
    for (const other of results.filter((r) => !leased.includes(r))) {
      const inFlight =
        typeof other === 'object' && other !== null && 'kind' in other && other.kind === 'stopped';
      const busy = other instanceof Error && other.name === 'ConnectionBusyError';
      expect(inFlight || busy, String(other)).toBe(true);
    }
  });

  it('an expired binding is purged with the claim it names; the chain and its records stay', async () => {
    const { instances, clock, tables } = await setUp(1);
    const [a] = instances as [Instance];
    expect(await a.claims.bind('key-5', payload, chain)).toEqual({ kind: 'bound' });
    const first = await take(a, 'key-5', 'req-1', clock.now() + 1_000);
    if (first.kind !== 'leased') throw new Error('expected leased');
    await a.audit.appendSettling(first.lease, record('req-1', clock), {
      entity: a.claims.completionRow(first.token, { requestId: 'req-1', response: answer('req-1') }),
      etag: first.token.etag,
    });
    expect(await purgeExpiredKeys(tables.idempotency, tables.audit, clock.now())).toBe(0);
    // The binding outlives the claim it names (kept two leases longer): both go once the binding expires.
    const bindingExpiry = clock.now() + 24 * 3_600_000 + 2 * LEASE_SECONDS * 1_000;
    expect(await purgeExpiredKeys(tables.idempotency, tables.audit, bindingExpiry - 1)).toBe(0);
    expect(await purgeExpiredKeys(tables.idempotency, tables.audit, bindingExpiry + 1)).toBe(1);
    const claimRow = await tables.audit.call(
      'test.read',
      (c) => c.getEntity(chain, first.token.rowKey),
      [404],
    );
    expect(claimRow.ok).toBe(false);
    expect(await a.audit.verify(CONNECTION)).toEqual({ ok: true, count: 1 });
    expect(await a.audit.get('req-1')).toMatchObject({ requestId: 'req-1' });
  });

  it('a claim that still counts keeps its expired binding until it expires too', async () => {
    const { instances, clock, tables } = await setUp(1);
    const [a] = instances as [Instance];
    const bound = clock.now();
    await a.claims.bind('key-9', payload, chain);
    // Queued work, settled two hours after its key was bound.
    clock.advance(2 * 3_600_000);
    const taken = await take(a, 'key-9', 'req-1', clock.now() + 1_000);
    if (taken.kind !== 'leased') throw new Error('expected leased');
    await a.audit.appendSettling(taken.lease, record('req-1', clock), {
      entity: a.claims.completionRow(taken.token, { requestId: 'req-1', response: answer('req-1') }),
      etag: taken.token.etag,
    });
    const bindingExpired = bound + 24 * 3_600_000 + 2 * LEASE_SECONDS * 1_000 + 1;
    expect(await purgeExpiredKeys(tables.idempotency, tables.audit, bindingExpired)).toBe(0);
    expect(await purgeExpiredKeys(tables.idempotency, tables.audit, clock.now() + 24 * 3_600_000 + 1)).toBe(
      1,
    );
  });
});

describe("a key's binding to its payload (Azurite)", () => {
  it('binds once; the same payload again is bound; another payload, for any connection, is a mismatch', async () => {
    const { instances } = await setUp(1);
    const [a] = instances as [Instance];
    expect(await a.claims.bind('key-6', payload, chain)).toEqual({ kind: 'bound' });
    expect(await a.claims.bind('key-6', payload, chain)).toEqual({ kind: 'bound' });
    const other = fingerprint({ decision: 'Rejected' });
    expect(await a.claims.bind('key-6', other, chainPartition(`${CONNECTION}-other`))).toEqual({
      kind: 'mismatch',
    });
  });

  it('a binding met again after a while is kept longer, as long as the claim the request may settle', async () => {
    const { instances, clock, tables } = await setUp(1);
    const [a] = instances as [Instance];
    const expiry = async () => {
      const row = await tables.idempotency.client.getEntity<Record<string, unknown>>(
        hashedKey('k', 'key-8'),
        'claim',
      );
      return Number(row.expiresAt);
    };
    await a.claims.bind('key-8', payload, chain);
    const first = await expiry();
    clock.advance(60 * 60_000);
    await a.claims.bind('key-8', payload, chain);
    expect(await expiry()).toBe(first + 60 * 60_000);
  });

  it('a whole claim kept by the version before (in the key partition) still answers: replay, in flight, expired', async () => {
    const { instances, clock } = await setUp(1);
    const [a] = instances as [Instance];
    // Written as the version before wrote every claim: in the key's own partition of the idempotency table.
    const old = await a.claims.claim('key-7', payload, 'req-old');
    if (old.kind !== 'claimed') throw new Error('expected claimed');
    expect(await a.claims.bind('key-7', payload, chain)).toMatchObject({ kind: 'in-flight' });
    await a.claims.complete(old.token, { requestId: 'req-old', response: answer('req-old') });
    expect(await a.claims.bind('key-7', payload, chain)).toMatchObject({
      kind: 'replay',
      answer: { requestId: 'req-old' },
    });
    // Once it expires, the key is bound anew.
    clock.advance(25 * 3_600_000);
    expect(await a.claims.bind('key-7', payload, chain)).toEqual({ kind: 'bound' });
  });
});
