import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { putStatus } from '../arm-raw.js';
import type { BenchContext, BenchSettings, Scenario } from '../context.js';
import { send } from '../http-client.js';
import {
  APPROVALS_PATH,
  DRY_RUN_PATH,
  JSON_HEADERS,
  SCHEMA_VIOLATION_BODY,
  approvalBody,
} from '../requests.js';
import type { KindSummary, RequestCalls } from '../storage-calls.js';
import {
  CallLedger,
  againstTarget,
  attribute,
  formatOperations,
  formatRange,
  summarizeKind,
} from '../storage-calls.js';
import { storageEndpoint, withEndpoints } from '../storage-endpoints.js';
import type { StorageProxy } from '../storage-proxy.js';
import { startStorageProxy, waitForQuiet } from '../storage-proxy.js';
import type { Check, ScenarioResult } from '../types.js';

/**
 * (m) Table and Queue Storage calls per kind of request, counted from outside the app: a host of its own is
 * given a connection string pointing at a counting proxy in front of the same Azurite (storage-proxy.ts).
 * Requests go one at a time; the calls seen before a request's answer are its response path, those after it
 * until storage has been quiet for SETTLE_QUIET_MS are its work after the answer. Each kind gets one unmeasured
 * request first (so the connection it uses has been seen), then SAMPLES measured ones. The host's queue worker
 * polls once at start and then only hourly here, so polling does not land in a request's count; an idle window
 * at the end shows whether anything else does.
 */

const SAMPLES = 10;
const SETTLE_QUIET_MS = 150;
const SETTLE_MAX_MS = 3_000;
const IDLE_MS = 1_000;
/** Issue 14's targets: approval <= 3 on the response path, dry run <= 1, refusal 0 (printed, not enforced). */
const TARGETS = { approval: 3, dryRun: 1, refusal: 0 };

/** A connection no policy rule covers (another subscription): refused by the policy gate before any read. */
const UNCOVERED_CONNECTION =
  '/subscriptions/22222222-2222-4222-8222-000000000be4/resourceGroups/rg-elsewhere/providers/Microsoft.ContainerService/managedClusters/aks-elsewhere/privateEndpointConnections/pe-elsewhere';

interface Kind {
  label: string;
  /** The path and body of request `i` (0 is the unmeasured one). */
  request(i: number): { path: string; body: string };
  /** An Entra bearer caller instead of a signed one (no replay marks: a token is not a message). */
  bearer?: string;
  expect: { status: number; outcome?: string };
  target?: { limit: number; scope: 'response path' | 'total' };
}

export const storageCallsScenario: Scenario = {
  id: 'storage-calls',
  title: '(m) storage calls per request kind (counting proxy in front of Azurite)',
  connectionsNeeded: (_s: BenchSettings) => 3 * (SAMPLES + 1) + 2,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const base = ctx.hostBaseEnv.AzureWebJobsStorage ?? '';
    const ledger = new CallLedger();
    const tablePrefix = `calls${Date.now() % 100_000}`;
    const proxy = await startStorageProxy(
      { table: storageEndpoint(base, 'TableEndpoint'), queue: storageEndpoint(base, 'QueueEndpoint') },
      ledger,
      tablePrefix,
    );
    const started = ledger.mark();
    const host = await ctx.startHost({
      AzureWebJobsStorage: withEndpoints(base, {
        TableEndpoint: proxy.origins.table,
        QueueEndpoint: proxy.origins.queue,
      }),
      TABLE_PREFIX: tablePrefix,
      QUEUE_POLL_MS: '3600000',
    });
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    try {
      await waitForQuiet(proxy, 500, 10_000);
      const startup = ledger.between(started).length;
      const kinds = await prepareKinds(ctx);
      const summaries: Array<{ kind: Kind; summary: KindSummary; wrong: string[] }> = [];
      for (const kind of kinds) {
        const { samples, wrong } = await measureKind(ctx, host.url, agent, proxy, ledger, kind);
        summaries.push({ kind, summary: summarizeKind(samples), wrong });
      }
      const idleFrom = ledger.mark();
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
      const idle = ledger.between(idleFrom);
      return report(summaries, startup, idle.length);
    } finally {
      agent.destroy();
      await host.stop();
      await proxy.close();
    }
  },
};

