import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { createAppState } from '../src/composition-root.js';
import { loadConfig } from '../src/config.js';
import { createQueues, createRoutes, createTimers } from '../src/functions/routes.js';
import { createBufferedSink } from './buffered-sink.js';
import { declaredTooLarge, MAX_BODY_BYTES, readLimitedEvents } from '../src/http/body.js';
import { problem, problemResponse } from '../src/http/problem.js';
import type {
  QueueDefinition,
  RouteDefinition,
  RouteResponse,
  TimerDefinition,
} from '../src/http/route-types.js';
import type { WorkQueue } from '../src/store/work-queue.js';

/**
 * A local stand-in for the Functions host: serves the very same route table under /api on a plain HTTP port.
 * Function keys are not enforced here (neither does `func start`); the in-code checks all run.
 */

export interface LocalHost {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface CompiledRoute {
  definition: RouteDefinition;
  pattern: RegExp;
  names: string[];
}

function compile(definition: RouteDefinition): CompiledRoute {
  const names: string[] = [];
  const source = definition.route
    .split('/')
    .map((segment) => {
      const param = /^\{([A-Za-z][A-Za-z0-9]*)\}$/.exec(segment);
      if (param?.[1]) {
        names.push(param[1]);
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { definition, pattern: new RegExp(`^/api/${source}/?$`, 'i'), names };
}

/** Literal routes win over templated ones, as in the Functions host. */
function specificity(route: CompiledRoute): number {
  return route.names.length;
}

export async function startLocalHost(
  routes: RouteDefinition[],
  options: { port: number; host?: string },
): Promise<LocalHost> {
  const compiled = routes.map(compile).sort((a, b) => specificity(a) - specificity(b));

  const server: Server = createServer((req, res) => {
    handle(compiled, req, res).catch((error: unknown) => {
      const id = randomUUID();
      console.error(
        JSON.stringify({ level: 'error', event: 'host.unhandled', requestId: id, error: String(error) }),
      );
      if (!res.headersSent) send(res, problemResponse(problem('internal', id, 'Unexpected host error.')));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  // A client that trickles its headers or body cannot hold a connection for minutes.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(routes: CompiledRoute[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const header = headerReader(req.rawHeaders);
  const host = header('host') ?? '127.0.0.1';
  // Two Host fields arrive joined by a comma, which no host name holds (RFC 9112 §3.2: answer 400).
  const url = host.includes(',') ? null : URL.parse(req.url ?? '/', `http://${host}`);
  if (url === null) {
    refuse(
      req,
      res,
      'The Host header or the request target is not a valid URL; send one Host: <name>[:port].',
    );
    return;
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const matches = routes
    .map((route) => ({ route, match: route.pattern.exec(url.pathname) }))
    .filter((m) => m.match !== null);
  const hit = matches.find((m) => (m.route.definition.methods as readonly string[]).includes(method));
  if (!hit?.match) {
    req.resume();
    const id = randomUUID();
    if (matches.length > 0) {
      const allow = [...new Set(matches.flatMap((m) => m.route.definition.methods))].join(', ');
      send(
        res,
        problemResponse(problem('methodNotAllowed', id, `${method} is not supported here; use ${allow}.`), {
          allow,
        }),
      );
    } else {
      send(
        res,
        problemResponse(problem('notFound', id, `No route ${url.pathname}; see README for the routes.`)),
      );
    }
    return;
  }
  const params = decodeParams(hit.route.names, hit.match);
  if (params === undefined) {
    refuse(req, res, 'The path holds a malformed percent-encoding; encode it as UTF-8 (%XX per byte).');
    return;
  }
  // A declared length over the limit is refused from the header alone: no waiting for a body that may never come.
  const declared = declaredTooLarge(header('content-length'), MAX_BODY_BYTES);
  const { body, tooLarge } = declared
    ? { body: new Uint8Array(0), tooLarge: true }
    : await readLimitedEvents(req, MAX_BODY_BYTES);
  const response = await hit.route.definition.handler(
    {
      method,
      url,
      header,
      body,
      bodyTooLarge: tooLarge,
      params,
    },
    { invocationId: randomUUID() },
  );
  // An unread remainder of an oversized body is not drained: the connection is closed instead.
  send(res, response, tooLarge);
}

/**
 * Header lookup as the Functions host hands headers over: names case-insensitive, a repeated header one value
 * joined with ',' (no space). Read from the raw pairs into one map: Node's `headers` and `headersDistinct` would
 * each build an object of their own for every request.
 */
function headerReader(raw: readonly string[]): (name: string) => string | undefined {
  const byName = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    const earlier = byName.get(key);
    byName.set(key, earlier === undefined ? value : `${earlier},${value}`);
  }
  return (name) => byName.get(name.toLowerCase());
}

/** A 400 problem for a request no route can be asked about; its body is drained, unread. */
function refuse(req: IncomingMessage, res: ServerResponse, detail: string): void {
  req.resume();
  send(res, problemResponse(problem('invalidRequest', randomUUID(), detail)));
}

/** Route parameters, percent-decoded as the Functions host does; undefined when an escape is malformed. */
function decodeParams(names: readonly string[], match: RegExpExecArray): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  try {
    names.forEach((name, i) => {
      params[name] = decodeURIComponent(match[i + 1] ?? '');
    });
  } catch {
    return undefined;
  }
  return params;
}

/**
 * Timers run once at start and then every `intervalMs` here (the Functions host follows their NCRONTAB
 * schedules in Azure); a local run needs them only to keep working, not on the minute.
 */
export function startTimers(timers: TimerDefinition[], intervalMs = 3_600_000): () => void {
  const run = (): void => {
    for (const timer of timers) {
      timer.handler({ invocationId: randomUUID() }).catch((error: unknown) => {
        console.error(
          JSON.stringify({ level: 'error', event: 'timer.failed', timer: timer.name, error: String(error) }),
        );
      });
    }
  };
  run();
  const handle = setInterval(run, intervalMs);
  handle.unref();
  return () => clearInterval(handle);
}

function send(res: ServerResponse, response: RouteResponse, close = false): void {
  const body = Buffer.from(response.body, 'utf8');
  // With the length known the body goes out in one piece, not as a chunked stream (as the Functions host sends it).
  const headers: Record<string, string> = { ...response.headers, 'content-length': String(body.length) };
  if (close) headers.connection = 'close';
  res.writeHead(response.status, headers);
  res.end(body);
}

export interface QueuePolling {
  /** How often an empty queue is looked at again. */
  pollMs: number;
  /** How long a taken message stays invisible: when its handler dies, another takes it after this. */
  visibilitySeconds: number;
  /** Deliveries before a message goes to the poison queue, as the Functions host's `maxDequeueCount`. */
  maxDequeueCount: number;
}

/**
 * The Functions host's queue trigger, done by polling: take a message, run the handler, delete it; a handler
 * that throws leaves it to come back after the visibility timeout, and after `maxDequeueCount` deliveries it
 * moves to the poison queue. Messages are base64 JSON, decoded as the host decodes them.
 */
export function startQueueWorkers(
  queues: QueueDefinition[],
  workQueue: WorkQueue | undefined,
  polling: QueuePolling,
): () => void {
  let stopped = false;
  const clients = workQueue?.clients;
  if (clients === undefined) return () => undefined;
  const loop = async (queue: QueueDefinition): Promise<void> => {
    while (!stopped) {
      const taken = await clients.queue
        .receiveMessages({ numberOfMessages: 16, visibilityTimeout: polling.visibilitySeconds })
        .catch(() => undefined);
      const messages = taken?.receivedMessageItems ?? [];
      await Promise.all(
        messages.map(async (message) => {
          try {
            await queue.handler(decodeMessage(message.messageText), { invocationId: randomUUID() });
            await clients.queue.deleteMessage(message.messageId, message.popReceipt);
          } catch (error) {
            console.error(
              JSON.stringify({
                level: 'error',
                event: 'queue.handler-failed',
                queue: queue.queueName,
                dequeueCount: message.dequeueCount,
                error: String(error),
              }),
            );
            if (message.dequeueCount >= polling.maxDequeueCount) {
              await clients.poison.sendMessage(message.messageText).catch(() => undefined);
              await clients.queue.deleteMessage(message.messageId, message.popReceipt).catch(() => undefined);
            }
          }
        }),
      );
      if (messages.length === 0) await new Promise((resolve) => setTimeout(resolve, polling.pollMs));
    }
  };
  for (const queue of queues) void loop(queue);
  return () => {
    stopped = true;
  };
}

function decodeMessage(text: string): unknown {
  const decoded = Buffer.from(text, 'base64').toString('utf8');
  try {
    return JSON.parse(decoded) as unknown;
  } catch {
    return decoded;
  }
}

/**
 * SIGUSR2: one line with the process's memory; under `node --expose-gc` after a full collection, so it is what
 * the process really holds (the bench's discovery scenario compares it across estate sizes).
 */
function reportMemory(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  console.info(
    JSON.stringify({
      level: 'info',
      event: 'host.memory',
      collected: gc !== undefined,
      ...process.memoryUsage(),
    }),
  );
}

/** `npm run serve`: configured purely from the environment, like the Functions host. */
async function main(): Promise<void> {
  const logs = createBufferedSink();
  process.on('exit', logs.flush);
  const state = createAppState(() => loadConfig(process.env), {
    appRoot: fileURLToPath(new URL('../../', import.meta.url)),
    logSink: logs.sink,
  });
  const port = state.ok ? state.deps.config.port : Number(process.env.PORT ?? 7071);
  const host = await startLocalHost(createRoutes(state), { port, host: process.env.HOST ?? '127.0.0.1' });
  startTimers(createTimers(state));
  startQueueWorkers(createQueues(state), state.ok ? state.deps.stores.queue : undefined, {
    pollMs: Number(process.env.QUEUE_POLL_MS ?? 500),
    visibilitySeconds: Number(process.env.QUEUE_VISIBILITY_SECONDS ?? 30),
    maxDequeueCount: Number(process.env.QUEUE_MAX_DEQUEUE_COUNT ?? 5),
  });
  // What start-up logged comes first, so `host.listening` is the last line of the start.
  logs.flush();
  console.info(JSON.stringify({ level: 'info', event: 'host.listening', url: `${host.url}/api` }));
  process.on('SIGUSR2', reportMemory);
  const stop = (): void => {
    void host.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    const code = (error as { code?: string }).code;
    const port = process.env.PORT ?? '7071';
    console.error(
      code === 'EADDRINUSE'
        ? `Port ${port} is already in use (another \`npm start\` or \`npm run serve\`?); stop it, or set PORT to a free port.`
        : `The host failed to start: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  });
}
