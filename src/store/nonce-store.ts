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
   * The digest covers the delivery id, so both live in one partition and go in one entity-group transaction: one
   * call for a new message. On a conflict each mark is judged alone, as `remember` would.
   */
  rememberDelivery(delivery: Mark, signature: Mark, ttlSeconds: number): Promise<DeliveryMarks>;
  /** A message's marks, to be written in another transaction of their partition or remembered alone. */
  draft(marks: DraftMarks, ttlSeconds: number): MarkDraft;
  /**
   * The same marks kept in a connection's chain partition (audit table) rather than their own: what is signed
   * names its connection, so every sighting of a message meets its marks there, and a new message's marks can be
   * written in the transaction that claims its key and takes the connection's lease (`draft`).
   */
  beside(chain: string): ChainNonces;
}

/** Marks kept beside a connection's chain. */
export type ChainNonces = Omit<NonceStore, 'beside'>;

export interface DraftMarks {
  delivery?: Mark;
  signature?: Mark;
}

/**
 * A message's marks not yet written. `rows` are inserts for a transaction in their partition; `remember` writes
 * and judges them alone (as `rememberDelivery`), after such a transaction failed or instead of one. Both carry the
 * same writer, so marks that landed in an earlier write of ours are judged new.
 */
export interface MarkDraft {
  rows(now: number): TableEntity<Record<string, unknown>>[];
  remember(): Promise<DeliveryMarks>;
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
  /** The audit table, where `beside` keeps the marks of a connection's messages. */
  chainTable: StoreTable;
}

const ROW_KEY = 'nonce';
const MAX_ROUNDS = 3;
/** The `kind` of a mark's row, so retention finds the marks among an audit table's rows. */
export const MARK_KIND = 'mark';

/**
 * Where a mark's row goes: its own partition (nonce table), or a given one (a chain partition, audit table).
 * `delivery` is the partition of the delivery a signed-content mark goes with.
 */
type Placement = (mark: Mark, delivery?: string) => Spot;
type Spot = { partitionKey: string; rowKey: string };

/** Nonce table: a delivery's (or a lone mark's) own partition; a signed-content mark beside its delivery's. */
const ownPartition: Placement = (mark, delivery) =>
  delivery === undefined
    ? { partitionKey: hashedKey('n', mark.scope, mark.id), rowKey: ROW_KEY }
    : { partitionKey: delivery, rowKey: hashedKey('s', mark.scope, mark.id) };

/** A chain partition: `n` + digest for a lone mark or a delivery, `s` + digest beside one (never a claim's `k`). */
function inPartition(partitionKey: string): Placement {
  return (mark, delivery) => ({
    partitionKey,
    rowKey: hashedKey(delivery === undefined ? 'n' : 's', mark.scope, mark.id),
  });
}

export class TableNonceStore implements NonceStore {
  readonly #table: StoreTable;
  readonly #clock: () => number;
  readonly #chainTable: StoreTable;
  readonly #place: Placement;

  constructor(options: TableNonceStoreOptions, place: Placement = ownPartition) {
    this.#table = options.table;
    this.#clock = options.clock;
    this.#chainTable = options.chainTable;
    this.#place = place;
  }

  beside(chain: string): ChainNonces {
    const options = { table: this.#chainTable, chainTable: this.#chainTable, clock: this.#clock };
    return new TableNonceStore(options, inPartition(chain));
  }

  async remember(scope: string, id: string, ttlSeconds: number, binding?: string): Promise<boolean> {
    const { signatureNew } = await this.draft({ signature: { scope, id, binding } }, ttlSeconds).remember();
    return signatureNew;
  }

  rememberDelivery(delivery: Mark, signature: Mark, ttlSeconds: number): Promise<DeliveryMarks> {
    return this.draft({ delivery, signature }, ttlSeconds).remember();
  }

  draft(marks: DraftMarks, ttlSeconds: number): MarkDraft {
    checkTtl(ttlSeconds);
    const { delivery, signature } = marks;
    const deliveryRow = delivery && markRow(this.#place(delivery), delivery);
    // Beside a delivery, signed content is accepted once whatever its binding; a lone mark keeps its own.
    const signatureRow =
      signature &&
      (deliveryRow
        ? markRow(this.#place(signature, deliveryRow.partitionKey), { ...signature, binding: undefined })
        : markRow(this.#place(signature), signature));
    const rows = [deliveryRow, signatureRow].filter((row) => row !== undefined);
    // Marks our own write: if the SDK resends a transaction whose answer was lost, the 409 must not read as a replay.
    const writer = randomUUID();
    return {
      rows: (now) => rows.map((row) => entityOf(row, writer, now, ttlSeconds)),
      remember: async () => {
        const [first, second] = rows;
        if (first === undefined) return { deliveryNew: true, signatureNew: true };
        if (second === undefined) {
          const isNew = await this.#judge(first, ttlSeconds, writer);
          return { deliveryNew: deliveryRow ? isNew : true, signatureNew: deliveryRow ? true : isNew };
        }
        return this.#rememberBoth(first, second, ttlSeconds, writer);
      },
    };
  }

  async #rememberBoth(
    delivery: MarkRow,
    signature: MarkRow,
    ttlSeconds: number,
    writer: string,
  ): Promise<DeliveryMarks> {
    const now = this.#clock();
    const actions = [delivery, signature].map(
      (row) => ['create', entityOf(row, writer, now, ttlSeconds)] as TransactionAction,
    );
    const created = await this.#table.call('nonce.remember-both', (c) => c.submitTransaction(actions), [409]);
    if (created.ok) return { deliveryNew: true, signatureNew: true };
    // One of them is there (a retry, a replay, or an expired mark): each is judged alone, as `remember` does.
    const [deliveryNew, signatureNew] = await Promise.all(
      [delivery, signature].map((row) => this.#judge(row, ttlSeconds, writer)),
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

function markRow({ partitionKey, rowKey }: Spot, mark: Mark): MarkRow {
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
    kind: MARK_KIND,
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