/** The kinds, with the connection states they need set up outside the app (one PUT each on the sandbox). */
async function prepareKinds(ctx: BenchContext): Promise<Kind[]> {
  const pending = ctx.pool.take(SAMPLES + 1);
  const pendingForBearer = ctx.pool.take(SAMPLES + 1);
  const bearer = await ctx.sandbox.entraCaller();
  const approved = ctx.pool.take(SAMPLES + 1);
  const [dryRunTarget, rejected] = ctx.pool.take(2) as [string, string];
  const arm = {
    armEndpoint: ctx.sandbox.armEndpoint,
    token: await ctx.sandbox.token(),
    agent: new HttpsAgent({ keepAlive: true, ca: ctx.sandbox.caCertPem, maxSockets: 4 }),
  };
  try {
    for (const id of approved) await putStatus(arm, id, 'Approved');
    await putStatus(arm, rejected, 'Rejected');
  } finally {
    arm.agent.destroy();
  }
  const post = (path: string, body: string) => ({ path, body });
  return [
    {
      label: 'approval (Pending -> Approved, GET + PUT)',
      request: (i) => post(APPROVALS_PATH, approvalBody(pending[i] ?? '')),
      expect: { status: 200, outcome: 'approved' },
      target: { limit: TARGETS.approval, scope: 'response path' },
    },
    {
      label: 'dry run (same connection each time)',
      request: () => post(DRY_RUN_PATH, approvalBody(dryRunTarget)),
      expect: { status: 200, outcome: 'dry-run' },
      target: { limit: TARGETS.dryRun, scope: 'response path' },
    },
    {
      label: 'approval by an Entra caller (bearer token: no replay marks)',
      request: (i) => post(APPROVALS_PATH, approvalBody(pendingForBearer[i] ?? '')),
      bearer,
      expect: { status: 200, outcome: 'approved' },
      target: { limit: TARGETS.approval, scope: 'response path' },
    },
    {
      label: 'dry run by an Entra caller',
      request: () => post(DRY_RUN_PATH, approvalBody(dryRunTarget)),
      bearer,
      expect: { status: 200, outcome: 'dry-run' },
      target: { limit: TARGETS.dryRun, scope: 'response path' },
    },
    {
      label: 'unchanged (already Approved outside the app)',
      request: (i) => post(APPROVALS_PATH, approvalBody(approved[i] ?? '')),
      expect: { status: 200, outcome: 'unchanged' },
    },
    {
      label: 'policy denial after the read (Rejected -> Approved)',
      request: () => post(APPROVALS_PATH, approvalBody(rejected)),
      expect: { status: 409 },
    },
    {
      label: 'policy denial before the read (target no rule covers)',
      request: () => post(APPROVALS_PATH, approvalBody(UNCOVERED_CONNECTION)),
      expect: { status: 403 },
    },
    {
      label: 'refusal at validation (schema, 400)',
      request: () => post(APPROVALS_PATH, SCHEMA_VIOLATION_BODY),
      expect: { status: 400 },
      target: { limit: TARGETS.refusal, scope: 'total' },
    },
  ];
}

async function measureKind(
  ctx: BenchContext,
  url: string,
  agent: HttpAgent,
  proxy: StorageProxy,
  ledger: CallLedger,
  kind: Kind,
): Promise<{ samples: RequestCalls[]; wrong: string[] }> {
  const samples: RequestCalls[] = [];
  const wrong: string[] = [];
  for (let i = 0; i <= SAMPLES; i++) {
    const { path, body } = kind.request(i);
    const sent = ledger.mark();
    const headers = kind.bearer
      ? { ...JSON_HEADERS, authorization: `Bearer ${kind.bearer}` }
      : ctx.sign(body);
    const res = await send({ method: 'POST', url: `${url}${path}`, headers, body, agent });
    const answered = ledger.mark();
    await waitForQuiet(proxy, SETTLE_QUIET_MS, SETTLE_MAX_MS);
    const settled = ledger.mark();
    const outcome = res.status === 200 ? (JSON.parse(res.text) as { outcome?: string }).outcome : undefined;
    if (res.status !== kind.expect.status || outcome !== kind.expect.outcome) {
      wrong.push(`${res.status}${outcome === undefined ? '' : ` ${outcome}`}`);
    }
    if (i > 0) samples.push(attribute(ledger, sent, answered, settled));
  }
  return { samples, wrong };
}

function report(
  summaries: ReadonlyArray<{ kind: Kind; summary: KindSummary; wrong: string[] }>,
  startup: number,
  idle: number,
): ScenarioResult {
  const rows = summaries.map(({ kind, summary: s }) => {
    const measured =
      kind.target?.scope === 'total'
        ? {
            min: s.responsePath.min + s.after.min,
            max: s.responsePath.max + s.after.max,
            median: s.responsePath.median + s.after.median,
          }
        : s.responsePath;
    const path = formatOperations(s.pathOperations) || 'none';
    const after = formatOperations(s.afterOperations) || 'none';
    return [
      kind.label,
      String(s.requests),
      formatRange(s.responsePath),
      formatRange(s.after),
      kind.target ? `${againstTarget(measured, kind.target.limit)} (${kind.target.scope})` : '',
      `before the answer: ${path}; after: ${after}`,
    ];
  });
  const checks: Check[] = summaries.map(({ kind, wrong }) => ({
    name: `(m) ${kind.label}: every request got the expected answer, so its calls are that kind's`,
    ok: wrong.length === 0,
    detail:
      wrong.length === 0
        ? `${SAMPLES + 1} x ${kind.expect.status}${kind.expect.outcome ? ` ${kind.expect.outcome}` : ''}`
        : `unexpected: ${wrong.slice(0, 3).join(', ')}`,
  }));
  return {
    rows: [],
    figures: [
      { name: '(m) storage calls at host start-up (until quiet)', value: startup, unit: 'calls' },
      {
        name: `(m) storage calls in ${IDLE_MS / 1000} s idle after the requests`,
        value: idle,
        unit: 'calls',
        note:
          idle === 0
            ? 'nothing in the background could land in a count'
            : 'background calls: counts may include them',
      },
    ],
    tables: [
      {
        title:
          '(m) Table + Queue Storage calls per request (counting proxy in front of Azurite; one request at a time)',
        header: ['request', 'n', 'before answer', 'after answer', 'target (issue 14)', 'calls per request'],
        rows,
        rightAligned: [1, 2, 3],
        note:
          `"after answer": calls until storage was quiet for ${SETTLE_QUIET_MS} ms (at most ${SETTLE_MAX_MS} ms). A range means ` +
          'requests of one kind differed; a call the host starts as it answers can land on either side (that too shows as a range).',
      },
    ],
    checks,
  };
}
