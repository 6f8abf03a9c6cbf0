import type { TableEntity } from '@azure/data-tables';
import { randomUUID } from 'node:crypto';
import { hashedKey, int64, readInt, readString } from './keys.js';
import type { StoreTable } from './table-clients.js';

/**
 * Replay guard storage shared by every instance: a message id is accepted once per TTL.
 * Only a digest of (scope, id) is stored — the id may be a signature (Slack has no delivery id), and raw
 * signatures are never persisted.
 */
export interface NonceStore {
  /**
   * true the first time (scope, id) is seen within ttlSeconds; false for a replay. With a `binding` (the
   * idempotency key the delivery was first used with), a later sighting with the same binding is a retry, not a
   * replay, and also answers true.
   */
  remember(scope: string, id: string, ttlSeconds: number, binding?: string): Promise<boolean>;
}

export interface TableNonceStoreOptions {
  table: StoreTable;
  clock: () => number;
}

const ROW_KEY = 'nonce';
const MAX_ROUNDS = 3;

export class TableNonceStore implements NonceStore {
  readonly #table: StoreTable;
  readonly #clock: () => number;

  constructor(options: TableNonceStoreOptions) {
    this.#table = options.table;
    this.#clock = options.clock;
  }

  async remember(scope: string, id: string, ttlSeconds: number, binding?: string): Promise<boolean> {
    if (!(ttlSeconds > 0)) throw new RangeError('ttlSeconds must be positive');
    const partitionKey = hashedKey('n', scope, id);
    const bound = binding === undefined ? undefined : hashedKey('b', binding);
    // Marks our own write: if the SDK resends an insert whose answer was lost, the 409 must not read as a replay.
    const writer = randomUUID();
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const now = this.#clock();
      const entity: TableEntity<Record<string, unknown>> = {
        partitionKey,
        rowKey: ROW_KEY,
        scope: scope.slice(0, 256),
        writer,
        ...(bound === undefined ? {} : { binding: bound }),
        seenAt: int64(now),
        expiresAt: int64(now + ttlSeconds * 1_000),
      };
      const created = await this.#table.call('nonce.remember', (c) => c.createEntity(entity), [409]);
      if (created.ok) return true;

      const read = await this.#table.call(
        'nonce.read',
        (c) => c.getEntity<Record<string, unknown>>(partitionKey, ROW_KEY),
        [404],
      );
      if (!read.ok) continue;
      if (read.value.writer === writer) return true;
      if ((readInt(read.value.expiresAt) ?? 0) > now)
        return bound !== undefined && read.value.binding === bound;

      // Seen before but expired: whoever replaces it first (ETag) is the new first sighting.
      const etag = readString(read.value.etag);
      if (etag === undefined) return false;
      const replaced = await this.#table.call(
        'nonce.renew',
        (c) => c.updateEntity(entity, 'Replace', { etag }),
        [404, 412],
      );
      if (replaced.ok) return true;
      // 412 is another instance's renewal, or our own resent after a lost answer; the next round tells which.
    }
    // Still racing or vanishing under us after several rounds: refusing is the safe answer for a replay guard.
    return false;
  }
}
