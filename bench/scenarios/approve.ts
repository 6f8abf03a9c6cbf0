import type { BenchContext, BenchSettings, Scenario } from '../context.js';
import { runAutocannon } from '../load/autocannon.js';
import { countOf, statusSummary, toRow } from '../load/measurement.js';
import { countedAmount } from '../load/sizing.js';
import { APPROVALS_PATH, approvalBody, once, signedPost } from '../requests.js';
import type { ScenarioResult } from '../types.js';

/**
 * (b) The whole approval path: autocannon -> local host process -> signature check (secret cached from Key
 * Vault) -> idempotency claim + delivery id (Azurite) -> GET + PUT on the sandbox (token cached) -> audit.
 * Every request approves a different Pending connection, so each one is a real change; the sandbox counters
 * prove it afterwards (one GET and one PUT per 200, nothing else).
 */

export const APPROVE_ROW = '(b) POST /api/approvals (GET+PUT)';

/** autocannon builds a few requests it never sends (one per connection up front, one after the last). */
export const reserveFor = (amount: number, connections: number): number => amount + 4 * connections + 10;

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

export const approveScenario: Scenario = {
  id: 'approve',
  title: APPROVE_ROW,
  connectionsNeeded: (s: BenchSettings) =>
    reserveFor(s.calibrationRequests, s.connections) + reserveFor(s.maxCounted, s.connections),
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { settings, sandbox, host } = ctx;
    const warmup = await approveEach(ctx, host.url, settings.calibrationRequests);
    await sandbox.reset();

    const amount = countedAmount(warmup, settings);
    const m = await approveEach(ctx, host.url, amount);
    const counts = await sandbox.counts();
    const ok = countOf(m, 200);
    const distinct = Object.values(counts.byConnection).filter((c) => c.PUT === 1).length;
    return {
      rows: [toRow(APPROVE_ROW, m, { tokens: counts.token })],
      figures: [],
      checks: [
        {
          name: '(b) one GET and one PUT per approval, each on its own connection',
          ok:
            m.errors === 0 &&
            ok === amount &&
            counts.arm.PUT === ok &&
            counts.arm.GET === ok &&
            distinct === ok,
          detail: `responses ${statusSummary(m)}; sandbox GET ${counts.arm.GET}, PUT ${counts.arm.PUT} on ${distinct} connections, token fetches ${counts.token}`,
        },
      ],
    };
  },
};
