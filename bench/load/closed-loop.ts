import type { LoadMeasurement } from './measurement.js';

/**
 * A closed loop for operations autocannon cannot express as one request, e.g. "GET then PUT": `concurrency`
 * workers each run the next operation as soon as their last one finished, until `amount` have run.
 */

export interface ClosedLoopLoad {
  concurrency: number;
  amount: number;
  /** Runs operation number `index`; resolves on success, rejects on any failure. */
  operation: (index: number) => Promise<void>;
}

export async function runClosedLoop(load: ClosedLoopLoad): Promise<LoadMeasurement> {
  const latenciesMs: number[] = [];
  let next = 0;
  let ok = 0;
  let errors = 0;
  const firstErrors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < load.amount) {
      const index = next++;
      const t0 = performance.now();
      try {
        await load.operation(index);
        latenciesMs.push(performance.now() - t0);
        ok += 1;
      } catch (error) {
        errors += 1;
        if (firstErrors.length < 3) firstErrors.push(error);
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: load.concurrency }, worker));
  const elapsedMs = performance.now() - started;
  for (const error of firstErrors) process.stderr.write(`bench: operation failed: ${String(error)}\n`);
  return { latenciesMs, elapsedMs, statusCounts: ok > 0 ? { 200: ok } : {}, errors };
}
