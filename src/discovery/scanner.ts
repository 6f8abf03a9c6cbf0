import type { Logger } from '../logger.js';
import type { ScanPreview } from './preview-scan.js';
import { previewScan } from './preview-scan.js';
import type { DiscoveryDeps, ScanReport } from './run-scan.js';
import { runScan } from './run-scan.js';

/**
 * The scan as the routes and the timer see it: one at a time per process (a manual run while the timer's scan is
 * under way joins it instead of doubling the Resource Graph and Resource Manager load). Scans in two processes
 * may overlap; the discovery store's conditional writes keep each connection acted on once.
 */
export interface Scanner {
  deps: DiscoveryDeps;
  /** The NCRONTAB schedule of the timer. */
  schedule: string;
  run(logger: Logger): Promise<ScanReport>;
  /** What a scan would do now, writing nothing (never joins a real scan, nor is joined), until `deadline`. */
  preview(logger: Logger, deadline: number): Promise<ScanPreview>;
  /** The scan under way, if any. */
  running(): Promise<ScanReport> | undefined;
}

export function createScanner(deps: DiscoveryDeps, schedule: string): Scanner {
  let current: Promise<ScanReport> | undefined;
  return {
    deps,
    schedule,
    run(logger) {
      current ??= runScan(deps, logger).finally(() => {
        current = undefined;
      });
      return current;
    },
    preview: (logger, deadline) => previewScan(deps, logger, deadline),
    running: () => current,
  };
}
