import type { TableEntity } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { MARK_KIND } from './nonce-store.js';
import { readInt } from './keys.js';
import { statusOf, toStoreError } from './table-call.js';
import type { StoreTable } from './table-clients.js';

interface PurgeOptions {
  concurrency?: number;
  limit?: number;
  /** Only rows of this `kind` (a table that holds rows that never expire as well). */
  kind?: string;
  /** More columns each expired row is read with, for `first`. */
  select?: string[];
  /** Done before a row is deleted; false keeps the row (for now). */
  first?: (row: TableEntity<Record<string, unknown>>) => Promise<boolean>;
}

/**
 * Deletes the rows whose `expiresAt` has passed: replay marks and idempotency records are only ever read while
 * they count, so once expired they are dead weight. Each delete is conditional on the ETag read, so a row renewed
 * meanwhile (a key claimed again) is kept. Audit records have no expiry and are never deleted here.
 */
export async function purgeExpired(
  table: StoreTable,
  now: number,
  options: PurgeOptions = {},
): Promise<number> {
  const concurrency = options.concurrency ?? 8;
  const limit = options.limit ?? 100_000;
  const rows = table.client.listEntities<TableEntity<Record<string, unknown>>>({
    // Int64 comparison: the column is written as Int64, so the literal needs the L suffix.
    queryOptions: {
      filter: `${options.kind === undefined ? '' : odata`kind eq ${options.kind} and `}expiresAt lt ${Math.trunc(now)}L`,
      select: ['PartitionKey', 'RowKey', ...(options.select ?? [])],
    },
  });
  let deleted = 0;
  const inFlight = new Set<Promise<void>>();
  try {
    for await (const row of rows) {
      if (deleted + inFlight.size >= limit) break;
      const work = remove(table, row, options.first).then((done) => {
        if (done) deleted++;
      });
      inFlight.add(work);
      // The failure itself reaches the race or the final wait below; this chain only tidies up.
      void work.finally(() => inFlight.delete(work)).catch(() => undefined);
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
  } catch (error) {
    if (statusOf(error) !== 404) throw toStoreError(`purge ${table.name}`, error);
  }
  await Promise.all(inFlight);
  return deleted;
}

/**
 * Replay marks kept beside connections' chains in the audit table (see nonce-store.ts `beside`). Unlike claims,
 * they have no binding to find them by, so the audit table is queried for them: a filter on their kind, which the
 * service evaluates over the table's rows without returning any record.
 */
export function purgeChainMarks(audit: StoreTable, now: number): Promise<number> {
  return purgeExpired(audit, now, { kind: MARK_KIND });
}

/**
 * Operation rows past their `expiresAt` that are done and owe nothing more. Work still queued or running, or
 * whose report is still owed, is kept whatever its expiry (a short IDEMPOTENCY_TTL_HOURS would otherwise delete
 * accepted work before it ended): the sweeper ends it, and the next purge takes it.
 */
export function purgeEndedOperations(table: StoreTable, now: number): Promise<number> {
  return purgeExpired(table, now, {
    select: ['state', 'outboxOwed'],
    first: (row) => Promise.resolve(row.state === 'done' && row.outboxOwed !== true),
  });
}

async function remove(
  table: StoreTable,
  row: TableEntity<Record<string, unknown>>,
  first: PurgeOptions['first'],
): Promise<boolean> {
  if (first && !(await first(row))) return false;
  const etag = typeof row.etag === 'string' ? row.etag : '*';
  const result = await table.call(
    'retention.delete',
    (c) => c.deleteEntity(row.partitionKey, row.rowKey, { etag }),
    [404, 412],
  );
  return result.ok;
}

/**
 * Expired idempotency records: each key's row in the idempotency table and, for a key's binding, the claim it
 * names beside its connection's chain in the audit table. The claim is found from its binding, so the audit
 * table (which only grows) is never scanned. A claim that still counts keeps its binding until it expires too.
 */
export function purgeExpiredKeys(keys: StoreTable, audit: StoreTable, now: number): Promise<number> {
  return purgeExpired(keys, now, {
    select: ['chain'],
    first: async (binding) => {
      const chain = typeof binding.chain === 'string' ? binding.chain : undefined;
      if (chain === undefined) return true;
      const claim = await audit.call(
        'retention.read',
        (c) => c.getEntity<Record<string, unknown>>(chain, binding.partitionKey),
        [404],
      );
      if (!claim.ok) return true;
      if ((readInt(claim.value.expiresAt) ?? 0) >= now) return false;
      return remove(audit, claim.value as TableEntity<Record<string, unknown>>, undefined);
    },
  });
}
