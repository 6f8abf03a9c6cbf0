import { createRequire } from 'node:module';
import type { LoadMeasurement } from './measurement.js';

/**
 * autocannon (v8, CommonJS, no type declarations) behind a typed facade. Latency comes from its per-response
 * event (a float from process.hrtime) rather than its histogram, which has 1 ms resolution and only keeps 2xx.
 */

interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  pipelining: number;
  duration?: number;
  amount?: number;
  timeout: number;
  requests: AutocannonRequest[];
}

interface AutocannonResult {
  errors: number;
  timeouts: number;
}

interface AutocannonInstance {
  on(
    event: 'response',
    listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void,
  ): void;
  stop(): void;
}

type Autocannon = (
  options: AutocannonOptions,
  done: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface AutocannonLoad {
  /** http://127.0.0.1:<port> */
  baseUrl: string;
  connections: number;
  /** Exactly one of: a duration in seconds, or a fixed number of requests. */
  durationSec?: number;
  amount?: number;
  method: 'GET' | 'POST';
  /** Called for every request autocannon builds (a few more than it sends): each may differ entirely. */
  next: () => { path: string; body?: string; headers?: Record<string, string> };
}

export class LoadError extends Error {
  override readonly name = 'LoadError';
}

export function runAutocannon(load: AutocannonLoad): Promise<LoadMeasurement> {
  if ((load.durationSec === undefined) === (load.amount === undefined)) {
    throw new LoadError('give either durationSec or amount');
  }
  const latenciesMs: number[] = [];
  const statusCounts: Record<number, number> = {};
  return new Promise<LoadMeasurement>((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url: load.baseUrl,
        connections: load.connections,
        pipelining: 1,
        timeout: 10,
        ...(load.amount === undefined ? { duration: load.durationSec } : { amount: load.amount }),
        requests: [
          {
            method: load.method,
            setupRequest: (request) => {
              const next = load.next();
              return { ...request, ...next, headers: { ...request.headers, ...next.headers } };
            },
          },
        ],
      },
      (error, result) => {
        if (error) {
          reject(error);
          return;
        }
        resolve({
          latenciesMs,
          elapsedMs: performance.now() - started,
          statusCounts,
          errors: result.errors,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
      latenciesMs.push(responseTimeMs);
      statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
    });
  });
}
