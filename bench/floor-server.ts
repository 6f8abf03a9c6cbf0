import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { RestError, TableClient } from '@azure/data-tables';
import { getThenPut } from './arm-raw.js';

/**
 * The floor (l): the least this job can do exactly once with a record, served by a bare node:http server in its
 * own process, with no signature, schema, policy or other check. Per request: one conditional insert (the
 * claim of connection + delivery id; a second delivery of the same id gets 409 and changes nothing), GET + PUT
 * of the connection on the sandbox, one upsert (the record). The same SDK the app uses for Table Storage
 * (@azure/data-tables, same connection string, same Azurite); Resource Manager as the raw row (a) calls it.
 *
 *   node dist/bench/floor-server.js   with BENCH_FLOOR_STORAGE (connection string), BENCH_FLOOR_ARM (endpoint),
 *                                     BENCH_FLOOR_TOKEN (bearer), NODE_EXTRA_CA_CERTS (the sandbox CA)
 *
 * Prints {"port": N} on stdout once listening; stops on SIGTERM.
 */

const CLAIMS_TABLE = 'floorClaims';
const RECORDS_TABLE = 'floorRecords';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

async function table(connectionString: string, name: string): Promise<TableClient> {
  const client = TableClient.fromConnectionString(connectionString, name, { allowInsecureConnection: true });
  await client.createTable();
  return client;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

async function main(): Promise<void> {
  const storage = required('BENCH_FLOOR_STORAGE');
  const arm = {
    armEndpoint: required('BENCH_FLOOR_ARM'),
    token: required('BENCH_FLOOR_TOKEN'),
    // NODE_EXTRA_CA_CERTS puts the sandbox CA in node's default store, which this agent uses.
    agent: new Agent({ keepAlive: true, maxSockets: 64 }),
  };
  const [claims, records] = await Promise.all([table(storage, CLAIMS_TABLE), table(storage, RECORDS_TABLE)]);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { connectionId, decision } = JSON.parse(await readBody(req)) as {
      connectionId: string;
      decision: string;
    };
    // Table keys may not hold '/', so the connection is keyed by a digest; the delivery id is the caller's.
    const partitionKey = createHash('sha256').update(connectionId.toLowerCase()).digest('hex');
    const rowKey = String(req.headers['webhook-id'] ?? '');
    try {
      await claims.createEntity({ partitionKey, rowKey, connectionId });
    } catch (error) {
      if (error instanceof RestError && error.statusCode === 409) {
        answer(res, 409, { outcome: 'duplicate' });
        return;
      }
      throw error;
    }
    const previousStatus = await getThenPut(arm, connectionId);
    await records.upsertEntity(
      { partitionKey, rowKey, connectionId, decision, previousStatus, time: new Date().toISOString() },
      'Replace',
    );
    answer(res, 200, { outcome: 'approved', previousStatus });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      answer(res, 500, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  const stop = (): void => {
    arm.agent.destroy();
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`floor server failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
