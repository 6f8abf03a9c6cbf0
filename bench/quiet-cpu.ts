import { cpus } from 'node:os';
import { setTimeout } from 'node:timers/promises';

/**
 * Waits until the machine's cores are at least `idleShare` idle over one `windowMs` window, for at most `maxMs`;
 * resolves to the idle share of the last window. A figure of one process's CPU (an import) is otherwise moved by
 * whatever the scenario before it left running (a host still stopping, Azurite catching up).
 */
export async function quietCpu(options: {
  idleShare: number;
  windowMs: number;
  maxMs: number;
}): Promise<number> {
  const until = Date.now() + options.maxMs;
  for (;;) {
    const before = totals();
    await setTimeout(options.windowMs);
    const after = totals();
    const busy = after.all - before.all;
    const idle = busy > 0 ? (after.idle - before.idle) / busy : 1;
    if (idle >= options.idleShare || Date.now() >= until) return idle;
  }
}

function totals(): { idle: number; all: number } {
  let idle = 0;
  let all = 0;
  for (const { times } of cpus()) {
    idle += times.idle;
    all += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, all };
}
