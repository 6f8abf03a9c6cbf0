import type { TableEntity } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { hashedKey, int64, readInt, readString } from './keys.js';
import { statusOf, toStoreError } from './table-call.js';
import type { StoreTable } from './table-clients.js';

/**
 * What discovery has seen and done, one row per connection and consumer (the private endpoint it links): a
 * re-created endpoint is a new row, so it is asked about again. A row is created once (the first scan that sees
 * the connection Pending owns it), then moved on by scans with ETag-checked updates, so two scans running at once
 * never act twice on one connection.
 */

export type DiscoveredState =
  /** Seen Pending; nothing done yet (or being done by the scan that created it). */
  | 'seen'
  /** Approved by a policy rule that trusts it. */
  | 'approved'
  /** People were asked (ServiceNow, Slack, Teams). */
  | 'requested'
  /** Still Pending after DISCOVERY_REMIND_AFTER_HOURS: asked once more. */
  | 'reminded'
  /** Rejected by a policy rule's expiry. */
  | 'expired'
  /** Decided elsewhere, or gone: its requests were updated. */
  | 'closed';

/** Where people were asked, so a reminder or a close reaches the same places. */
export interface Asked {
  servicenow?: { sysId: string };
  slack?: { channel: string; ts: string };
  teams?: boolean;
}

export interface Discovered {
  connectionId: string;
  privateEndpointId: string;
  state: DiscoveredState;
  firstSeenAt: number;
  lastSeenAt: number;
  /** The status the last scan read. */
  status: string;
  /** The policy rule that approved or expired it. */
  rule?: string;
  /** The approval's request id (its audit record). */
  requestId?: string;
  asked?: Asked;
  /** When a channel first took the request: the reminder counts from then, never from before people heard. */
  askedAt?: number;
  remindedAt?: number;
  closedAt?: number;
  /** Why it was closed: approved or rejected elsewhere, or gone. */
  closedWhy?: string;
  /**
   * A scan is acting on it (asking, reminding, deciding) until then: others leave it alone. Taken with the same
   * ETag-checked update as every change, so one scan holds it; a scan that died lets go when it passes.
   */
  busyUntil?: number;
  /** When the retention timer may delete it: moved on while the connection is seen Pending, and once it ended. */
  expiresAt?: number;
  etag: string;
}

export type DiscoveredPatch = Partial<
  Pick<
    Discovered,
    | 'state'
    | 'lastSeenAt'
    | 'status'
    | 'rule'
    | 'requestId'
    | 'asked'
    | 'askedAt'
    | 'remindedAt'
    | 'closedAt'
    | 'closedWhy'
    | 'busyUntil'
    | 'expiresAt'
  >
>;

export interface DiscoveryStore {
  /** The row for this connection and endpoint, created now if it did not exist (`created` says which). */
  claim(seen: {
    connectionId: string;
    privateEndpointId: string;
    status: string;
    at: number;
    expiresAt: number;
  }): Promise<{ row: Discovered; created: boolean }>;
  /** A change conditional on the row being as read; undefined when another scan moved it first. */
  update(row: Discovered, patch: DiscoveredPatch): Promise<Discovered | undefined>;
  /** Rows people were asked about and that are still open. */
  asked(): AsyncIterable<Discovered>;
  /** The most recently seen rows, newest first, at most `limit`. */
  recent(limit: number): Promise<Discovered[]>;
  /** Keeps what one scan saw and did (its counters), for `GET /api/discovery`. */
  recordScan(scan: ScanSummary): Promise<void>;
  /** The latest scans, newest first, at most `limit`. */
  scans(limit: number): Promise<ScanSummary[]>;
}

/** One scan's counters, as kept: numbers only, and when it started. */
export interface ScanSummary {
  scanId: string;
  startedAt: number;
  [counter: string]: number | string;
}

const SCAN_PARTITION = 'scan';
const SCAN_KEPT_MS = 7 * 86_400_000;
/** Row keys sort ascending: an inverted start time lists the newest scan first. */
const invertedTime = (at: number): string => String(9_999_999_999_999 - at).padStart(13, '0');

const STRING_COLUMNS = [
  'connectionId',
  'privateEndpointId',
  'state',
  'status',
  'rule',
  'requestId',
  'closedWhy',
];
const INT_COLUMNS = [
  'firstSeenAt',
  'lastSeenAt',
  'askedAt',
  'remindedAt',
  'closedAt',
  'busyUntil',
  'expiresAt',
];

export class TableDiscoveryStore implements DiscoveryStore {
  readonly #table: StoreTable;

  constructor(options: { table: StoreTable }) {
    this.#table = options.table;
  }

  async claim(seen: {
    connectionId: string;
    privateEndpointId: string;
    status: string;
    at: number;
    expiresAt: number;
  }): Promise<{ row: Discovered; created: boolean }> {
    const fields = { ...seen, state: 'seen', firstSeenAt: seen.at, lastSeenAt: seen.at };
    const entity = toEntity(seen.connectionId, seen.privateEndpointId, fields);
    const created = await this.#table.call('discovery.claim', (c) => c.createEntity(entity), [409]);
    const read = await this.#get(seen.connectionId, seen.privateEndpointId);
    if (read === undefined) throw new TypeError('a discovery row vanished right after it was written');
    return { row: read, created: created.ok };
  }

