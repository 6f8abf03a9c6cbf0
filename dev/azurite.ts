import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Starts Azurite's Table and Queue services (each its own child process) for tests, `npm start` and CI.
 * Child processes rather than Azurite's in-process API: Azurite keeps loggers and telemetry as module
 * singletons, and a separate process can always be killed cleanly whatever state it is in.
 */

/** Azurite's well-known development account. The key is published by Microsoft; it is not a secret. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_ACCOUNT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export type AzuriteService = 'table' | 'queue';

export interface AzuriteTableOptions {
  /** Which service to run; the table service unless said otherwise. */
  service?: AzuriteService;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Keep data only in memory (default true). When false, data lives in `location` (default: a temp dir). */
  inMemory?: boolean;
  location?: string;
  /** How long to wait for the port to accept connections. */
  startTimeoutMs?: number;
  /** Forward Azurite's access log to this process's stdout. */
  verbose?: boolean;
}

export interface AzuriteTable {
  host: string;
  port: number;
  /** Account connection string for `TableClient.fromConnectionString` / `AzureWebJobsStorage`. */
  connectionString: string;
  /** The service's account endpoint, e.g. `http://127.0.0.1:51234/devstoreaccount1`. */
  endpoint: string;
  /** The Azurite process (the bench reads its CPU time). */
  pid: number | undefined;
  stop(): Promise<void>;
}

export class AzuriteStartError extends Error {
  override readonly name = 'AzuriteStartError';
}

export function azuriteConnectionString(host: string, port: number, queuePort?: number): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_ACCOUNT_KEY};` +
    `TableEndpoint=http://${host}:${port}/${AZURITE_ACCOUNT};` +
    (queuePort === undefined ? '' : `QueueEndpoint=http://${host}:${queuePort}/${AZURITE_ACCOUNT};`)
  );
}

export interface Azurite {
  /** Table and queue endpoints in one connection string (what `AzureWebJobsStorage` takes). */
  connectionString: string;
  table: AzuriteTable;
  queue: AzuriteTable;
  stop(): Promise<void>;
}

/** Both services the app uses: Table Storage for its state and Queue Storage for work that continues later. */
export async function startAzurite(
  options: { host?: string; tablePort?: number; queuePort?: number } = {},
): Promise<Azurite> {
  const host = options.host ?? '127.0.0.1';
  const [table, queue] = await Promise.all([
    startAzuriteTable({ host, port: options.tablePort ?? 0 }),
    startAzuriteTable({ host, port: options.queuePort ?? 0, service: 'queue' }),
  ]);
  return {
    connectionString: azuriteConnectionString(host, table.port, queue.port),
    table,
    queue,
    stop: async () => {
      await Promise.all([table.stop(), queue.stop()]);
    },
  };
}

export async function startAzuriteTable(options: AzuriteTableOptions = {}): Promise<AzuriteTable> {
  const host = options.host ?? '127.0.0.1';
  const fixedPort = options.port !== undefined && options.port !== 0;
  // A port found free can be taken before Azurite binds it; with a picked port, try again on a fresh one.
  const attempts = fixedPort ? 1 : 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = fixedPort ? (options.port as number) : await freePort(host);
    try {
      return await startOnce(host, port, options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError instanceof Error ? lastError : new AzuriteStartError(String(lastError));
}

async function startOnce(host: string, port: number, options: AzuriteTableOptions): Promise<AzuriteTable> {
  const inMemory = options.inMemory ?? true;
  // Azurite refuses --location together with --inMemoryPersistence but may still touch its working directory,
  // so it always runs in a directory of its own rather than the caller's cwd.
  const ownsLocation = options.location === undefined;
  const location = options.location ?? (await mkdtemp(join(tmpdir(), 'azurite-table-')));
  const service = options.service ?? 'table';
  const mainScript = createRequire(import.meta.url).resolve(`azurite/dist/src/${service}/main.js`);
  const args = [
    mainScript,
    `--${service}Host`,
    host,
    `--${service}Port`,
    String(port),
    ...(inMemory ? ['--inMemoryPersistence'] : ['--location', location]),
    '--skipApiVersionCheck',
    ...(service === 'table' ? ['--loose'] : []),
    '--disableTelemetry',
    ...(options.verbose ? [] : ['--silent']),
  ];
  const child = spawn(process.execPath, args, {
    cwd: location,
    stdio: ['ignore', options.verbose ? 'inherit' : 'ignore', 'pipe'],
    windowsHide: true,
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (stderr.length < 8_192) stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // If this process dies without calling stop(), do not leave an orphan Azurite behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const cleanup = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    await terminate(child, exited);
    if (ownsLocation) await rm(location, { recursive: true, force: true });
  };

  try {
    await waitUntilListening(host, port, child, options.startTimeoutMs ?? 20_000);
  } catch (error) {
    await cleanup();
    const detail = stderr.trim();
    throw new AzuriteStartError(
      `${error instanceof Error ? error.message : String(error)}${detail ? `: ${detail}` : ''}`,
    );
  }

  let stopped: Promise<void> | undefined;
  return {
    host,
    port,
    connectionString:
      service === 'table' ? azuriteConnectionString(host, port) : azuriteConnectionString(host, 0, port),
    endpoint: `http://${host}:${port}/${AZURITE_ACCOUNT}`,
    pid: child.pid,
    stop: () => (stopped ??= cleanup()),
  };
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // In-memory data needs no flush, so a plain SIGTERM (Azurite installs no handler for it) is enough.
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), 5_000);
  });
  const forced = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (forced) {
    child.kill('SIGKILL');
    await exited;
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new AzuriteStartError('no free port'))));
    });
  });
}

async function waitUntilListening(
  host: string,
  port: number,
  child: ChildProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new AzuriteStartError(`Azurite exited before listening on ${host}:${port}`);
    }
    if (await canConnect(host, port)) return;
    if (performance.now() > deadline) {
      throw new AzuriteStartError(`Azurite did not listen on ${host}:${port} within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** `node dist/dev/azurite.js [tablePort] [queuePort]`: Azurite's Table and Queue services until Ctrl+C. */
async function main(): Promise<void> {
  const tablePort = Number.parseInt(process.argv[2] ?? '10002', 10);
  const queuePort = Number.parseInt(process.argv[3] ?? '10001', 10);
  const azurite = await startAzurite({ tablePort, queuePort });
  process.stdout.write(
    `Azurite Table service on ${azurite.table.endpoint}, Queue service on port ${queuePort}\n`,
  );
  process.stdout.write(`AzureWebJobsStorage=${azurite.connectionString}\n`);
  const shutdown = (): void => {
    void azurite.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
