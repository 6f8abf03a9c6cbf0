import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * A throwaway HTTPS endpoint for tests of outbound calls, served with the sandbox's certificate (so a client
 * that trusts the sandbox CA trusts it too), recording every request it receives. It stands for a platform the
 * app reports to (or something hostile in its place): a redirect, an endpoint that never answers, a header check.
 */

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Answer = (received: Received, res: ServerResponse) => void;

export interface StandIn {
  /** `https://127.0.0.1:<port><path>` (or `http://` for the plain listener). */
  url(path: string): string;
  received(): Received[];
  /** TCP connections accepted, whether or not a request followed. */
  connections(): number;
  close(): Promise<void>;
}

async function listen(
  server: ReturnType<typeof createServer> | ReturnType<typeof createHttpServer>,
  scheme: 'https' | 'http',
  received: Received[],
  counter: { n: number },
): Promise<StandIn> {
  server.on('connection', () => {
    counter.n += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `${scheme}://127.0.0.1:${port}${path}`,
    received: () => received.map((r) => ({ ...r, headers: { ...r.headers } })),
    connections: () => counter.n,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function handler(received: Received[], answer: Answer) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(entry);
      answer(entry, res);
    });
  };
}

export function startHttpsStandIn(tls: { key: string; cert: string }, answer: Answer): Promise<StandIn> {
  const received: Received[] = [];
  const server = createServer({ key: tls.key, cert: tls.cert }, handler(received, answer));
  return listen(server, 'https', received, { n: 0 });
}

/** The same over plain HTTP: for checking that nothing is ever sent to it. */
export function startHttpStandIn(answer: Answer): Promise<StandIn> {
  const received: Received[] = [];
  const server = createHttpServer(handler(received, answer));
  return listen(server, 'http', received, { n: 0 });
}

/** Never answers: the caller's timeout has to fire. */
export const neverAnswer: Answer = () => undefined;

export function answerJson(status: number, body: unknown, headers: Record<string, string> = {}): Answer {
  return (_received, res) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text);
  };
}
