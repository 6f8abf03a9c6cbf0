import type { Logger } from '../logger.js';
import { formatConnectionId } from '../model/resource-id.js';
import { trusted } from './act.js';
import type { DiscoveryDeps } from './run-scan.js';
import type { Found, ScanStats } from './scan.js';
import { noScanStats, scanConnections } from './scan.js';

/**
 * `POST /api/discovery/run?dryRun=true`: the scan, and for each Pending connection the first thing a real scan
 * would do with it — approve it (a rule trusts it for `discovery`; the same GET and policy a real approval runs)
 * or ask people — with nothing written anywhere: no PUT, no message, no ticket, no discovery row, no audit
 * record. Reminders, expiry and closing depend on what earlier real scans did, so the preview does not judge them.
 */

/** Connections listed in each of the preview's lists; the counts are always whole. */
const PREVIEW_LIST_MAX = 500;

export interface ScanPreview extends ScanStats {
  scanId: string;
  dryRun: true;
  /** False when the caller's time ran out first: the counts and lists are of what the scan saw until then. */
  complete: boolean;
  durationMs: number;
  pending: number;
  /** Pending connections a rule trusts for discovery: a real scan approves them. */
  wouldApprove: number;
  /** The other Pending connections: a real scan asks people about them (or has asked already). */
  wouldAsk: number;
  /** Listed Pending by Resource Graph, but decided since (its index lags). */
  decidedMeanwhile: number;
  approve: { connectionId: string; rule?: string }[];
  ask: string[];
}

export async function previewScan(
  deps: DiscoveryDeps,
  logger: Logger,
  deadline: number,
): Promise<ScanPreview> {
  const started = deps.now();
  const preview: ScanPreview = {
    scanId: deps.newId(),
    dryRun: true,
    complete: false,
    durationMs: 0,
    ...noScanStats(),
    pending: 0,
    wouldApprove: 0,
    wouldAsk: 0,
    decidedMeanwhile: 0,
    approve: [],
    ask: [],
  };
  const context = () => ({
    requestId: preview.scanId,
    correlationId: preview.scanId,
    deadline: Math.min(deadline, deps.now() + deps.act.deadlineMs),
    logger,
  });
  const scan = { arm: deps.arm, scopes: deps.scopes, types: deps.types, concurrency: deps.concurrency };
  // A wait for Resource Graph's quota that would end past the deadline ends the preview instead.
  const sleep = (ms: number): Promise<void> =>
    deps.now() + ms >= deadline ? Promise.reject(new OutOfTime()) : deps.sleep(ms);
  let complete = true;
  try {
    for await (const found of scanConnections({ ...scan, context, sleep, logger }, preview)) {
      complete = deps.now() < deadline;
      if (!complete) break;
      await judge(deps, found, preview, logger, deadline);
    }
  } catch (error) {
    if (!(error instanceof OutOfTime)) throw error;
    complete = false;
  }
  return ended(preview, deps.now() - started, complete);
}

class OutOfTime extends Error {
  override readonly name = 'OutOfTime';
}

/** What a real scan would do first with one connection: approve it, or ask people. */
async function judge(
  deps: DiscoveryDeps,
  found: Found,
  preview: ScanPreview,
  logger: Logger,
  deadline: number,
): Promise<void> {
  if (found.state.status.toLowerCase() !== 'pending') return;
  preview.pending += 1;
  const connectionId = formatConnectionId(found.connectionId);
  // Its Resource Manager read gets what is left of the caller's time, not a decision's whole budget.
  const act = { ...deps.act, deadlineMs: Math.max(1, deadline - deps.now()) };
  const verdict = await trusted(act, found.connectionId, logger).catch((error: unknown) => {
    preview.errors += 1;
    logger.warn('discovery.preview-failed', { connectionId, error: String(error) });
    return undefined;
  });
  if (verdict === undefined) return;
  if (verdict.decided !== undefined) preview.decidedMeanwhile += 1;
  else if (verdict.trusted) {
    preview.wouldApprove += 1;
    const entry = verdict.rule === undefined ? { connectionId } : { connectionId, rule: verdict.rule };
    if (preview.approve.length < PREVIEW_LIST_MAX) preview.approve.push(entry);
  } else {
    preview.wouldAsk += 1;
    if (preview.ask.length < PREVIEW_LIST_MAX) preview.ask.push(connectionId);
  }
}

function ended(preview: ScanPreview, durationMs: number, complete: boolean): ScanPreview {
  return { ...preview, durationMs, complete };
}
