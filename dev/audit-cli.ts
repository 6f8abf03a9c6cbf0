import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../src/config.js';
import { TableAuditTrail, type VerifyResult } from '../src/store/audit-trail.js';
import { createTableClients, type TableClientTuning } from '../src/store/table-clients.js';

/**
 * `npm run audit -- verify <connectionId>` / `npm run audit -- verify --all`
 *
 * Recomputes the hash chain of one connection (or of every connection with a chain) using the same storage
 * settings as the app: `AzureWebJobsStorage` (default `UseDevelopmentStorage=true`, i.e. Azurite on 10002), or
 * `AzureWebJobsStorage__tableServiceUri`/`__accountName` with an Entra credential (DefaultAzureCredential).
 * Exit codes: 0 every chain verifies, 1 a chain is broken, 2 usage, configuration or storage error.
 */

export interface AuditCliDeps {
  env: Readonly<Record<string, string | undefined>>;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Only used with a table service URI; defaults to DefaultAzureCredential. */
  credential?: TokenCredential;
  tuning?: TableClientTuning;
}

const USAGE = 'usage: audit verify <connectionId> | audit verify --all';

export async function runAuditCli(argv: readonly string[], deps: AuditCliDeps): Promise<number> {
  const [command, target, ...extra] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    deps.out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'verify' || target === undefined || target === '' || extra.length > 0) {
    deps.err(USAGE);
    return 2;
  }

  try {
    const storage = loadConfig(deps.env).storage;
    const tables = createTableClients(storage, deps.credential ?? new DefaultAzureCredential(), deps.tuning);
    const trail = new TableAuditTrail({ client: tables.audit });
    const connections = target === '--all' ? await trail.listConnections() : [target];
    let records = 0;
    let brokenChains = 0;
    for (const connectionId of connections) {
      const result = await trail.verify(connectionId);
      records += result.count;
      if (!result.ok) brokenChains++;
      (result.ok ? deps.out : deps.err)(describe(connectionId, result));
    }
    if (target === '--all') {
      const summary = `${connections.length} chain(s), ${records} intact record(s), ${brokenChains} broken`;
      (brokenChains === 0 ? deps.out : deps.err)(`${brokenChains === 0 ? 'OK' : 'BROKEN'} ${summary}`);
    }
    return brokenChains === 0 ? 0 : 1;
  } catch (error) {
    // Store errors carry no secrets (no headers, no keys); config errors name settings, not their values.
    const message = error instanceof Error ? error.message : String(error);
    deps.err(`error: ${message}`);
    return 2;
  }
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
