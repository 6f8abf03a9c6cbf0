import type { TransactionAction } from '@azure/data-tables';
import { describe, expect, it } from 'vitest';
import { TableNonceStore } from '../../../src/store/nonce-store.js';
import { clientSets, freshTables, ManualClock, storageConfig } from './helpers.js';

describe('TableNonceStore (Azurite)', () => {
  it('accepts an id once and refuses it from another instance until it expires', async () => {
    const config = storageConfig();
    await freshTables(config);
    const clock = new ManualClock();
    const [a, b] = clientSets(config, 2).map(
      (t) => new TableNonceStore({ table: t.nonces, chainTable: t.audit, clock: clock.now }),
    );

    expect(await a!.remember('standard-webhooks', 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 300)).toBe(true);
    expect(await b!.remember('standard-webhooks', 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 300)).toBe(false);
    expect(await a!.remember('standard-webhooks', 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 300)).toBe(false);
    // Scopes are separate namespaces.
    expect(await b!.remember('teams', 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 300)).toBe(true);

    clock.advance(299_000);
    expect(await b!.remember('standard-webhooks', 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 300)).toBe(false);
    clock.advance(2_000);
    expect(await b!.remember('standard-webhooks', 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 300)).toBe(true);
    expect(await a!.remember('standard-webhooks', 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W', 300)).toBe(false);
  });

  it('with a binding, accepts the same id again only under the same binding (a retry, not a replay)', async () => {
    const config = storageConfig();
    await freshTables(config);
    const clock = new ManualClock();
    const [a, b] = clientSets(config, 2).map(
      (t) => new TableNonceStore({ table: t.nonces, chainTable: t.audit, clock: clock.now }),
    );
    expect(await a!.remember('generic:webhook-id', 'msg_1', 300, 'key-1')).toBe(true);
    expect(await b!.remember('generic:webhook-id', 'msg_1', 300, 'key-1')).toBe(true);
    expect(await b!.remember('generic:webhook-id', 'msg_1', 300, 'key-2')).toBe(false);
    expect(await a!.remember('generic:webhook-id', 'msg_1', 300)).toBe(false);
  });

  it('remembers a delivery and its signed content together: new, retried, replayed, expired', async () => {
    const config = storageConfig();
    await freshTables(config);
    const clock = new ManualClock();
    const [a, b] = clientSets(config, 2).map(
      (t) => new TableNonceStore({ table: t.nonces, chainTable: t.audit, clock: clock.now }),
    );
    const delivery = (binding: string) => ({ scope: 'generic:webhook-id', id: 'msg_9', binding });
    const signed = (digest: string) => ({ scope: 'generic:signed-content', id: digest });
    const both = { deliveryNew: true, signatureNew: true };
    expect(await a!.rememberDelivery(delivery('key-1|apply'), signed('d1'), 300)).toEqual(both);
    // The same message again, from another instance: its signed content is known.
    expect(await b!.rememberDelivery(delivery('key-1|apply'), signed('d1'), 300)).toEqual({
      deliveryNew: true,
      signatureNew: false,
    });
    // The sender's retry: same id and key, signed anew.
    expect(await b!.rememberDelivery(delivery('key-1|apply'), signed('d2'), 300)).toEqual(both);
    // The same id under another key is a replay of the delivery.
    expect(await a!.rememberDelivery(delivery('key-2|apply'), signed('d3'), 300)).toEqual({
      deliveryNew: false,
      signatureNew: true,
    });
    // A delivery mark written alone (before both were written together) is still seen.
    expect(await a!.remember('generic:webhook-id', 'msg_10', 300, 'key-1|apply')).toBe(true);
    expect(await b!.rememberDelivery(delivery('key-9|apply'), signed('d4'), 300)).toMatchObject({
      signatureNew: true,
    });
    expect(
      await b!.rememberDelivery({ ...delivery('key-9|apply'), id: 'msg_10' }, signed('d5'), 300),
    ).toEqual({ deliveryNew: false, signatureNew: true });
    clock.advance(301_000);
    expect(await b!.rememberDelivery(delivery('key-2|apply'), signed('d1'), 300)).toEqual(both);
  });

  it('lets one of many instances racing the same delivery see it first', async () => {
    const config = storageConfig();
    await freshTables(config);
    const clock = new ManualClock();
    const stores = clientSets(config, 12).map(
      (t) => new TableNonceStore({ table: t.nonces, chainTable: t.audit, clock: clock.now }),
    );
    const answers = await Promise.all(
      stores.map((s) =>
        s.rememberDelivery(
          { scope: 'generic:webhook-id', id: 'msg_race', binding: 'k|apply' },
          { scope: 'generic:signed-content', id: 'same' },
          300,
        ),
      ),
    );
    expect(answers.filter((m) => m.signatureNew)).toHaveLength(1);
    expect(answers.every((m) => m.deliveryNew)).toBe(true);
  });

  it('lets exactly one of many concurrent instances see an id first, also after expiry', async () => {
    const config = storageConfig();
    await freshTables(config);
    const clock = new ManualClock();
    const stores = clientSets(config, 20).map(
      (t) => new TableNonceStore({ table: t.nonces, chainTable: t.audit, clock: clock.now }),
    );

    const first = await Promise.all(stores.map((s) => s.remember('slack', 'v0=abc/def?#', 60)));
    expect(first.filter(Boolean)).toHaveLength(1);

    clock.advance(61_000);
    const again = await Promise.all(stores.map((s) => s.remember('slack', 'v0=abc/def?#', 60)));
    expect(again.filter(Boolean)).toHaveLength(1);
  });

  it('stores only a digest of the id', async () => {
    const config = storageConfig();
    const tables = await freshTables(config);
    const store = new TableNonceStore({
      table: tables.nonces,
      chainTable: tables.audit,
      clock: new ManualClock().now,
    });
    await store.remember('slack', 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503', 300);
    for await (const entity of tables.nonces.client.listEntities<Record<string, unknown>>()) {
      for (const value of Object.values(entity)) expect(String(value)).not.toContain('a2114d57b48eac39');
      expect(entity.partitionKey).toMatch(/^n[0-9a-f]{64}$/);
    }
  });

  it('beside a chain: marks in its partition, written by another transaction there, and judged as anywhere', async () => {
    const config = storageConfig();
    const tables = await freshTables(config);
    const clock = new ManualClock();
    const [a, b] = clientSets(config, 2).map(
      (t) => new TableNonceStore({ table: t.nonces, chainTable: t.audit, clock: clock.now }),
    );
    const chain = 'c' + '0'.repeat(64);
    const delivery = { scope: 'generic:webhook-id', id: 'msg_1', binding: 'key-1|apply' };
    const signature = { scope: 'generic:signed-content', id: 'd1' };
    const draft = a!.beside(chain).draft({ delivery, signature }, 300);
    // Written by a transaction of that partition (as the claim's), then judged after it: ours, so new.
    const head = { partitionKey: chain, rowKey: 'head', kind: 'head' };
    await tables.audit.client.submitTransaction([
      ['create', head],
      ...draft.rows(clock.now()).map((row): TransactionAction => ['create', row]),
    ]);
    expect(await draft.remember()).toEqual({ deliveryNew: true, signatureNew: true });
    // Another instance meets them there: a replay, a retry, a delivery under another key.
    const there = b!.beside(chain);
    expect(await there.rememberDelivery(delivery, signature, 300)).toEqual({
      deliveryNew: true,
      signatureNew: false,
    });
    expect(await there.rememberDelivery(delivery, { ...signature, id: 'd2' }, 300)).toEqual({
      deliveryNew: true,
      signatureNew: true,
    });
    expect(
      await there.rememberDelivery({ ...delivery, binding: 'key-2|apply' }, { ...signature, id: 'd3' }, 300),
    ).toEqual({ deliveryNew: false, signatureNew: true });
    // Nothing of it went to the nonce table; the marks sit beside the chain's head, never as a claim's `k` row.
    expect(await count(tables.nonces.client.listEntities())).toBe(0);
    const rows: Record<string, unknown>[] = [];
    for await (const row of tables.audit.client.listEntities<Record<string, unknown>>()) rows.push(row);
    const marks = rows.filter((row) => row.kind === 'mark');
    expect(marks).toHaveLength(4);
    for (const mark of marks) {
      expect(mark.partitionKey).toBe(chain);
      expect(mark.rowKey).toMatch(/^[ns][0-9a-f]{64}$/);
    }
  });

  it('rejects a non-positive TTL', async () => {
    const tables = await freshTables(storageConfig());
    const store = new TableNonceStore({
      table: tables.nonces,
      chainTable: tables.audit,
      clock: new ManualClock().now,
    });
    await expect(store.remember('s', 'id', 0)).rejects.toBeInstanceOf(RangeError);
  });
});

async function count(rows: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of rows) n++;
  return n;
}
