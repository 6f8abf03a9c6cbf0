import type { TokenCredential } from '@azure/core-auth';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { inject } from 'vitest';
import type { StorageConfig } from '../../../src/config.js';
import { createTableClients, type StoreTables } from '../../../src/store/table-clients.js';

/** Shared by the store integration tests; every test gets its own tables through a random prefix. */

export function azuriteConnectionString(): string {
  return inject('azuriteTableConnectionString');
}

export function storageConfig(overrides: Partial<StorageConfig> = {}): StorageConfig {
  return {
    connectionString: azuriteConnectionString(),
    tablePrefix: `t${randomBytes(6).toString('hex')}`,
    idempotencyTtlHours: 24,
    derivedKeyTtlMinutes: 10,
    claimLeaseSeconds: 30,
    auditSpoolDir: '/tmp/unused-audit-spool',
    auditSpoolFlushSeconds: 30,
    retentionSchedule: '0 0 3 * * *',
    ...overrides,
  };
}

/** Connection strings authenticate with the account key, so this credential must never be asked for a token. */
export const unusedCredential: TokenCredential = {
  getToken: () => Promise.reject(new Error('the token credential must not be used with a connection string')),
};

export async function freshTables(config: StorageConfig): Promise<StoreTables> {
  const tables = createTableClients(config, unusedCredential);
  await tables.ensureTables();
  return tables;
}

/** `count` independent sets of clients on the same tables, as separate instances would have. */
export function clientSets(config: StorageConfig, count: number): StoreTables[] {
  return Array.from({ length: count }, () => createTableClients(config, unusedCredential));
}

export class ManualClock {
  constructor(public nowMs = Date.UTC(2025, 0, 1, 12, 0, 0)) {}
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/** A port with nothing listening. */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Accepts TCP connections and never answers: the request timeout has to fire. */
export async function blackHole(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * An HTTP proxy in front of Azurite that lets a chosen request reach storage, waits for storage's answer and
 * then kills the client connection instead of relaying it: the write happened but the caller never heard.
 * The SDK then resends the request, which is exactly the case the stores must not misread as a conflict.
 */
export async function answerLosingProxy(
  target: string,
  shouldLose: (method: string, url: string) => boolean,
): Promise<{ connectionString: string; lost: () => number; close(): Promise<void> }> {
  const { createServer: createHttpServer, request: httpRequest } = await import('node:http');
  const upstream = new URL(/TableEndpoint=([^;]+)/.exec(target)![1]!);
  let lost = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const lose = shouldLose(req.method ?? '', req.url ?? '');
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => body.push(chunk));
          answer.on('end', () => {
            if (lose) {
              lost++;
              req.socket.destroy();
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      forward.on('error', () => req.socket.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    connectionString: target.replace(
      /TableEndpoint=http:\/\/[^/;]+/,
      `TableEndpoint=http://127.0.0.1:${port}`,
    ),
    lost: () => lost,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
