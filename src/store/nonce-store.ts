import type { TableEntity, TransactionAction } from '@azure/data-tables';
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
  /**
   * A delivery's two marks at once: its id (with `binding`, as `remember`) and the digest of its signed content.
   * The digest covers the delivery id, so both live in the delivery's partition and go in one entity-group
   * transaction: one call for a new message. On a conflict each mark is judged alone, as `remember` would.
   */
  rememberDelivery(delivery: Mark, signature: Mark, ttlSeconds: number): Promise<DeliveryMarks>;
}

export interface Mark {
  scope: string;
  id: string;
  binding?: string;
}

export interface DeliveryMarks {
  deliveryNew: boolean;
  signatureNew: boolean;
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
    checkTtl(ttlSeconds);
    const row = markRow(hashedKey('n', scope, id), ROW_KEY, { scope, id, binding });
    return this.#judge(row, ttlSeconds, randomUUID());
  }

  async rememberDelivery(delivery: Mark, signature: Mark, ttlSeconds: number): Promise<DeliveryMarks> {
    checkTtl(ttlSeconds);
    const partitionKey = hashedKey('n', delivery.scope, delivery.id);
    const rows = [
      markRow(partitionKey, ROW_KEY, delivery),
      markRow(partitionKey, hashedKey('s', signature.scope, signature.id), {
        ...signature,
        binding: undefined,
      }),
    ] as const;
    // Marks our own write: if the SDK resends a transaction whose answer was lost, the 409 must not read as a replay.
    const writer = randomUUID();
    const now = this.#clock();
    const actions = rows.map(
      (row) => ['create', entityOf(row, writer, now, ttlSeconds)] as TransactionAction,
    );
    const created = await this.#table.call('nonce.remember-both', (c) => c.submitTransaction(actions), [409]);
    if (created.ok) return { deliveryNew: true, signatureNew: true };
    // One of them is there (a retry, a replay, or an expired mark): each is judged alone, as `remember` does.
    const [deliveryNew, signatureNew] = await Promise.all(
      rows.map((row) => this.#judge(row, ttlSeconds, writer)),
    );
    return { deliveryNew: deliveryNew ?? false, signatureNew: signatureNew ?? false };
  }

  /** true when this is the first sighting of `row` within the TTL (or a retry under the same binding). */
  async #judge(row: MarkRow, ttlSeconds: number, writer: string): Promise<boolean> {
    const { partitionKey, rowKey, bound } = row;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const now = this.#clock();
      const entity = entityOf(row, writer, now, ttlSeconds);
      const created = await this.#table.call('nonce.remember', (c) => c.createEntity(entity), [409]);
      if (created.ok) return true;
      const read = await this.#table.call(
        'nonce.read',
        (c) => c.getEntity<Record<string, unknown>>(partitionKey, rowKey),
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

interface MarkRow {
  partitionKey: string;
  rowKey: string;
  scope: string;
  bound?: string;
}

function markRow(partitionKey: string, rowKey: string, mark: Mark): MarkRow {
  const bound = mark.binding === undefined ? undefined : hashedKey('b', mark.binding);
  return { partitionKey, rowKey, scope: mark.scope, ...(bound === undefined ? {} : { bound }) };
}

function entityOf(
  row: MarkRow,
  writer: string,
  now: number,
  ttlSeconds: number,
): TableEntity<Record<string, unknown>> {
  return {
    partitionKey: row.partitionKey,
    rowKey: row.rowKey,
    scope: row.scope.slice(0, 256),
    writer,
    ...(row.bound === undefined ? {} : { binding: row.bound }),
    seenAt: int64(now),
    expiresAt: int64(now + ttlSeconds * 1_000),
  };
}

function checkTtl(ttlSeconds: number): void {
  if (!(ttlSeconds > 0)) throw new RangeError('ttlSeconds must be positive');
}
