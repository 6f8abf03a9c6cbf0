import { Agent, createServer, request } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CallLedger, StorageService } from './storage-calls.js';
import { classifyCall } from './storage-calls.js';

/**
 * A counting HTTP proxy in front of Azurite's Table and Queue services, in the bench process: each call is
 * written to the ledger when it arrives, then forwarded unchanged (Shared Key signs the path, not the host, so
 * the SDK's signatures stay valid). Only (m) uses it, with requests sent one at a time, so sharing the bench's
 * event loop costs no measured latency.
 */

export interface StorageProxy {
  /** `http://127.0.0.1:<port>` per service, for the host's connection string. */
  origins: Record<StorageService, string>;
  /** Calls forwarded and not yet answered. */
  inFlight(): number;
  /** performance.now() of the last call's arrival or answer. */
  lastActivity(): number;
  close(): Promise<void>;
}

export async function startStorageProxy(
  targets: Record<StorageService, URL>,
  ledger: CallLedger,
  /** The host's TABLE_PREFIX, left out of operation names (`insert Audit`, not `insert calls123Audit`). */
  tablePrefix = '',
): Promise<StorageProxy> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  let inFlight = 0;
  let last = performance.now();

  const forward = (service: StorageService) => (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    ledger.record({
      service,
      operation: classifyCall(service, method, path, req.headers['if-match'] !== undefined, tablePrefix),
    });
    inFlight += 1;
    last = performance.now();
    const done = (): void => {
      inFlight -= 1;
      last = performance.now();
    };
    const target = targets[service];
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method,
        path,
        headers: { ...req.headers, host: target.host },
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', done);
        answer.on('error', done);
      },
    );
    upstream.on('error', (error) => {
      done();
      if (!res.headersSent) res.writeHead(502);
      res.end(String(error));
    });
    req.pipe(upstream);
  };

  const listen = (service: StorageService): Promise<Server> =>
    new Promise((resolve, reject) => {
      const server = createServer(forward(service));
      server.keepAliveTimeout = 30_000;
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    });
  const servers = { table: await listen('table'), queue: await listen('queue') };
  const origin = (server: Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origins: { table: origin(servers.table), queue: origin(servers.queue) },
    inFlight: () => inFlight,
    lastActivity: () => last,
    close: async () => {
      agent.destroy();
      await Promise.all(
        Object.values(servers).map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}

/**
 * Resolves once no call is in flight and none arrived for `quietMs` since the wait began (work the host starts
 * just after answering has not reached the proxy yet when the answer arrives, so earlier quiet does not count),
 * or after `maxMs`, so a host that polls forever cannot hang the bench; says which.
 */
export async function waitForQuiet(proxy: StorageProxy, quietMs: number, maxMs: number): Promise<boolean> {
  const began = performance.now();
  const deadline = began + maxMs;
  for (;;) {
    const now = performance.now();
    if (proxy.inFlight() === 0 && now - Math.max(began, proxy.lastActivity()) >= quietMs) return true;
    if (now >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
