import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';
import { pathToFileURL } from 'node:url';
import { loadConfig, type StorageConfig } from '../src/config.js';
import { visible } from '../src/model/visible-text.js';
import { TableAuditTrail, type VerifyResult } from '../src/store/audit-trail.js';
import { StoreUnavailableError } from '../src/store/errors.js';
import { TableIdempotencyStore } from '../src/store/idempotency-store.js';
import { createTableClients, type TableClientTuning } from '../src/store/table-clients.js';

/**
 * `npm run audit -- verify <connectionId>` / `npm run audit -- verify --all`
 *
 * Recomputes the hash chain of one connection (or of every connection with a chain) using the same storage
 * settings as the app: `AzureWebJobsStorage` (default `UseDevelopmentStorage=true`, i.e. Azurite on 10002), or
 * `AzureWebJobsStorage__tableServiceUri`/`__accountName` with an Entra credential (DefaultAzureCredential).
 * `--all` also checks that every request id in the index, and every answer kept for replay, has its record.
 * Exit codes: 0 everything verifies, 1 something is broken or missing, 2 usage, configuration or storage error.
 */

export interface AuditCliDeps {
  env: Readonly<Record<string, string | undefined>>;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Only used with a table service URI; defaults to DefaultAzureCredential. */
  credential?: TokenCredential;
  tuning?: TableClientTuning;
}

const USAGE = 'usage: npm run audit -- verify <connectionId> | npm run audit -- verify --all';

export async function runAuditCli(argv: readonly string[], given: AuditCliDeps): Promise<number> {
  // What it prints comes from a table anyone with write access may have filled: no control character reaches the
  // operator's terminal as such (an escape sequence could rewrite what the screen shows).
  const deps: AuditCliDeps = {
    ...given,
    out: (line) => given.out(visible(line)),
    err: (line) => given.err(visible(line)),
  };
  const [command, target, ...extra] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    deps.out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'verify' || target === undefined || target === '' || extra.length > 0) {
    deps.err(USAGE);
    return 2;
  }
  let storage: StorageConfig | undefined;
  try {
    storage = loadConfig(deps.env).storage;
    const tables = createTableClients(storage, deps.credential ?? new DefaultAzureCredential(), {
      maxRetries: 1,
      ...deps.tuning,
    });
    const trail = new TableAuditTrail({
      table: tables.audit,
      clock: Date.now,
      leaseSeconds: storage.claimLeaseSeconds,
    });
    const broken =
      target === '--all'
        ? await verifyAll(trail, tables, storage, deps)
        : await verifyOne(trail, target, deps);
    return broken === 0 ? 0 : 1;
  } catch (error) {
    // Store errors carry no secrets (no headers, no keys); config errors name settings, not their values.
    deps.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    if (error instanceof StoreUnavailableError && storage) deps.err(whereStorageIs(storage));
    return 2;
  }
}

async function verifyOne(trail: TableAuditTrail, connectionId: string, deps: AuditCliDeps): Promise<number> {
  const result = await trail.verify(connectionId);
  (result.ok ? deps.out : deps.err)(describe(connectionId, result));
  return result.ok ? 0 : 1;
}

async function verifyAll(
  trail: TableAuditTrail,
  tables: ReturnType<typeof createTableClients>,
  storage: StorageConfig,
  deps: AuditCliDeps,
): Promise<number> {
  const connections = await trail.listConnections();
  let records = 0;
  let broken = 0;
  for (const connectionId of connections) {
    const result = await trail.verify(connectionId);
    records += result.count;
    if (!result.ok) broken++;
    (result.ok ? deps.out : deps.err)(describe(connectionId, result));
  }
  for await (const problem of trail.indexProblems()) {
    broken++;
    deps.err(`MISSING request ${problem.requestId}: ${problem.reason}`);
  }
  const answers = new TableIdempotencyStore({
    table: tables.idempotency,
    chainTable: tables.audit,
    clock: Date.now,
    claimLeaseSeconds: storage.claimLeaseSeconds,
    idempotencyTtlHours: storage.idempotencyTtlHours,
  });
  for await (const requestId of answers.completedRequestIds()) {
    if ((await trail.get(requestId)) === undefined) {
      broken++;
      deps.err(
        `MISSING request ${requestId}: an answer is kept for replay but its audit record is not stored`,
      );
    }
  }
  const summary = `${connections.length} chain(s), ${records} intact record(s), ${broken} broken`;
  (broken === 0 ? deps.out : deps.err)(`${broken === 0 ? 'OK' : 'BROKEN'} ${summary}`);
  return broken;
}

/** Which endpoint was tried and which setting names it, for a CLI that cannot connect. */
function whereStorageIs(storage: StorageConfig): string {
  if (storage.tableServiceUri) {
    return `Tried ${storage.tableServiceUri} (AzureWebJobsStorage__tableServiceUri / __accountName) with your Azure sign-in; check the URL and that you hold "Storage Table Data Reader" on it.`;
  }
  const endpoint =
    /TableEndpoint=([^;]+)/i.exec(storage.connectionString ?? '')?.[1] ?? 'http://127.0.0.1:10002';
  return `Tried ${endpoint} (from AzureWebJobsStorage${storage.connectionString === 'UseDevelopmentStorage=true' ? ', unset: the default Azurite port' : ''}). While \`npm start\` runs, use the AzureWebJobsStorage and TABLE_PREFIX it printed.`;
}

function describe(connectionId: string, result: VerifyResult): string {
  if (result.ok) return `OK ${connectionId}: ${result.count} record(s)`;
  const { seq, requestId, reason } = result.brokenAt;
  const request = requestId === undefined ? '' : ` (request ${requestId})`;
  return `BROKEN ${connectionId}: record ${seq}${request}: ${reason}; ${result.count} record(s) intact before it`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runAuditCli(process.argv.slice(2), {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
