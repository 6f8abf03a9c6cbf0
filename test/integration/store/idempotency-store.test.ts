import { describe, expect, it } from 'vitest';
import type { ApprovalResponse } from '../../../src/model/approval.js';
import { ClaimLostError } from '../../../src/store/errors.js';
import {
  fingerprint,
  TableIdempotencyStore,
  type ClaimResult,
  type ClaimToken,
  type StoredAnswer,
} from '../../../src/store/idempotency-store.js';
import type { StoreTable } from '../../../src/store/table-clients.js';
import { clientSets, freshTables, ManualClock, storageConfig } from './helpers.js';

const LEASE_SECONDS = 30;
const TTL_HOURS = 24;

function make(table: StoreTable, clock: ManualClock): TableIdempotencyStore {
  // Claims in the key's own partition (the layout queued work from before keeps): the chain's table is not used.
  return new TableIdempotencyStore({
    table,
    chainTable: table,
    clock: clock.now,
    claimLeaseSeconds: LEASE_SECONDS,
    idempotencyTtlHours: TTL_HOURS,
  });
}

function approval(id: string, description?: string): ApprovalResponse {
  return {
    id,
    outcome: 'approved',
    connection: {
      id: '/x',
      name: 'x',
      status: 'Approved',
      previousStatus: 'Pending',
      ...(description ? { description } : {}),
    },
    policy: { allowed: true, reasons: [] },
    arm: { status: 200, correlationId: `corr-${id}` },
  };
}

function response(requestId: string): StoredAnswer {
  return { requestId, response: approval(requestId) };
}

function tokenOf(result: ClaimResult): ClaimToken {
  if (result.kind !== 'claimed') throw new Error(`expected claimed, got ${result.kind}`);
  return result.token;
}

