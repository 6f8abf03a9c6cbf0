import type { TokenCredential } from '@azure/core-auth';
import type { StorageConfig } from '../config.js';
import { TableAuditTrail, type AuditEvents } from './audit-trail.js';
import { TableIdempotencyStore } from './idempotency-store.js';
import { TableNonceStore } from './nonce-store.js';
import { TableDiscoveryStore } from './discovery-store.js';
import { TableOperationStore } from './operation-store.js';
import { createTableClients, type StoreTables, type TableClientTuning } from './table-clients.js';
import { createWorkQueue, type WorkQueue } from './work-queue.js';

export interface Stores {
  tables: StoreTables;
  idempotency: TableIdempotencyStore;
  nonces: TableNonceStore;
  audit: TableAuditTrail;
  operations: TableOperationStore;
  discovery: TableDiscoveryStore;
  queue: WorkQueue;
  /** Creates the tables and queues; called once at start-up (one found missing later is re-created on the spot). */
  ensureTables(): Promise<void>;
}

/** The composition root's one call for the storage layer. */
export function createStores(
  config: StorageConfig,
  credential: TokenCredential,
  deps: {
    clock: () => number;
    tuning?: TableClientTuning;
    auditEvents?: AuditEvents;
  },
): Stores {
  const tables = createTableClients(config, credential, deps.tuning);
  const queue = createWorkQueue(config, credential, deps.tuning?.policies);
  return {
    tables,
    idempotency: new TableIdempotencyStore({
      table: tables.idempotency,
      chainTable: tables.audit,
      clock: deps.clock,
      claimLeaseSeconds: config.claimLeaseSeconds,
      idempotencyTtlHours: config.idempotencyTtlHours,
    }),
    nonces: new TableNonceStore({ table: tables.nonces, chainTable: tables.audit, clock: deps.clock }),
    audit: new TableAuditTrail({
      table: tables.audit,
      clock: deps.clock,
      leaseSeconds: config.claimLeaseSeconds,
      ...(deps.auditEvents ? { events: deps.auditEvents } : {}),
    }),
    operations: new TableOperationStore({ table: tables.operations, clock: deps.clock }),
    discovery: new TableDiscoveryStore({ table: tables.discovery }),
    queue,
    ensureTables: async () => {
      await Promise.all([tables.ensureTables(), queue.create()]);
    },
  };
}
