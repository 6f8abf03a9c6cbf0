import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startAzurite } from '../dev/azurite.js';
import { createChildren } from './children.js';
import type { BenchContext, BenchSettings, Scenario } from './context.js';
import { startHostProcess } from './host-process.js';
import { buildReport, describeMachine, renderText } from './report.js';
import { GENERIC_SECRET_NAME, createSigner } from './requests.js';
import { startSandboxProcess } from './sandbox-process.js';
import { APPROVE_ROW, approveScenario } from './scenarios/approve.js';
import { HOP_ROW, asyncHopScenario } from './scenarios/async-hop.js';
import { discoveryScenario } from './scenarios/discovery-scan.js';
import { coldStartScenario } from './scenarios/cold-start.js';
import { DRY_RUN_ROW, dryRunScenario } from './scenarios/dry-run.js';
import { dryRunMemoryScenario } from './scenarios/dry-run-memory.js';
import { floodScenario } from './scenarios/flood.js';
import { HOT_ALONE_ROW, HOT_OTHERS_ROW, hotConnectionScenario } from './scenarios/hot-connection.js';
import { FLOOR_ROW, floorScenario } from './scenarios/floor.js';
import { BARE_ROW, REFUSAL_ROW, intakeRefusalScenario } from './scenarios/intake-refusal.js';
import { RAW_ARM_ROW, rawArmScenario } from './scenarios/raw-arm.js';
import { steadyIoScenario } from './scenarios/steady-io.js';
import { POLICY_ROW, policyCostScenario } from './scenarios/policy-cost.js';
import { STORAGE_ROW, storageCostScenario } from './scenarios/storage-cost.js';
import { storageCallsScenario } from './scenarios/storage-calls.js';
import { writeBenchSeed } from './seed-file.js';
import type { RatioSpec, ScenarioResult } from './types.js';

/**
 * `npm run bench` (node dist/bench/run.js [--json] [--only raw-arm,approve,...]): every figure in one run,
 * printed side by side. Progress goes to stderr; stdout is the report (text, or JSON with --json). Exit code 1
 * when a check failed. --only runs some scenarios (by id), e.g. while working on one path.
 *
 * To add a scenario: a module under scenarios/ exporting a `Scenario`, appended to SCENARIOS (and to RATIOS
 * if it should be compared with another row).
 */

const SETTINGS: BenchSettings = {
  connections: 10,
  durationSec: 5,
  warmupSec: 1,
  calibrationRequests: 100,
  minCounted: 200,
  maxCounted: 4000,
  ioRequests: 1000,
  // An import is ~0.15 s and varies by ±10% with the machine: 11 give a steady median.
  importRuns: 11,
  hostStartRuns: 3,
};

const SCENARIOS: Scenario[] = [
  rawArmScenario,
  approveScenario,
  floorScenario,
  dryRunScenario,
  intakeRefusalScenario,
  coldStartScenario,
  steadyIoScenario,
  policyCostScenario,
  storageCostScenario,
  storageCallsScenario,
  floodScenario,
  hotConnectionScenario,
  dryRunMemoryScenario,
  asyncHopScenario,
  discoveryScenario,
];

/** Grants exactly the bench seed's clusters, caller and consumers (the source file: it is not compiled). */
const BENCH_POLICY = fileURLToPath(new URL('../../bench/policy.yaml', import.meta.url));

const RATIOS: RatioSpec[] = [
  {
    label: '(b)/(a) approval through the app vs raw GET+PUT',
    numerator: APPROVE_ROW,
    denominator: RAW_ARM_ROW,
  },
  {
    label: '(b)/(l) approval through the app vs the floor (insert + GET + PUT + upsert)',
    numerator: APPROVE_ROW,
    denominator: FLOOR_ROW,
  },
  { label: '(c)/(b) dry run vs approval', numerator: DRY_RUN_ROW, denominator: APPROVE_ROW },
  { label: "(d)/(d') intake refusal vs bare node:http", numerator: REFUSAL_ROW, denominator: BARE_ROW },
  { label: '(g)/(c) policy evaluation vs dry-run path', numerator: POLICY_ROW, denominator: DRY_RUN_ROW },
  { label: '(h)/(b) storage work vs whole approval', numerator: STORAGE_ROW, denominator: APPROVE_ROW },
  {
    label: '(n) approvals on other connections: during the hot-connection flood vs alone',
    numerator: HOT_OTHERS_ROW,
    denominator: HOT_ALONE_ROW,
  },
  {
    label: '(j)/(b) approval through the queue vs synchronous',
    numerator: HOP_ROW,
    denominator: APPROVE_ROW,
  },
];