  async update(row: Discovered, patch: DiscoveredPatch): Promise<Discovered | undefined> {
    const entity = toEntity(row.connectionId, row.privateEndpointId, patch);
    const written = await this.#table.call(
      'discovery.update',
      (c) => c.updateEntity(entity, 'Merge', { etag: row.etag }),
      [404, 412],
    );
    if (!written.ok || written.value.etag === undefined) return undefined;
    return { ...row, ...patch, etag: written.value.etag };
  }

  async *asked(): AsyncIterable<Discovered> {
    yield* this.#list(odata`state eq ${'requested'} or state eq ${'reminded'}`);
  }

  async recent(limit: number): Promise<Discovered[]> {
    // Only the newest `limit` are held while every row streams past.
    const kept: Discovered[] = [];
    for await (const row of this.#list(odata`PartitionKey ne ${SCAN_PARTITION}`)) {
      kept.push(row);
      if (kept.length > limit * 2) kept.sort((a, b) => b.lastSeenAt - a.lastSeenAt).splice(limit);
    }
    return kept.sort((a, b) => b.lastSeenAt - a.lastSeenAt).slice(0, limit);
  }

  async recordScan(scan: ScanSummary): Promise<void> {
    const rowKey = `${invertedTime(scan.startedAt)}-${scan.scanId}`;
    const entity: TableEntity<Record<string, unknown>> = {
      partitionKey: SCAN_PARTITION,
      rowKey,
      // The retention timer compares Int64: a summary is kept a week.
      expiresAt: int64(scan.startedAt + SCAN_KEPT_MS),
    };
    for (const [key, value] of Object.entries(scan)) entity[key] = value;
    await this.#table.call('discovery.scan', (c) => c.createEntity(entity));
  }

  async scans(limit: number): Promise<ScanSummary[]> {
    const found: ScanSummary[] = [];
    const rows = this.#table.client.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${SCAN_PARTITION}` },
    });
    try {
      for await (const row of rows) {
        const { partitionKey: _p, rowKey: _r, etag: _e, timestamp: _t, expiresAt: _x, ...fields } = row;
        if (typeof fields.scanId === 'string' && typeof fields.startedAt === 'number')
          found.push(fields as ScanSummary);
        if (found.length >= limit) break;
      }
    } catch (error) {
      if (statusOf(error) !== 404) throw toStoreError('discovery.scans', error);
    }
    return found;
  }

  async #get(connectionId: string, privateEndpointId: string): Promise<Discovered | undefined> {
    const read = await this.#table.call(
      'discovery.get',
      (c) => c.getEntity<Record<string, unknown>>(...keys(connectionId, privateEndpointId)),
      [404],
    );
    return read.ok ? fromEntity(read.value) : undefined;
  }

  async *#list(filter: string | undefined): AsyncIterable<Discovered> {
    const rows = this.#table.client.listEntities<Record<string, unknown>>(
      filter === undefined ? {} : { queryOptions: { filter } },
    );
    try {
      for await (const row of rows) {
        const found = fromEntity(row);
        if (found) yield found;
      }
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw toStoreError('discovery.list', error);
    }
  }
}

function keys(connectionId: string, privateEndpointId: string): [string, string] {
  return [hashedKey('d', connectionId.toLowerCase()), hashedKey('e', privateEndpointId.toLowerCase())];
}

function toEntity(
  connectionId: string,
  privateEndpointId: string,
  fields: Record<string, unknown>,
): TableEntity<Record<string, unknown>> {
  const [partitionKey, rowKey] = keys(connectionId, privateEndpointId);
  const entity: TableEntity<Record<string, unknown>> = { partitionKey, rowKey };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (STRING_COLUMNS.includes(key)) entity[key] = value;
    else if (INT_COLUMNS.includes(key)) entity[key] = int64(value as number);
    else if (key === 'asked') entity.asked = JSON.stringify(value);
  }
  return entity;
}

function fromEntity(entity: Record<string, unknown>): Discovered | undefined {
  const connectionId = readString(entity.connectionId);
  const privateEndpointId = readString(entity.privateEndpointId);
  const state = readString(entity.state) as DiscoveredState | undefined;
  const etag = readString(entity.etag);
  if (!connectionId || privateEndpointId === undefined || !state || !etag) return undefined;
  const row: Discovered = {
    connectionId,
    privateEndpointId,
    state,
    firstSeenAt: readInt(entity.firstSeenAt) ?? 0,
    lastSeenAt: readInt(entity.lastSeenAt) ?? 0,
    status: readString(entity.status) ?? '',
    etag,
  };
  for (const key of ['rule', 'requestId', 'closedWhy'] as const) {
    const value = readString(entity[key]);
    if (value) row[key] = value;
  }
  // 0 is "never" (a Merge cannot remove a column): a reminder given back is written as 0.
  for (const key of ['askedAt', 'remindedAt', 'closedAt', 'busyUntil'] as const) {
    const value = readInt(entity[key]);
    if (value !== undefined && value !== 0) row[key] = value;
  }
  if (typeof entity.asked === 'string') row.asked = JSON.parse(entity.asked) as Asked;
  return row;
}
