import { setTimeout } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchSettings, Scenario } from '../context.js';
import { send } from '../http-client.js';
import { entryPoints, fromRoot } from '../entry-points.js';
import { freePort, hostEnv, hostScript } from '../host-process.js';
import { APPROVALS_PATH, approvalBody } from '../requests.js';
import { quietCpu } from '../quiet-cpu.js';
import { median } from '../stats.js';
import type { Check, Figure, ScenarioResult } from '../types.js';

/**
 * (e) Cold start, two ways:
 * - importing the Functions entry (package.json `main`: builds the app and registers its routes) in a fresh
 *   `node`, timed inside that process around the dynamic import;
 * - spawning what `npm run serve` runs until it has served its first approval with a 200, which adds process
 *   start, the first token fetch, the first TLS handshake to Resource Manager and the GET + PUT.
 * Both files are read from package.json, so the figures follow the build when it changes shape (a bundle).
 * Medians over a few runs; the spread is in the note.
 */

const IMPORT_TIMER = fileURLToPath(new URL('../import-timer.js', import.meta.url));
const POLL_INTERVAL_MS = 2;
/** Imports are timed once the scenario before has let go of the cores (or after 10 s in any case). */
const QUIET = { idleShare: 0.9, windowMs: 500, maxMs: 10_000 };
const FIRST_APPROVAL_DEADLINE_MS = 20_000;

const spread = (values: number[]): string =>
  `min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)} over ${values.length} runs`;

interface HostStart {
  listeningMs: number;
  firstApprovalMs: number;
  firstRequestMs: number;
}

async function timeImport(ctx: BenchContext): Promise<{ importMs: number; sinceProcessStartMs: number }> {
  const child = ctx.children.spawnNode(
    'import-timer',
    IMPORT_TIMER,
    [fromRoot(entryPoints().main)],
    hostEnv(ctx.hostBaseEnv, await freePort()),
  );
  try {
    const line = await child.waitForLine((l) => l.startsWith('{"importMs"'), 30_000);
    return JSON.parse(line) as { importMs: number; sinceProcessStartMs: number };
  } finally {
    await child.stop();
  }
}

async function timeHostStart(ctx: BenchContext, connectionId: string): Promise<HostStart> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}${APPROVALS_PATH}`;
  const started = performance.now();
  const child = ctx.children.spawnNode('host (cold)', hostScript(), [], hostEnv(ctx.hostBaseEnv, port));
  let listeningAt = Number.NaN;
  const listening = child
    .waitForLine((line) => line.includes('"host.listening"'), FIRST_APPROVAL_DEADLINE_MS)
    .then(() => {
      listeningAt = performance.now();
    });
  listening.catch(() => undefined);
  try {
    while (performance.now() - started < FIRST_APPROVAL_DEADLINE_MS) {
      const sent = performance.now();
      try {
        const body = approvalBody(connectionId);
        const res = await send({ method: 'POST', url, headers: ctx.sign(body), body, agent: false });
        if (res.status !== 200) throw new Error(`cold host answered ${res.status}: ${res.text}`);
        const done = performance.now();
        await listening;
        return {
          listeningMs: listeningAt - started,
          firstApprovalMs: done - started,
          firstRequestMs: done - sent,
        };
      } catch (error) {
        // Not listening yet: try again shortly. Anything else is a real failure.
        if ((error as NodeJS.ErrnoException).code !== 'ECONNREFUSED') throw error;
        await setTimeout(POLL_INTERVAL_MS);
      }
    }
    throw new Error(
      `the host did not serve an approval within ${FIRST_APPROVAL_DEADLINE_MS} ms\n${child.tail()}`,
    );
  } finally {
    await child.stop();
  }
}

export const coldStartScenario: Scenario = {
  id: 'cold-start',
  title: '(e) cold start',
  connectionsNeeded: (s: BenchSettings) => s.hostStartRuns,
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { settings, sandbox } = ctx;
    const imports = [];
    const idle = await quietCpu(QUIET);
    for (let i = 0; i < settings.importRuns; i++) imports.push(await timeImport(ctx));

    await sandbox.reset();
    const starts: HostStart[] = [];
    for (const id of ctx.pool.take(settings.hostStartRuns)) starts.push(await timeHostStart(ctx, id));
    const counts = await sandbox.counts();

    const importMs = imports.map((r) => r.importMs);
    const processMs = imports.map((r) => r.sinceProcessStartMs);
    const listeningMs = starts.map((s) => s.listeningMs);
    const firstMs = starts.map((s) => s.firstApprovalMs);
    const firstRequestMs = starts.map((s) => s.firstRequestMs);
    const figures: Figure[] = [
      {
        name: `(e) import ${entryPoints().main} (package.json main, fresh node)`,
        value: median(importMs),
        unit: 'ms',
        note: `median; ${spread(importMs)}; started with the cores ${(idle * 100).toFixed(0)}% idle`,
      },
      {
        name: '(e) node start -> entry imported',
        value: median(processMs),
        unit: 'ms',
        note: `median, node bootstrap included; ${spread(processMs)}`,
      },
      {
        name: `(e) host spawn (node ${entryPoints().serve}) -> listening`,
        value: median(listeningMs),
        unit: 'ms',
        note: `median; ${spread(listeningMs)}`,
      },
      {
        name: '(e) host spawn -> first approval 200',
        value: median(firstMs),
        unit: 'ms',
        note: `median; ${spread(firstMs)}; the first request alone took ${median(firstRequestMs).toFixed(0)} ms (tokens, Key Vault, tables, TLS, GET + PUT)`,
      },
    ];
    const checks: Check[] = [
      {
        name: '(e) each cold host approved its connection with one PUT',
        ok: counts.arm.PUT === settings.hostStartRuns && counts.arm.GET === settings.hostStartRuns,
        detail: `sandbox GET ${counts.arm.GET}, PUT ${counts.arm.PUT}, token fetches ${counts.token} for ${settings.hostStartRuns} cold hosts`,
      },
    ];
    return { rows: [], figures, checks };
  },
};
