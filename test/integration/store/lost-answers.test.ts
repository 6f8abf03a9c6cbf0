import { afterEach, describe, expect, it } from 'vitest';
import { TableAuditTrail } from '../../../src/store/audit-trail.js';
import { fingerprint, TableIdempotencyStore } from '../../../src/store/idempotency-store.js';
import { TableNonceStore } from '../../../src/store/nonce-store.js';
import { createTableClients } from '../../../src/store/table-clients.js';
import { answerLosingProxy, freshTables, ManualClock, storageConfig, unusedCredential } from './helpers.js';

/**
 * Writes that land in storage but whose answer never reaches us. The SDK resends them, storage answers the
 * resend with 409/412, and the stores must recognise their own earlier write rather than report a conflict.
 */
describe('writes whose answer was lost', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function lossyTables(lose: (method: string, url: string) => boolean) {
    const config = storageConfig();
    await freshTables(config);
    const proxy = await answerLosingProxy(config.connectionString!, lose);
    cleanups.push(() => proxy.close());
    const tables = createTableClients(
      { ...config, connectionString: proxy.connectionString },
      unusedCredential,
      {
        maxRetries: 2,
        retryDelayMs: 10,
        maxRetryDelayMs: 20,
      },
    );
    return { tables, proxy };
  }

  function once(match: (method: string, url: string) => boolean): (method: string, url: string) => boolean {
    let done = false;
    return (method, url) => {
      if (done || !match(method, url)) return false;
      done = true;
      return true;
    };
  }

  it('idempotency: a resent claim and a resent complete are still ours', async () => {
    const loseClaim = once((method, url) => method === 'POST' && /Idempotency(\?|$)/.test(url));
    const loseComplete = once((method, url) => method === 'PUT' && url.includes('Idempotency('));
    const { tables, proxy } = await lossyTables(
      (method, url) => loseClaim(method, url) || loseComplete(method, url),
    );
    const store = new TableIdempotencyStore({
      table: tables.idempotency,
      chainTable: tables.audit,
      clock: new ManualClock().now,
      claimLeaseSeconds: 30,
      idempotencyTtlHours: 1,
    });
    const result = await store.claim('key', fingerprint({ a: 1 }), 'req-1');
    expect(proxy.lost()).toBe(1);
    expect(result.kind).toBe('claimed');
    if (result.kind !== 'claimed') return;

    const answer = {
      requestId: 'req-1',
      response: {
        id: 'req-1',
        outcome: 'approved' as const,
        connection: { id: '/x', name: 'x', status: 'Approved', previousStatus: 'Pending' },
        policy: { allowed: true, reasons: [] },
        arm: { status: 200, correlationId: 'c' },
      },
    };
    await store.complete(result.token, answer);
    expect(proxy.lost()).toBe(2);
    expect(await store.claim('key', fingerprint({ a: 1 }), 'req-2')).toEqual({ kind: 'replay', answer });
  });

  it('nonces: a resent first sighting is still the first sighting', async () => {
    const { tables, proxy } = await lossyTables(
      once((method, url) => method === 'POST' && /Nonces(\?|$)/.test(url)),
    );
    const nonces = new TableNonceStore({
      table: tables.nonces,
      chainTable: tables.audit,
      clock: new ManualClock().now,
    });
    expect(await nonces.remember('standard-webhooks', 'msg_1', 300)).toBe(true);
    expect(proxy.lost()).toBe(1);
    expect(await nonces.remember('standard-webhooks', 'msg_1', 300)).toBe(false);
  });

  it('audit: a resent chain transaction is not appended twice', async () => {
    const { tables, proxy } = await lossyTables(
      once((method, url) => method === 'POST' && url.includes('$batch')),
    );
    const trail = new TableAuditTrail({ table: tables.audit, clock: Date.now, leaseSeconds: 30 });
    const stored = await trail.append(
      {
        requestId: 'req-lost',
        time: '2025-01-01T12:00:00.000Z',
        source: 'generic',
        connectionId: '/subscriptions/s/privateEndpointConnections/pe',
        outcome: 'approved',
        httpStatus: 200,
        durationMs: 5,
      },
      Date.now() + 10_000,
    );
    expect(proxy.lost()).toBe(1);
    expect(stored.seq).toBe(1);
    expect(await trail.verify('/subscriptions/s/privateEndpointConnections/pe')).toEqual({
      ok: true,
      count: 1,
    });
    expect(await trail.get('req-lost')).toEqual(stored);
  });
});
