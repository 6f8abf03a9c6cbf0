import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The yardstick for (d): a bare node:http server in its own process that reads the request body and answers
 * 400 with the very bytes (body and headers) the app's intake answers, so the difference is the app's work.
 *
 *   node dist/bench/bare-server.js   with BENCH_BARE_RESPONSE = JSON {"headers": {...}, "body": "..."}
 *
 * Prints {"port": N} on stdout once listening; stops on SIGTERM.
 */

interface CannedResponse {
  headers: Record<string, string>;
  body: string;
}

function canned(): CannedResponse {
  const parsed = JSON.parse(process.env.BENCH_BARE_RESPONSE ?? '{}') as Partial<CannedResponse>;
  return { headers: parsed.headers ?? { 'content-type': 'application/json' }, body: parsed.body ?? '{}' };
}

function main(): void {
  const response = canned();
  const body = Buffer.from(response.body, 'utf8');
  const headers = { ...response.headers, 'content-length': String(body.length) };
  const server = createServer((req, res) => {
    // Drain the body as the host does before it answers; otherwise keep-alive could not reuse the socket.
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(400, headers);
      res.end(body);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
  const stop = (): void => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
