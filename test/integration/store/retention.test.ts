import { describe, expect, it } from 'vitest';
import { TableIdempotencyStore, fingerprint } from '../../../src/store/idempotency-store.js';
import { TableNonceStore } from '../../../src/store/nonce-store.js';
import { purgeEndedOperations, purgeExpired } from '../../../src/store/retention.js';
import { TableOperationStore } from '../../../src/store/operation-store.js';
import { freshTables, ManualClock, storageConfig } from './helpers.js';

/** Replay marks and idempotency records are deleted once they no longer count, and not a moment before. */
describe('purgeExpired (Azurite)', () => {
  it('deletes expired replay marks and idempotency records, keeps live ones, and leaves a renewed row alone', async () => {
    const tables = await freshTables(storageConfig());
    const clock = new ManualClock();
    const nonces = new TableNonceStore({ table: tables.nonces, chainTable: tables.audit, clock: clock.now });
    const claims = new TableIdempotencyStore({
      table: tables.idempotency,
      chainTable: tables.audit,
      clock: clock.now,
      claimLeaseSeconds: 30,
      idempotencyTtlHours: 1,
    });
    for (let i = 0; i < 12; i++) await nonces.remember('s', `old-${i}`, 60);
    await claims.claim('old-key', fingerprint({ a: 1 }), 'r-old');
    clock.advance(2 * 3_600_000);
    await nonces.remember('s', 'fresh', 60);
    await claims.claim('fresh-key', fingerprint({ a: 2 }), 'r-fresh');

    expect(await purgeExpired(tables.nonces, clock.now())).toBe(12);
    expect(await purgeExpired(tables.idempotency, clock.now())).toBe(1);
    // Nothing left to delete, and what is alive still counts.
    expect(await purgeExpired(tables.nonces, clock.now())).toBe(0);
    expect(await nonces.remember('s', 'fresh', 60)).toBe(false);
    expect((await claims.claim('fresh-key', fingerprint({ a: 2 }), 'r-again')).kind).toBe('in-flight');
    // An expired mark is gone, so the same id is a first sighting again (as it was after expiry anyway).
    expect(await nonces.remember('s', 'old-0', 60)).toBe(true);
  });

  it('deletes expired operations only once they are done and owe nothing: accepted work is never purged', async () => {
    const tables = await freshTables(storageConfig());
    const clock = new ManualClock();
    const operations = new TableOperationStore({ table: tables.operations, clock: clock.now });
    const open = async (requestId: string) => {
      await operations.open(
        {
          requestId,
          callerKey: 'standard-webhooks:webhook-secret',
          acceptedAt: clock.now(),
          deadline: clock.now() + 60_000,
          attempts: [],
          nextAttemptAt: clock.now(),
          work: {
            source: 'generic',
            caller: { source: 'generic', scheme: 'standard-webhooks', id: 'webhook-secret' },
            request: { connectionId: '/x', decision: 'Approved' },
            connectionId: '/x',
            started: clock.now(),
            claim: { partitionKey: 'p', rowKey: 'r', fingerprint: 'f', ttlMs: 60_000 },
            report: { kind: 'location' },
          },
          carry: {},
        },
        clock.now() + 60_000,
      );
      return (await operations.get(requestId))!;
    };
    await open('queued-still');
    const ended = await open('ended');
    await operations.update(ended, { state: 'done' });
    clock.advance(120_000);
    expect(await purgeEndedOperations(tables.operations, clock.now())).toBe(1);
    expect(await operations.get('ended')).toBeUndefined();
    expect((await operations.get('queued-still'))?.state).toBe('queued');
  });

  it('treats a table that does not exist yet as empty', async () => {
    const tables = await freshTables(storageConfig());
    await tables.nonces.client.deleteTable();
    expect(await purgeExpired(tables.nonces, Date.now())).toBe(0);
  });
});
