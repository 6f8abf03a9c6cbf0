import { readFile } from 'node:fs/promises';

/**
 * CPU time a process has used, read from outside it (Linux /proc; undefined elsewhere). Throughput on shared cores
 * moves with whatever else runs on the machine; CPU time per request moves far less, so the bench reports both.
 */

/** Clock ticks per second of /proc's utime and stime: USER_HZ, 100 on every Linux the bench runs on. */
const TICKS_PER_SECOND = 100;

/** User + system CPU time of `pid` so far, in ms. */
export async function processCpuMs(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Runs `work` and returns its result with the CPU `pid` used meanwhile (ms), when it can be read. */
export async function withCpuOf<T>(
  pid: number | undefined,
  work: () => Promise<T>,
): Promise<{ result: T; cpuMs: number | undefined }> {
  const { result, cpuMs } = await withCpuOfEach({ process: pid }, work);
  return { result, cpuMs: cpuMs.process };
}

/** As `withCpuOf`, for several processes at once, by name. */
export async function withCpuOfEach<T, K extends string>(
  pids: Record<K, number | undefined>,
  work: () => Promise<T>,
): Promise<{ result: T; cpuMs: Record<K, number | undefined> }> {
  const names = Object.keys(pids) as K[];
  const read = () => Promise.all(names.map((name) => processCpuMs(pids[name])));
  const before = await read();
  const result = await work();
  const after = await read();
  const cpuMs = {} as Record<K, number | undefined>;
  names.forEach((name, i) => {
    const [b, a] = [before[i], after[i]];
    cpuMs[name] = b === undefined || a === undefined ? undefined : a - b;
  });
  return { result, cpuMs };
}