/** Nothing may outlive this: every child is killed and the process exits. */
const WATCHDOG_MS = 720_000;

async function main(json: boolean, only: string[] | undefined): Promise<number> {
  const unknown = (only ?? []).filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `unknown scenario(s) ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.id).join(', ')}`,
    );
  }
  const scenarios = only === undefined ? SCENARIOS : SCENARIOS.filter((s) => only.includes(s.id));
  const children = createChildren();
  process.on('exit', () => children.killAll());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, stopping\n`);
      // SIGTERM first, so the sandbox can delete its certificate directory; the 'exit' handler kills the rest.
      void children.stopAll(3000).finally(() => process.exit(130));
    });
  }
  setTimeout(() => {
    process.stderr.write(`bench: still running after ${WATCHDOG_MS / 1000} s; stopping everything\n`);
    children.killAll();
    process.exit(1);
  }, WATCHDOG_MS).unref();

  const loadAtStart = loadavg()[0] ?? 0;
  const t0 = performance.now();
  const progress = (message: string): void => {
    process.stderr.write(
      `[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s] ${message}\n`,
    );
  };

  const dir = await mkdtemp(join(tmpdir(), 'pla-bench-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  try {
    const needed = scenarios.reduce((n, s) => n + s.connectionsNeeded(SETTINGS), 0);
    const pool = await writeBenchSeed(dir, needed);
    progress(`starting the sandbox with ${needed} Pending connections, and Azurite (tables and queue)`);
    const [sandbox, azurite] = await Promise.all([
      startSandboxProcess(children, pool.seedPath),
      startAzurite(),
    ]);
    try {
      // The sandbox's environment turns discovery on for `npm run sandbox`; the bench measures it only in (k).
      const { DISCOVERY_SCOPES: _scopes, ...sandboxEnv } = sandbox.env();
      const hostBaseEnv = {
        ...sandboxEnv,
        AzureWebJobsStorage: azurite.connectionString,
        TABLE_PREFIX: 'bench',
        POLICY_PATH: BENCH_POLICY,
      };
      // The dev secrets are random per sandbox start; the bench reads its caller secret as any client could.
      const sign = createSigner({
        secret: await sandbox.secret(GENERIC_SECRET_NAME),
        runId: randomUUID().slice(0, 8),
        now: Date.now,
      });
      const host = await startHostProcess(children, hostBaseEnv);
      try {
        const ctx: BenchContext = {
          settings: SETTINGS,
          children,
          sandbox,
          azuritePid: azurite.table.pid,
          pool,
          hostBaseEnv,
          sign,
          host,
          startHost: (extra) => startHostProcess(children, hostBaseEnv, extra),
          progress,
        };
        const results: ScenarioResult[] = [];
        for (const scenario of scenarios) {
          progress(scenario.title);
          try {
            results.push(await scenario.run(ctx));
          } catch (error) {
            // One broken scenario should not hide the others' figures; it fails the run through its check.
            const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
            results.push({
              rows: [],
              figures: [],
              checks: [{ name: `${scenario.title} ran`, ok: false, detail }],
            });
          }
          await sandbox.reset();
        }
        progress('done');
        const report = buildReport(describeMachine(loadAtStart), SETTINGS, results, RATIOS);
        process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
        return report.checks.every((c) => c.ok) ? 0 : 1;
      } finally {
        await host.stop();
      }
    } finally {
      await Promise.all([sandbox.stop(), azurite.stop()]);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const { values } = parseArgs({
  options: { json: { type: 'boolean', default: false }, only: { type: 'string' } },
  strict: true,
});
main(values.json === true, values.only?.split(',')).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
