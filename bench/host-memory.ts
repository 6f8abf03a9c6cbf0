import { readFile } from 'node:fs/promises';
import type { HostProcess } from './host-process.js';

/** What a host process holds, read from outside it: its peak resident set, and its live heap on request. */

/** VmHWM: the most resident memory the process ever had (Linux); 0 where /proc is not there. */
export async function peakRssMb(host: HostProcess): Promise<number> {
  try {
    const status = await readFile(`/proc/${host.child.process.pid}/status`, 'utf8');
    const kb = Number(/^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return 0;
  }
}

/** The host's heap after a full collection (dev/host.ts answers SIGUSR2 with one `host.memory` line). */
export async function liveHeapMb(host: HostProcess): Promise<number> {
  const line = host.child.waitForLine((l) => l.includes('"host.memory"'), 10_000);
  host.child.process.kill('SIGUSR2');
  const memory = JSON.parse(await line) as { heapUsed: number; collected: boolean };
  if (!memory.collected) throw new Error('the host was not started with --expose-gc');
  return Math.round((memory.heapUsed / 1_048_576) * 10) / 10;
}
