import { randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { processCpuMs } from './process-cpu.js';

/**
 * Azurite's CPU time for two storage patterns, driven from the bench process with the SDK the app uses, at the
 * bench's concurrency, each worker on a chain of its own:
 * - the floor's: one conditional insert (the claim), one upsert (the record);
 * - the least issue 14 allows an approval that is exactly once and hash-chained: the claim insert, one entity-group
 *   transaction of the record and the chain head (the head's ETag known from the previous write, never read), and
 *   the claim's completion.
 * No check, no signature, no policy: what storage alone costs. The difference between the two bounds from below
 * what any approval with a chained record costs over the floor, on this Azurite.
 */

/** CPU per request of one pattern, ms: Azurite's, and the SDK client's that made the calls. */
export interface SideCost {
  azurite: number;
  client: number;
}

export interface PatternCost {
  floor: SideCost;
  chained: SideCost;
  /** Requests measured of each pattern (all of which succeeded, or this throws). */
  requests: number;
}

const REQUESTS = 400;
/** Rounds of each pattern, alternated; the least CPU of each is kept. */
const ROUNDS = 3;
const RECORD_TEXT = 'r'.repeat(600);

interface Tables {
  claims: TableClient;
  records: TableClient;
}

/** One worker's chain: the head's position and ETag, as the writer that holds the lease knows them. */
interface Head {
  position: number;
  etag: string;
}

async function openTables(connectionString: string): Promise<Tables> {
  const open = async (name: string): Promise<TableClient> => {
    const client = TableClient.fromConnectionString(connectionString, name, {
      allowInsecureConnection: true,
    });
    await client.createTable();
    return client;
  };
  return { claims: await open('benchPatternClaims'), records: await open('benchPatternRecords') };
}

async function floorPattern(tables: Tables, chain: string): Promise<void> {
  const rowKey = randomUUID();
  await tables.claims.createEntity({ partitionKey: chain, rowKey, state: 'claimed' });
  await tables.records.upsertEntity({ partitionKey: chain, rowKey, record: RECORD_TEXT }, 'Replace');
}

async function chainedPattern(tables: Tables, chain: string, head: Head): Promise<void> {
  const rowKey = randomUUID();
  await tables.claims.createEntity({ partitionKey: chain, rowKey, state: 'claimed' });
  const position = head.position + 1;
  const record = {
    partitionKey: chain,
    rowKey: `r${String(position).padStart(12, '0')}`,
    record: RECORD_TEXT,
  };
  const headRow = { partitionKey: chain, rowKey: 'head', position, hash: 'h'.repeat(64) };
  const written = await tables.records.submitTransaction([
    ['create', record],
    ['update', headRow, 'Replace', { etag: head.etag }],
  ]);
  const etag = written.subResponses[1]?.etag;
  if (etag === undefined) throw new Error('the chain head was written without an ETag');
  head.position = position;
  head.etag = etag;
  await tables.claims.updateEntity(
    { partitionKey: chain, rowKey, state: 'done', answer: RECORD_TEXT },
    'Merge',
  );
}

/**
 * CPU per request of `one`, run REQUESTS times over `workers` concurrent workers: Azurite's, and this process's
 * (nothing else runs in it meanwhile, so that is the client's).
 */
async function measure(
  azuritePid: number,
  workers: number,
  one: (worker: number) => Promise<void>,
): Promise<SideCost> {
  let next = 0;
  const before = await processCpuMs(azuritePid);
  const client = process.cpuUsage();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      while (next < REQUESTS) {
        next++;
        await one(worker);
      }
    }),
  );
  const used = process.cpuUsage(client);
  const after = await processCpuMs(azuritePid);
  if (before === undefined || after === undefined) throw new Error('Azurite CPU cannot be read (/proc)');
  return { azurite: (after - before) / REQUESTS, client: (used.user + used.system) / 1000 / REQUESTS };
}

/** The least of two measurements, side by side: the machine only ever adds. */
const least = (a: SideCost, b: SideCost): SideCost => ({
  azurite: Math.min(a.azurite, b.azurite),
  client: Math.min(a.client, b.client),
});

export async function measurePatterns(
  connectionString: string,
  azuritePid: number,
  workers: number,
): Promise<PatternCost> {
  const tables = await openTables(connectionString);
  const run = randomUUID().slice(0, 8);
  const chainOf = (worker: number): string => `${run}-${worker}`;
  const heads = await Promise.all(
    Array.from({ length: workers }, async (_, worker): Promise<Head> => {
      const written = await tables.records.createEntity({ partitionKey: chainOf(worker), rowKey: 'head' });
      return { position: 0, etag: written.etag ?? '' };
    }),
  );
  const floorOne = (worker: number) => floorPattern(tables, chainOf(worker));
  const chainedOne = (worker: number) => chainedPattern(tables, chainOf(worker), heads[worker] as Head);
  // Unmeasured first: Azurite's and the SDK's first calls compile and allocate what the others reuse.
  await measure(azuritePid, workers, floorOne);
  await measure(azuritePid, workers, chainedOne);
  const unmeasured: SideCost = { azurite: Number.POSITIVE_INFINITY, client: Number.POSITIVE_INFINITY };
  let floor = unmeasured;
  let chained = unmeasured;
  for (let round = 0; round < ROUNDS; round++) {
    floor = least(floor, await measure(azuritePid, workers, floorOne));
    chained = least(chained, await measure(azuritePid, workers, chainedOne));
  }
  return { floor, chained, requests: REQUESTS * ROUNDS };
}

/** The floor's CPU per request outside storage, as (l) measured it, ms. */
export interface FloorCpu {
  /** The floor server's CPU, its storage client's included. */
  server: number;
  sandbox: number;
}

export interface ChainedBound {
  /** The floor's CPU per request, its storage as measured here, ms. */
  floorMs: number;
  /** The same with the least chained storage in its place, ms. */
  chainedMs: number;
  /** chainedMs / floorMs: no approval with a chained record can have a lower (b)/(l) here. */
  ratio: number;
  /** The ratio were the chained pattern's client work no more than the floor's: Azurite's part alone. */
  azuriteOnly: number;
}

/**
 * What the floor would cost with the least chained storage in place of its two plain writes, and nothing else
 * added. The floor server's own storage client is taken out (measured here, not in the server) and the chained
 * pattern's put in, so both sides are measured the same way.
 */
export function chainedBound(floor: FloorCpu, cost: PatternCost): ChainedBound {
  const rest = floor.server - cost.floor.client + floor.sandbox;
  const total = (side: SideCost): number => rest + side.client + side.azurite;
  const floorMs = total(cost.floor);
  const chainedMs = total(cost.chained);
  return {
    floorMs,
    chainedMs,
    ratio: chainedMs / floorMs,
    azuriteOnly: total({ ...cost.chained, client: cost.floor.client }) / floorMs,
  };
}
