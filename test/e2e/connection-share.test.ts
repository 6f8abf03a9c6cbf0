import { setTimeout } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { EXAMPLE_ID, PENDING_2 } from '../support/arm.js';
import type { TestHost } from '../support/host.js';
import { startTestHost } from '../support/host.js';

/**
 * A flood on one connection does not queue everyone else behind it: this process works on at most four requests
 * of one connection at once (64 in all), the rest wait their turn before any storage or Resource Manager call,
 * and a request on another connection goes straight through. Counted at the sandbox (requests of a connection in
 * flight at once), not timed.
 */

let sandbox: Sandbox;
let host: TestHost;
let tight: TestHost;

beforeAll(async () => {
  sandbox = await startSandbox();
  host = await startTestHost(sandbox);
  // Half of a 2 s budget to wait for a turn: a request that cannot get one by then is refused.
  tight = await startTestHost(sandbox, { SYNC_BUDGET_MS: '2000' });
});
afterAll(async () => {
  await host?.host.close();
  await tight?.host.close();
  await sandbox?.close();
});

const key = (id: string): string => id.toLowerCase();
/** Every read of PENDING_2 (or the next `times`) answered `latencyMs` late: its turns stay taken that long. */
const slowReadsOfPending2 = (latencyMs: number, times = Infinity): void =>
  sandbox.faults.add({ method: 'GET', pathIncludes: 'pe-pending-2', kind: 'latency', latencyMs, times });
const dryRun = (on: TestHost, connectionId: string) =>
  on.signedPost('/api/approvals?dryRun=true', { connectionId, decision: 'Approved' });

describe('requests of one connection take turns in a process', () => {
  it('40 concurrent dry runs on one connection: all answered, never more than four at Resource Manager at once, and an approval elsewhere goes through alongside', async () => {
    sandbox.reset();
    slowReadsOfPending2(30);
    const flood = Array.from({ length: 40 }, () => dryRun(host, PENDING_2));
    const elsewhere = host.signedPost('/api/approvals', { connectionId: EXAMPLE_ID, decision: 'Approved' });
    const [approval, ...dryRuns] = await Promise.all([elsewhere, ...flood]);
    sandbox.faults.clear();

    for (const res of dryRuns) expect(res.status, res.text).toBe(200);
    expect(approval.status, approval.text).toBe(200);
    expect(approval.json.outcome).toBe('approved');
    const counts = sandbox.counts().byConnection;
    expect(counts[key(PENDING_2)]).toMatchObject({ GET: 40, PUT: 0, peak: 4 });
    expect(counts[key(EXAMPLE_ID)]).toMatchObject({ PUT: 1, peak: 1 });
  });

  it('a request that cannot get a turn within half its budget is refused (503, Retry-After), having read and written nothing', async () => {
    sandbox.reset();
    slowReadsOfPending2(1300);
    const answers = await Promise.all(Array.from({ length: 7 }, () => dryRun(tight, PENDING_2)));
    sandbox.faults.clear();

    const served = answers.filter((res) => res.status === 200);
    const refused = answers.filter((res) => res.status !== 200);
    expect(served).toHaveLength(4);
    expect(refused).toHaveLength(3);
    for (const res of refused) {
      expect(res.status, res.text).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.json.type).toMatch(/dependency-unavailable$/);
      expect(res.json.detail).toMatch(
        /busy \(\d+ other requests on this connection, \d+ in all\); nothing was done\. Retry after 1 s/,
      );
      expect(res.json.instance).toBe(res.headers.get('x-request-id'));
      // No record of it: it wrote nothing.
      const record = await tight.signedGet(`/api/approvals/${res.headers.get('x-request-id')}`);
      expect(record.status, record.text).toBe(404);
    }
    expect(sandbox.counts().byConnection[key(PENDING_2)]).toMatchObject({ GET: 4, peak: 4 });
  });

  it('work that goes straight to the queue (Prefer: respond-async) takes no turn: accepted at once while the turns are taken', async () => {
    sandbox.reset();
    slowReadsOfPending2(1300, 4);
    const busy = Array.from({ length: 4 }, () => dryRun(tight, PENDING_2));
    // Every turn is taken once the sandbox holds all four reads.
    while ((sandbox.counts().byConnection[key(PENDING_2)]?.GET ?? 0) < 4) await setTimeout(5);
    const accepted = await tight.signedPost(
      '/api/approvals',
      { connectionId: PENDING_2, decision: 'Approved' },
      { headers: { prefer: 'respond-async' } },
    );
    expect(accepted.status, accepted.text).toBe(202);
    for (const res of await Promise.all(busy)) expect(res.status, res.text).toBe(200);
    const outcome = await tight.followOutcome(accepted.headers.get('location') ?? '');
    expect(outcome.status, outcome.text).toBe(200);
    expect(outcome.json.outcome).toBe('approved');
  });
});
