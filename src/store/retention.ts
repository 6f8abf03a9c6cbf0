import type { TableEntity } from '@azure/data-tables';
import { statusOf, toStoreError } from './table-call.js';
import type { StoreTable } from './table-clients.js';

/**
 * Deletes the rows whose `expiresAt` has passed: replay marks and idempotency records are only ever read while
 * they count, so once expired they are dead weight. Each delete is conditional on the ETag read, so a row renewed
 * meanwhile (a key claimed again) is kept. Audit records never expire here.
 */
export async function purgeExpired(
  table: StoreTable,
  now: number,
  options: { concurrency?: number; limit?: number } = {},
): Promise<number> {
  const concurrency = options.concurrency ?? 8;
  const limit = options.limit ?? 100_000;
  const rows = table.client.listEntities<TableEntity<Record<string, unknown>>>({
    // Int64 comparison: the column is written as Int64, so the literal needs the L suffix.
    queryOptions: { filter: `expiresAt lt ${Math.trunc(now)}L`, select: ['PartitionKey', 'RowKey'] },
  });
  let deleted = 0;
  const inFlight = new Set<Promise<void>>();
  try {
    for await (const row of rows) {
      if (deleted + inFlight.size >= limit) break;
      const work = remove(table, row).then((done) => {
        if (done) deleted++;
      });
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
      if (inFlight.size >= concurrency) await Promise.race(inFlight);
    }
  } catch (error) {
    if (statusOf(error) !== 404) throw toStoreError(`purge ${table.name}`, error);
  }
  await Promise.all(inFlight);
  return deleted;
}

async function remove(table: StoreTable, row: TableEntity<Record<string, unknown>>): Promise<boolean> {
  const etag = typeof row.etag === 'string' ? row.etag : '*';
  const result = await table.call(
    'retention.delete',
    (c) => c.deleteEntity(row.partitionKey, row.rowKey, { etag }),
    [404, 412],
  );
  return result.ok;
}
