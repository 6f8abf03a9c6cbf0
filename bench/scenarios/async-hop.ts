import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext, BenchSettings, Scenario } from '../context.js';
import { send } from '../http-client.js';
import { APPROVALS_PATH, approvalBody, once } from '../requests.js';
import { summarize } from '../stats.js';
import type { ScenarioResult } from '../types.js';

/**
 * (j) The queue hop: `Prefer: respond-async` approvals, each followed at its `Location` until it ends. Two
 * latencies per approval: POST → 202 (what the caller waits for), and POST → the 200 at `Location` (the whole
 * approval through the queue). Compared with (b), the difference is what continuing from the queue adds: the
 * message round trip through Azurite, the operation row, the worker's poll, and the caller's poll interval.
 * The host polls its queue every QUEUE_POLL_MS while idle (the Functions host backs off up to
 * maxPollingInterval, 2 s in host.json); the caller polls every POLL_MS rather than the Retry-After it is given.
 */

export const ACCEPT_ROW = '(j) POST Prefer: respond-async → 202';
export const HOP_ROW = '(j) POST → 200 at Location (through the queue)';
const APPROVALS = 300;
const POLL_MS = 50;
const QUEUE_POLL_MS = '100';

export const asyncHopScenario: Scenario = {
  id: 'async-hop',
  title: '(j) asynchronous approvals: 202, then the outcome at Location',
  connectionsNeeded: (_s: BenchSettings) => APPROVALS,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const host = await ctx.startHost({ QUEUE_POLL_MS });
    const agent = new Agent({ keepAlive: true, maxSockets: ctx.settings.connections * 2 });
    try {
      await ctx.sandbox.reset();
      const nextId = once(ctx.pool.take(APPROVALS));
      const accept: number[] = [];
      const hop: number[] = [];
      const failures: string[] = [];
      const t0 = performance.now();
      let sent = 0;
      const worker = async (): Promise<void> => {
        for (; sent < APPROVALS;) {
          sent += 1;
          const outcome = await approveAsync(ctx, host.url, agent, nextId());
          if (typeof outcome === 'string') failures.push(outcome);
          else {
            accept.push(outcome.acceptMs);
            hop.push(outcome.doneMs);
          }
        }
      };
      await Promise.all(Array.from({ length: ctx.settings.connections }, worker));
      const seconds = (performance.now() - t0) / 1000;
      const counts = await ctx.sandbox.counts();
      const a = summarize(accept);
      const h = summarize(hop);
      const rate = hop.length / seconds;
      return {
        rows: [
          {
            name: ACCEPT_ROW,
            reqPerSec: rate,
            p50Ms: a.p50Ms,
            p99Ms: a.p99Ms,
            extra: { completed: a.count },
          },
          {
            name: HOP_ROW,
            reqPerSec: rate,
            p50Ms: h.p50Ms,
            p99Ms: h.p99Ms,
            extra: { completed: h.count, 'caller poll ms': POLL_MS, QUEUE_POLL_MS },
          },
        ],
        figures: [],
        checks: [
          {
            name: '(j) every approval accepted, ended 200 at its Location, one PUT each',
            ok: failures.length === 0 && hop.length === APPROVALS && counts.arm.PUT === APPROVALS,
            detail: `ended ${hop.length}/${APPROVALS}; sandbox PUT ${counts.arm.PUT}; failures: ${failures.slice(0, 3).join('; ') || 'none'}`,
          },
        ],
      };
    } finally {
      agent.destroy();
      await host.stop();
    }
  },
};

async function approveAsync(
  ctx: BenchContext,
  baseUrl: string,
  agent: Agent,
  connectionId: string,
): Promise<{ acceptMs: number; doneMs: number } | string> {
  const body = approvalBody(connectionId);
  const started = performance.now();
  const accepted = await send({
    method: 'POST',
    url: `${baseUrl}${APPROVALS_PATH}`,
    headers: { ...ctx.sign(body), prefer: 'respond-async' },
    body,
    agent,
  });
  const acceptMs = performance.now() - started;
  const location = accepted.headers.location;
  if (accepted.status !== 202 || typeof location !== 'string') return `POST answered ${accepted.status}`;
  const deadline = started + 60_000;
  while (performance.now() < deadline) {
    await sleep(POLL_MS);
    const { 'content-type': _json, ...signed } = ctx.sign('');
    const polled = await send({ method: 'GET', url: location, headers: signed, agent });
    if (polled.status === 202) continue;
    if (polled.status !== 200) return `Location answered ${polled.status}`;
    return { acceptMs, doneMs: performance.now() - started };
  }
  return 'still 202 after 60 s';
}
