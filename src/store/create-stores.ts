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
  /** Idempotent; call before the first request is served (or lazily — concurrent calls share one attempt). */
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
      client: tables.idempotency,
      clock: deps.clock,
      claimLeaseSeconds: config.claimLeaseSeconds,
      idempotencyTtlHours: config.idempotencyTtlHours,
    }),
    nonces: new TableNonceStore({ client: tables.nonces, clock: deps.clock }),
    audit: new TableAuditTrail({ client: tables.audit }),
    ensureTables: () => tables.ensureTables(),
  };
}