describe('TableIdempotencyStore (Azurite)', () => {
  it('gives exactly one of 50 concurrent claims from separate clients the key; the rest see it in flight', async () => {
    const config = storageConfig({ claimLeaseSeconds: LEASE_SECONDS, idempotencyTtlHours: TTL_HOURS });
    await freshTables(config);
    const clock = new ManualClock();
    const stores = clientSets(config, 50).map((tables) => make(tables.idempotency, clock));
    const fp = fingerprint({ connectionId: '/x', decision: 'Approved' });

    const results = await Promise.all(stores.map((store, i) => store.claim('key-1', fp, `req-${i}`)));
    const claimed = results.filter((r) => r.kind === 'claimed');
    const inFlight = results.filter((r) => r.kind === 'in-flight');
    expect(claimed).toHaveLength(1);
    expect(inFlight).toHaveLength(49);
    for (const r of inFlight) {
      if (r.kind === 'in-flight') {
        expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(r.retryAfterSeconds).toBeLessThanOrEqual(LEASE_SECONDS);
      }
    }

    const winner = results.findIndex((r) => r.kind === 'claimed');
    const stored = response(`req-${winner}`);
    await stores[winner]!.complete(tokenOf(results[winner]!), stored);

    const replays = await Promise.all(stores.map((store, i) => store.claim('key-1', fp, `again-${i}`)));
    for (const r of replays) expect(r).toEqual({ kind: 'replay', answer: stored });

    const other = fingerprint({ connectionId: '/x', decision: 'Rejected' });
    expect(await stores[3]!.claim('key-1', other, 'req-x')).toEqual({ kind: 'mismatch' });
  });

  it('reports a different payload under an in-flight key as a mismatch', async () => {
    const config = storageConfig();
    const tables = await freshTables(config);
    const store = make(tables.idempotency, new ManualClock());
    tokenOf(await store.claim('k', fingerprint({ a: 1 }), 'r1'));
    expect(await store.claim('k', fingerprint({ a: 2 }), 'r2')).toEqual({ kind: 'mismatch' });
    expect((await store.claim('k', fingerprint({ a: 1 }), 'r3')).kind).toBe('in-flight');
  });

  it('lets another instance take over a claim whose lease ran out, and the old owner can no longer complete', async () => {
    const config = storageConfig();
    await freshTables(config);
    const clock = new ManualClock();
    const [a, b] = clientSets(config, 2).map((t) => make(t.idempotency, clock));
    const fp = fingerprint({ n: 1 });
    const first = tokenOf(await a!.claim('lease', fp, 'r1'));

    clock.advance((LEASE_SECONDS - 1) * 1_000);
    const stillRunning = await b!.claim('lease', fp, 'r2');
    expect(stillRunning).toEqual({ kind: 'in-flight', retryAfterSeconds: 1, requestId: 'r1' });

    clock.advance(2_000);
    const second = tokenOf(await b!.claim('lease', fp, 'r2'));
    expect(second.requestId).toBe('r2');

    await expect(a!.complete(first, response('r1'))).rejects.toBeInstanceOf(ClaimLostError);
    await b!.complete(second, response('r2'));
    expect(await a!.claim('lease', fp, 'r3')).toEqual({ kind: 'replay', answer: response('r2') });
  });

  it('lets exactly one of many instances take over an expired lease', async () => {
    const config = storageConfig();
    await freshTables(config);
    const clock = new ManualClock();
    const stores = clientSets(config, 20).map((t) => make(t.idempotency, clock));
    const fp = fingerprint({ n: 2 });
    tokenOf(await stores[0]!.claim('dead-owner', fp, 'r0'));
    clock.advance((LEASE_SECONDS + 1) * 1_000);
    const results = await Promise.all(stores.map((s, i) => s.claim('dead-owner', fp, `t${i}`)));
    expect(results.filter((r) => r.kind === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'in-flight')).toHaveLength(19);
  });

  it('makes a released key claimable again at once, and only by one instance', async () => {
    const config = storageConfig();
    await freshTables(config);
    const clock = new ManualClock();
    const stores = clientSets(config, 10).map((t) => make(t.idempotency, clock));
    const fp = fingerprint({ n: 3 });
    const token = tokenOf(await stores[0]!.claim('retry-me', fp, 'r0'));
    await stores[0]!.release(token, { status: 503, detail: 'ARM kept answering 503' });

    const results = await Promise.all(stores.map((s, i) => s.claim('retry-me', fp, `r${i + 1}`)));
    expect(results.filter((r) => r.kind === 'claimed')).toHaveLength(1);
    // The stale token no longer owns the record.
    await expect(stores[0]!.release(token, { status: 500, detail: 'x' })).rejects.toBeInstanceOf(
      ClaimLostError,
    );
    // A released key still remembers its payload.
    expect(await stores[1]!.claim('retry-me', fingerprint({ n: 4 }), 'r-other')).toEqual({
      kind: 'mismatch',
    });
  });

  it('treats a record past its TTL as absent, even for another payload', async () => {
    const config = storageConfig();
    const tables = await freshTables(config);
    const clock = new ManualClock();
    const store = make(tables.idempotency, clock);
    const token = tokenOf(await store.claim('old', fingerprint({ v: 1 }), 'r1'));
    await store.complete(token, response('r1'));
    clock.advance(TTL_HOURS * 3_600_000 - 1_000);
    expect((await store.claim('old', fingerprint({ v: 1 }), 'r2')).kind).toBe('replay');
    clock.advance(2_000);
    expect((await store.claim('old', fingerprint({ v: 2 }), 'r3')).kind).toBe('claimed');
  });

  it('replays large answers exactly, and never stores the raw key', async () => {
    const config = storageConfig();
    const tables = await freshTables(config);
    const store = make(tables.idempotency, new ManualClock());
    const key = 'slack:v0=deadbeefcafe/with#odd?chars\\and\u0001control';
    // Multi-byte characters across chunk boundaries, and more than one 64 KiB column.
    const text = 'é€😀'.repeat(20_000);
    const stored: StoredAnswer = { requestId: 'r-big', response: approval('r-big', text) };
    const token = tokenOf(await store.claim(key, fingerprint({ big: true }), 'r-big'));
    await store.complete(token, stored);
    const replay = await store.claim(key, fingerprint({ big: true }), 'r2');
    expect(replay.kind).toBe('replay');
    if (replay.kind === 'replay') {
      // Compared as a boolean: a failing diff of 360 KB of text helps nobody.
      expect(replay.answer.response.connection.description === text).toBe(true);
      expect(replay.answer.requestId).toBe('r-big');
    }
    const tooBig = tokenOf(await store.claim('huge', fingerprint({ huge: true }), 'r3'));
    await expect(
      store.complete(tooBig, { requestId: 'r3', response: approval('r3', 'x'.repeat(300_000)) }),
    ).rejects.toBeInstanceOf(RangeError);

    for await (const entity of tables.idempotency.client.listEntities<Record<string, unknown>>()) {
      for (const value of Object.values(entity)) {
        if (typeof value === 'string') expect(value).not.toContain('deadbeefcafe');
      }
      expect(entity.partitionKey).toMatch(/^k[0-9a-f]{64}$/);
    }
  });

  it('fingerprints ignore key order but not values', () => {
    expect(fingerprint({ a: 1, b: { c: 2, d: [1, 2] } })).toBe(fingerprint({ b: { d: [1, 2], c: 2 }, a: 1 }));
    expect(fingerprint({ a: 1 })).not.toBe(fingerprint({ a: '1' }));
    expect(fingerprint({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });
});
