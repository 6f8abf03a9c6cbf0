import { Agent } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SeedFile } from '../../dev/sandbox/seed.js';
import { DISCOVERY_TRUSTED_CONSUMER, DISCOVERY_UNKNOWN_CONSUMER } from '../../dev/sandbox/seed.js';
import { SANDBOX_MANAGEMENT_GROUP } from '../../dev/sandbox/resource-graph.js';
import type { BenchContext, Scenario } from '../context.js';
import { liveHeapMb, peakRssMb } from '../host-memory.js';
import type { HostProcess } from '../host-process.js';
import { startHostProcess } from '../host-process.js';
import { send } from '../http-client.js';
import { GENERIC_SECRET_NAME, createSigner } from '../requests.js';
import { startSandboxProcess } from '../sandbox-process.js';
import type { Check, Figure, ScenarioResult } from '../types.js';

/**
 * (k) Discovery's scan over a sandbox estate: 50 subscriptions, 10,000 resources (8,000 storage accounts, whose
 * body lists their connections, and 2,000 AKS clusters, whose connections are read one cluster at a time) and
 * 20,000 connections, then the same estate doubled. One in 200 connections is Pending from a consumer the policy
 * trusts, so the scan also approves (one PUT each). Each estate gets its own sandbox process and host process;
 * the scan is the host's timer firing at start, over the management group that holds every subscription. The
 * figures: scan time, Resource Graph pages, time spent waiting for its quota (the sandbox keeps Resource Graph's
 * 15 queries per 5 s), the host's peak RSS, and its live heap after the scan (after a full collection) against a
 * host that scans nothing; flat memory means the doubled estate leaves the same live heap behind.
 */

const SUBSCRIPTIONS = 50;
const RESOURCES_PER_SUBSCRIPTION = 200;
const AKS_SHARE = 0.2;
const CONNECTIONS_PER_RESOURCE = 2;
const PENDING_EVERY = 200;
/** The live heap may differ this much for twice the estate, and still count as flat. */
const FLAT_TOLERANCE_MB = 4;
const SCAN_TIMEOUT_MS = 240_000;

interface ScanLine {
  durationMs: number;
  pages: number;
  resources: number;
  connections: number;
  pending: number;
  approved: number;
  errors: number;
  throttledMs: number;
}

