import type { TokenCredential } from '@azure/core-auth';
import type { StorageConfig } from '../config.js';
import { TableAuditTrail } from './audit-trail.js';
import { TableIdempotencyStore } from './idempotency-store.js';
import { TableNonceStore } from './nonce-store.js';
import { createTableClients, type StoreTables, type TableClientTuning } from './table-clients.js';

export interface Stores {
  tables: StoreTables;
  idempotency: TableIdempotencyStore;
  nonces: TableNonceStore;
  audit: TableAuditTrail;
  /** Creates the tables; called once at start-up (a table found missing later is re-created on the spot). */
  ensureTables(): Promise<void>;
}

/** The composition root's one call for the storage layer. */
export function createStores(
  config: StorageConfig,
  credential: TokenCredential,
  deps: { clock: () => number; tuning?: TableClientTuning },
): Stores {
  const tables = createTableClients(config, credential, deps.tuning);
  return {
    tables,
    idempotency: new TableIdempotencyStore({
      table: tables.idempotency,
      clock: deps.clock,
      claimLeaseSeconds: config.claimLeaseSeconds,
      idempotencyTtlHours: config.idempotencyTtlHours,
    }),
    nonces: new TableNonceStore({ table: tables.nonces, clock: deps.clock }),
    audit: new TableAuditTrail({
      table: tables.audit,
      clock: deps.clock,
      leaseSeconds: config.claimLeaseSeconds,
    }),
    ensureTables: () => tables.ensureTables(),
  };
}
