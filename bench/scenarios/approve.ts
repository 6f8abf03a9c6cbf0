import type { BenchContext, BenchSettings, Scenario } from '../context.js';
import { runAutocannon } from '../load/autocannon.js';
import { countOf, statusSummary, toRow } from '../load/measurement.js';
import { countedAmount } from '../load/sizing.js';
import { APPROVALS_PATH, approvalBody, once, signedPost } from '../requests.js';
import type { LoadMeasurement } from '../load/measurement.js';
import type { BenchSandboxCounts } from '../sandbox-process.js';
import { withCpuOfEach } from '../process-cpu.js';
import type { Check, Figure, ScenarioResult } from '../types.js';

/**
 * (b) The whole approval path: autocannon -> local host process -> signature check (secret cached from Key
 * Vault) -> idempotency claim + delivery id (Azurite) -> GET + PUT on the sandbox (token cached) -> audit.
 * Every request approves a different Pending connection, so each one is a real change; the sandbox counters
 * prove it afterwards (one GET and one PUT per 200, nothing else).
 */

export const APPROVE_ROW = '(b) POST /api/approvals (GET+PUT)';

/** autocannon builds a few requests it never sends (one per connection up front, one after the last). */
export const reserveFor = (amount: number, connections: number): number => amount + 4 * connections + 10;

/** Connections a counted run of approvals takes: its calibration and its counted requests, each its own. */
export const countedApprovalConnections = (s: BenchSettings): number =>
  reserveFor(s.calibrationRequests, s.connections) + reserveFor(s.maxCounted, s.connections);

/** `amount` signed approvals, each of a connection of its own, against `baseUrl`. */
export function approveEach(ctx: BenchContext, baseUrl: string, amount: number) {
  const nextId = once(ctx.pool.take(reserveFor(amount, ctx.settings.connections)));
  return runAutocannon({
    baseUrl,
    connections: ctx.settings.connections,
    amount,
    method: 'POST',
    next: () => signedPost(ctx.sign, APPROVALS_PATH, approvalBody(nextId())),
  });
}

/**
 * A warm-up, then a counted run of approvals against `server` (the app, or the floor), checked: one GET and one
 * PUT per 200, each on a connection of its own, nothing else, with the CPU it took. `detail` adds to the check's
 * line.
 */
export async function countedApprovals(
  ctx: BenchContext,
  server: { url: string; pid: number | undefined; label: string },
  name: string,
  detail: (counts: BenchSandboxCounts) => string = () => '',
): Promise<{ m: LoadMeasurement; counts: BenchSandboxCounts; check: Check; cpu: Figure; parts: CpuParts }> {
  const warmup = await approveEach(ctx, server.url, ctx.settings.calibrationRequests);
  await ctx.sandbox.reset();
  const amount = countedAmount(warmup, ctx.settings);
  const pids = { server: server.pid, azurite: ctx.azuritePid, sandbox: ctx.sandbox.pid };
  const { result: m, cpuMs } = await withCpuOfEach(pids, () => approveEach(ctx, server.url, amount));
  const counts = await ctx.sandbox.counts();
  const ok = countOf(m, 200);
  const distinct = Object.values(counts.byConnection).filter((c) => c.PUT === 1).length;
  const check: Check = {
    name,
    ok: m.errors === 0 && ok === amount && counts.arm.PUT === ok && counts.arm.GET === ok && distinct === ok,
    detail: `responses ${statusSummary(m)}; sandbox GET ${counts.arm.GET}, PUT ${counts.arm.PUT} on ${distinct} connections${detail(counts)}`,
  };
  const parts = perApproval(cpuMs, ok);
  return { m, counts, check, cpu: cpuFigure(server.label, parts), parts };
}

/** CPU time per approval in each process it runs on, ms (NaN where /proc cannot be read). */
export interface CpuParts {
  server: number;
  azurite: number;
  sandbox: number;
}

function perApproval(cpuMs: Record<keyof CpuParts, number | undefined>, approvals: number): CpuParts {
  const per = (ms: number | undefined): number => (ms ?? Number.NaN) / Math.max(1, approvals);
  return { server: per(cpuMs.server), azurite: per(cpuMs.azurite), sandbox: per(cpuMs.sandbox) };
}

/**
 * CPU time per approval of every process it runs on (the server, Azurite, the sandbox): on two shared cores that,
 * not waiting, is what sets the p50 at 10 callers, and it moves far less with the machine's load than latency.
 */
function cpuFigure(row: string, parts: CpuParts): Figure {
  const total = parts.server + parts.azurite + parts.sandbox;
  const shown = (ms: number): string => ms.toFixed(2);
  return {
    name: `${row} CPU per approval, all processes`,
    value: Number.isFinite(total) ? Math.round(total * 100) / 100 : 0,
    unit: 'ms',
    note: Number.isFinite(total)
      ? `server ${shown(parts.server)} + Azurite ${shown(parts.azurite)} + sandbox ${shown(parts.sandbox)} ms (user + system, /proc)`
      : 'not measured (no /proc)',
  };
}

export const approveScenario: Scenario = {
  id: 'approve',
  title: APPROVE_ROW,
  connectionsNeeded: countedApprovalConnections,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { m, counts, check, cpu } = await countedApprovals(
      ctx,
      { url: ctx.host.url, pid: ctx.host.child.process.pid, label: '(b)' },
      '(b) one GET and one PUT per approval, each on its own connection',
      (c) => `, token fetches ${c.token}`,
    );
    return { rows: [toRow(APPROVE_ROW, m, { tokens: counts.token })], figures: [cpu], checks: [check] };
  },
};