export const discoveryScenario: Scenario = {
  id: 'discovery',
  title: '(k) discovery: a scan of 20,000 connections in 50 subscriptions, then twice that',
  connectionsNeeded: () => 0,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const dir = await mkdtemp(join(tmpdir(), 'pla-bench-discovery-'));
    try {
      const policyPath = join(dir, 'policy.yaml');
      await writeFile(policyPath, POLICY);
      const baseline = await idle(ctx, policyPath);
      const single = await scanEstate(ctx, dir, policyPath, 1);
      const double = await scanEstate(ctx, dir, policyPath, 2);
      return {
        rows: [],
        figures: [
          { name: '(k) host without a scan: peak RSS', value: baseline.peakMb, unit: 'MB' },
          { name: '(k) host without a scan: live heap', value: baseline.heapMb, unit: 'MB' },
          ...figures('20,000 connections', single, baseline.peakMb),
          ...figures('40,000 connections', double, baseline.peakMb),
        ],
        checks: [...checks(single, 1), ...checks(double, 2), flat(single, double)],
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

interface EstateResult {
  scan: ScanLine;
  peakMb: number;
  /** The JavaScript heap still in use after the scan, once a full collection has run. */
  heapMb: number;
  puts: number;
}

async function scanEstate(
  ctx: BenchContext,
  dir: string,
  policyPath: string,
  scale: number,
): Promise<EstateResult> {
  const seedPath = join(dir, `estate-${scale}.json`);
  await writeFile(seedPath, JSON.stringify(estate(scale)));
  ctx.progress(`(k) estate ×${scale}: ${20_000 * scale} connections`);
  const sandbox = await startSandboxProcess(ctx.children, seedPath);
  let host: HostProcess | undefined;
  try {
    host = await startHostProcess(
      ctx.children,
      { ...ctx.hostBaseEnv, ...sandbox.env() },
      {
        AzureWebJobsStorage: ctx.hostBaseEnv.AzureWebJobsStorage ?? '',
        TABLE_PREFIX: `discovery${scale}x${Date.now() % 100_000}`,
        POLICY_PATH: policyPath,
        DISCOVERY_SCOPES: `/providers/Microsoft.Management/managementGroups/${SANDBOX_MANAGEMENT_GROUP}`,
      },
      ['--expose-gc'],
    );
    const scan = await scanned(host.url, await sandbox.secret(GENERIC_SECRET_NAME));
    const peakMb = await peakRssMb(host);
    const heapMb = await liveHeapMb(host);
    const counts = await sandbox.counts();
    return { scan, peakMb, heapMb, puts: counts.arm.PUT };
  } finally {
    await host?.stop();
    await sandbox.stop();
  }
}

/** The scan the host's timer ran at start, as `GET /api/discovery` lists it once it has ended. */
async function scanned(url: string, secret: string): Promise<ScanLine> {
  const sign = createSigner({ secret, runId: 'k', now: Date.now });
  const agent = new Agent({ keepAlive: false });
  const deadline = Date.now() + SCAN_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { 'content-type': _json, ...headers } = sign('');
    const answer = await send({ method: 'GET', url: `${url}/api/discovery`, headers, agent });
    if (answer.status !== 200)
      throw new Error(`GET /api/discovery answered ${answer.status}: ${answer.text}`);
    const [scan] = (JSON.parse(answer.text) as { scans: ScanLine[] }).scans;
    if (scan) return scan;
  }
  throw new Error(`no scan ended within ${SCAN_TIMEOUT_MS / 1000} s`);
}

/** A host with the same settings that scans nothing: what the process weighs without discovery. */
async function idle(ctx: BenchContext, policyPath: string): Promise<{ peakMb: number; heapMb: number }> {
  const host = await startHostProcess(ctx.children, { ...ctx.hostBaseEnv, POLICY_PATH: policyPath }, {}, [
    '--expose-gc',
  ]);
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    return { peakMb: await peakRssMb(host), heapMb: await liveHeapMb(host) };
  } finally {
    await host.stop();
  }
}

function estate(scale: number): SeedFile {
  const subscriptions = SUBSCRIPTIONS * scale;
  let n = 0;
  const connections = (resource: string) =>
    Array.from({ length: CONNECTIONS_PER_RESOURCE }, (_, i) => {
      n += 1;
      const pending = n % PENDING_EVERY === 0;
      const consumer = pending ? DISCOVERY_TRUSTED_CONSUMER : DISCOVERY_UNKNOWN_CONSUMER;
      return {
        name: `pe-${resource}-${i}`,
        privateEndpointId: `/subscriptions/${consumer}/resourceGroups/rg-consumer/providers/Microsoft.Network/privateEndpoints/pe-${resource}-${i}`,
        status: pending ? 'Pending' : 'Approved',
        provisioningState: 'Succeeded',
      };
    });
  return {
    subscriptions: Array.from({ length: subscriptions }, (_, s) => {
      const aks = Math.round(RESOURCES_PER_SUBSCRIPTION * AKS_SHARE);
      const resources = Array.from({ length: RESOURCES_PER_SUBSCRIPTION }, (_, r) => {
        const isAks = r < aks;
        const name = isAks ? `aks${s}x${r}` : `st${s}x${r}`;
        return {
          type: isAks ? 'Microsoft.ContainerService/managedClusters' : 'Microsoft.Storage/storageAccounts',
          name,
          privateEndpointConnections: connections(name),
        };
      });
      return {
        subscriptionId: `00000000-0000-4000-8000-${String(s).padStart(12, '0')}`,
        resourceGroups: [{ name: 'rg-estate', resources }],
      };
    }),
  };
}

function figures(label: string, r: EstateResult, baselinePeakMb: number): Figure[] {
  return [
    { name: `(k) scan of ${label}`, value: r.scan.durationMs, unit: 'ms' },
    {
      name: `(k) of which waiting for Resource Graph's quota (${label})`,
      value: r.scan.throttledMs,
      unit: 'ms',
    },
    { name: `(k) Resource Graph pages (${label})`, value: r.scan.pages, unit: 'pages' },
    {
      name: `(k) host peak RSS (${label})`,
      value: r.peakMb,
      unit: 'MB',
      note: `+${r.peakMb - baselinePeakMb} MB over the host without a scan`,
    },
    { name: `(k) live heap after the scan (${label})`, value: r.heapMb, unit: 'MB' },
  ];
}

function checks(r: EstateResult, scale: number): Check[] {
  const connections = SUBSCRIPTIONS * scale * RESOURCES_PER_SUBSCRIPTION * CONNECTIONS_PER_RESOURCE;
  const pending = connections / PENDING_EVERY;
  return [
    {
      name: `(k) ×${scale}: every connection seen, every trusted Pending one approved with one PUT`,
      ok:
        r.scan.connections === connections &&
        r.scan.approved === pending &&
        r.puts === pending &&
        r.scan.errors === 0,
      detail: `connections ${r.scan.connections}/${connections}, approved ${r.scan.approved}/${pending}, PUT ${r.puts}, errors ${r.scan.errors}`,
    },
  ];
}

/**
 * Flat: what the host still holds after scanning twice the estate is what it held after the single one. Peak RSS
 * is shown, not checked: V8 collects lazily, so a longer scan's peak includes more garbage not yet collected.
 */
function flat(single: EstateResult, double: EstateResult): Check {
  return {
    name: '(k) memory stays flat as the estate doubles (live heap after the scan)',
    ok: double.heapMb <= single.heapMb + FLAT_TOLERANCE_MB,
    detail: `live heap ${single.heapMb} MB after 20,000 connections, ${double.heapMb} MB after 40,000 (tolerance ${FLAT_TOLERANCE_MB} MB); peak RSS ${single.peakMb} and ${double.peakMb} MB`,
  };
}

const POLICY = `version: 1
description: bench (k), discovery trusts one consumer subscription
defaults:
  transitions:
    Pending: [Approved, Rejected]
    Approved: [Rejected]
    Rejected: []
    Disconnected: []
rules:
  - name: trusted-consumer
    decisions: [Approved]
    targets:
      - subscription: '*'
        resourceGroup: '*'
        cluster: '*'
      - subscription: '*'
        resourceGroup: '*'
        type: '*'
        resource: '*'
    callers:
      - source: discovery
        ids: [scan]
    consumers:
      subscriptions: ['${DISCOVERY_TRUSTED_CONSUMER}']
`;
