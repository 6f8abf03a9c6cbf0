import { afterEach, describe, expect, it } from 'vitest';
import { azuriteConnectionString as connectionStringFor } from '../../../dev/azurite.js';
import { TableAuditTrail } from '../../../src/store/audit-trail.js';
import { StoreUnavailableError } from '../../../src/store/errors.js';
import { fingerprint, TableIdempotencyStore } from '../../../src/store/idempotency-store.js';
import { TableNonceStore } from '../../../src/store/nonce-store.js';
import { createTableClients } from '../../../src/store/table-clients.js';
import { blackHole, closedPort, ManualClock, storageConfig, unusedCredential } from './helpers.js';

const record = {
  requestId: 'req-down',
  time: '2025-01-01T12:00:00.000Z',
  source: 'generic',
  connectionId: '/subscriptions/x/privateEndpointConnections/pe',
  outcome: 'failed' as const,
  httpStatus: 503,
  durationMs: 3,
};

describe('storage unreachable', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('fails every store operation with StoreUnavailableError when nothing listens', async () => {
    const port = await closedPort();
    const config = storageConfig({ connectionString: connectionStringFor('127.0.0.1', port) });
    const tables = createTableClients(config, unusedCredential, {
      maxRetries: 1,
      retryDelayMs: 10,
      requestTimeoutMs: 500,
    });
    const clock = new ManualClock();
    const idempotency = new TableIdempotencyStore({
      table: tables.idempotency,
      chainTable: tables.audit,
      clock: clock.now,
      claimLeaseSeconds: 30,
      idempotencyTtlHours: 1,
    });
    const nonces = new TableNonceStore({ table: tables.nonces, chainTable: tables.audit, clock: clock.now });
    const audit = new TableAuditTrail({ table: tables.audit, clock: Date.now, leaseSeconds: 30 });

    await expect(tables.ensureTables()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(idempotency.claim('k', fingerprint({}), 'r')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(nonces.remember('s', 'id', 60)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(audit.append(record, Date.now() + 1_000)).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(audit.get('req-down')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(audit.verify(record.connectionId)).rejects.toBeInstanceOf(StoreUnavailableError);

    const error = await idempotency.claim('k', fingerprint({}), 'r').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    const unavailable = error as StoreUnavailableError;
    expect(unavailable.retryAfterSeconds).toBeGreaterThan(0);
    expect(unavailable.message).not.toMatch(/AccountKey|SharedKey|Eby8vdM02/);
  });

  it('gives up on an endpoint that accepts connections but never answers', async () => {
    const hole = await blackHole();
    cleanups.push(() => hole.close());
    const config = storageConfig({ connectionString: connectionStringFor('127.0.0.1', hole.port) });
    const tables = createTableClients(config, unusedCredential, { maxRetries: 0, requestTimeoutMs: 300 });
    const nonces = new TableNonceStore({
      table: tables.nonces,
      chainTable: tables.audit,
      clock: new ManualClock().now,
    });
    await expect(nonces.remember('s', 'id', 60)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('retries ensureTables after a failure instead of caching it', async () => {
    const port = await closedPort();
    const config = storageConfig({ connectionString: connectionStringFor('127.0.0.1', port) });
    const tables = createTableClients(config, unusedCredential, { maxRetries: 0, requestTimeoutMs: 300 });
    const first = tables.ensureTables();
    await expect(first).rejects.toBeInstanceOf(StoreUnavailableError);
    const second = tables.ensureTables();
    expect(second).not.toBe(first);
    await expect(second).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
