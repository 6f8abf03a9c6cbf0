import { Agent } from 'node:http';
import { send } from '../http-client.js';

/**
 * A closed loop with many more callers than autocannon's fixed set, for floods: `workers` callers each send
 * their next request as soon as the last one was answered, for `durationSec`; then nothing new is sent, answers
 * still in flight get `drainMs`, and whatever is still waiting after that is cut off (its socket destroyed) and
 * counted with how long it had waited. A flood that serialises every request answers few of them; cutting
 * them off keeps the bench short, and their waits still show in the percentiles (censored-stats.ts).
 */

export interface WindowLoad {
  baseUrl: string;
  workers: number;
  durationSec: number;
  drainMs: number;
  /** The next request; undefined ends that caller (e.g. no connection left to approve). */
  next: () => { path: string; body: string; headers: Record<string, string> } | undefined;
}

export interface WindowResult {
  /** Latency of every answered request, in ms. */
  latenciesMs: number[];
  statusCounts: Record<number, number>;
  /** How long each request cut off at the end had waited, in ms: a lower bound of its latency. */
  cutOffMs: number[];
  /** Transport failures before the end (not cut-offs). */
  errors: number;
  /** From the first request to the end of the window (not the drain). */
  windowMs: number;
}

export async function runWindow(load: WindowLoad): Promise<WindowResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: load.workers });
  const result: WindowResult = { latenciesMs: [], statusCounts: {}, cutOffMs: [], errors: 0, windowMs: 0 };
  const started = performance.now();
  const until = started + load.durationSec * 1000;
  let cutting = false;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) {
      const request = load.next();
      if (request === undefined) return;
      const t0 = performance.now();
      try {
        const res = await send({
          method: 'POST',
          url: `${load.baseUrl}${request.path}`,
          headers: request.headers,
          body: request.body,
          agent,
          // The drain decides when to give up, not a per-request timeout.
          timeoutMs: load.durationSec * 1000 + load.drainMs + 60_000,
        });
        result.latenciesMs.push(performance.now() - t0);
        result.statusCounts[res.status] = (result.statusCounts[res.status] ?? 0) + 1;
      } catch {
        if (cutting) result.cutOffMs.push(performance.now() - t0);
        else result.errors += 1;
      }
    }
  };
  const all = Promise.all(Array.from({ length: load.workers }, worker));
  // The window ends at `until`, or sooner when every caller has run out of requests.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    all,
    new Promise((resolve) => {
      timer = setTimeout(resolve, Math.max(0, until - performance.now()));
    }),
  ]);
  clearTimeout(timer);
  result.windowMs = performance.now() - started;
  const drained = await Promise.race([
    all.then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), load.drainMs);
    }),
  ]);
  clearTimeout(timer);
  if (!drained) {
    cutting = true;
    agent.destroy();
    await all;
  }
  agent.destroy();
  return result;
}
