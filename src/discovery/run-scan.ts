import type { ArmClient } from '../arm/arm-client.js';
import { ArmError, ArmUnavailableError } from '../arm/arm-errors.js';
import type { GraphScopes } from '../arm/resource-graph.js';
import type { Logger } from '../logger.js';
import type { CallerIdentity, ConnectionState } from '../model/approval.js';
import type { ProviderType } from '../model/provider-registry.js';
import type { ConnectionId } from '../model/resource-id.js';
import { formatConnectionId, tryParseConnectionId } from '../model/resource-id.js';
import type { Outcome } from '../model/outcome.js';
import type {
  Asked,
  Discovered,
  DiscoveredPatch,
  DiscoveredState,
  DiscoveryStore,
} from '../store/discovery-store.js';
import { StoreUnavailableError } from '../store/errors.js';
import { hashedKey } from '../store/keys.js';
import type { ActDeps } from './act.js';
import { act, DISCOVERY_CALLER, trusted } from './act.js';
import type { People } from './people.js';
import { wasAsked } from './people.js';
import type { Found, ScanStats } from './scan.js';
import { noScanStats, scanConnections } from './scan.js';

/**
 * One discovery run: scan, and for each Pending connection do exactly once what policy says — approve it when a
 * rule trusts it for `discovery`, otherwise ask people; later remind them once, reject it when a rule's expiry
 * has passed, and close the request of a connection decided elsewhere or gone.
 */

/** Discovery's expiry of a Pending connection (policy `expireAfterDays`). */
export type Expiry = (
  target: ConnectionId,
  caller: CallerIdentity,
) => { days: number; rule: string } | undefined;

export interface DiscoveryDeps {
  arm: ArmClient;
  scopes: GraphScopes;
  types: readonly ProviderType[];
  concurrency: number;
  act: ActDeps;
  store: DiscoveryStore;
  people: People;
  expiry?: Expiry;
  remindAfterMs: number;
  /** How long a scan acts and closes; what is left waits for the next scan (its schedule stays on time). */
  budgetMs: number;
  /** Where in the connections found acting starts (Math.random unless given). */
  random?: () => number;
  now: () => number;
  newId: () => string;
  sleep: (ms: number) => Promise<void>;
}

export interface ScanReport extends ScanStats {
  scanId: string;
  durationMs: number;
  pending: number;
  approved: number;
  requested: number;
  reminded: number;
  expired: number;
  closed: number;
}

const DAY_MS = 86_400_000;
/**
 * A row is kept 90 days after the scan last saw its connection Pending, or after discovery was done with it; then
 * the retention timer deletes it. A row nothing moves on any more (its connection gone unnoticed) goes too.
 */
const KEPT_MS = 90 * DAY_MS;

export async function runScan(deps: DiscoveryDeps, logger: Logger): Promise<ScanReport> {
  const started = deps.now();
  const report: ScanReport = {
    scanId: deps.newId(),
    durationMs: 0,
    ...noScanStats(),
    pending: 0,
    approved: 0,
    requested: 0,
    reminded: 0,
    expired: 0,
    closed: 0,
  };
  const seen = new Set<string>();
  try {
    const pending = await findPending(deps, report, seen, logger);
    const times = timesOf(deps, started);
    const cut = await actOnEach(deps, pending, { until: times.acting, report, logger });
    if (cut.skipped > 0) logger.warn('discovery.cut-short', { ...cut, ...times.said });
    // Every Pending connection was found, so a request for one not among them can be closed, unless Resource
    // Manager or storage is down (each read would wait out its deadline); within the rest of the budget.
    if (cut.why === 'unavailable') return report;
    const left = await closeTheRest(deps, seen, report, logger, times.closing);
    if (left)
      logger.warn('discovery.cut-short', { why: 'budget', closing: 'left for the next scan', ...times.said });
  } finally {
    // Whatever stopped the scan, what it counted so far is logged and kept.
    report.durationMs = deps.now() - started;
    logger.info('discovery.scanned', { ...report });
    await deps.store
      .recordScan({ ...report, startedAt: started })
      .catch((error: unknown) => logger.warn('discovery.scan-not-kept', { error: String(error) }));
  }
  return report;
}

/**
 * Until when a scan acts, then closes. Acting has four fifths of the budget, and at least a fifth of it after
 * reading ended, so a scan whose reading is slow (a large estate, Resource Graph's quota) still acts on some;
 * closing has the fifth after acting.
 */
function timesOf(deps: DiscoveryDeps, started: number) {
  const read = deps.now();
  const acting = Math.max(started + deps.budgetMs * ACTING_SHARE, read + deps.budgetMs * (1 - ACTING_SHARE));
  return {
    acting,
    closing: acting + deps.budgetMs * (1 - ACTING_SHARE),
    said: { readingMs: read - started, budgetMs: deps.budgetMs },
  };
}

/** The Pending connections of the scopes, each counted and marked seen. */
async function findPending(
  deps: DiscoveryDeps,
  report: ScanReport,
  seen: Set<string>,
  logger: Logger,
): Promise<Found[]> {
  const context = () => ({
    requestId: report.scanId,
    correlationId: report.scanId,
    deadline: deps.now() + deps.act.deadlineMs,
    logger,
  });
  const scan = { arm: deps.arm, scopes: deps.scopes, types: deps.types, concurrency: deps.concurrency };
  const pending: Found[] = [];
  for await (const found of scanConnections({ ...scan, context, sleep: deps.sleep, logger }, report)) {
    if (found.state.status.toLowerCase() !== 'pending') continue;
    report.pending += 1;
    seen.add(keyOf(formatConnectionId(found.connectionId), found.state.privateEndpointId ?? ''));
    pending.push(found);
  }
  return pending;
}

interface Cut {
  why?: 'unavailable' | 'budget';
  skipped: number;
  unavailableInARow: number;
}

/**
 * Acts on each connection, from a place chosen at random so that a scan cut short does not leave the same ones
 * to every next scan. It stops acting (the rest counted as errors, for the next scan) when Resource Manager or
 * storage is down, where each would wait out its whole deadline for nothing, or when the scan has used its share
 * of the budget for acting.
 */
async function actOnEach(
  deps: DiscoveryDeps,
  pending: readonly Found[],
  scan: { until: number; report: ScanReport; logger: Logger },
): Promise<Cut> {
  const { report, logger } = scan;
  const cut: Cut = { skipped: 0, unavailableInARow: 0 };
  const start = Math.floor((deps.random ?? Math.random)() * pending.length);
  for (const found of [...pending.slice(start), ...pending.slice(0, start)]) {
    if (cut.unavailableInARow >= UNAVAILABLE_IN_A_ROW) cut.why = 'unavailable';
    else if (deps.now() >= scan.until) cut.why ??= 'budget';
    if (cut.why !== undefined) {
      cut.skipped += 1;
      report.errors += 1;
      continue;
    }
    await onPending(deps, found.connectionId, found.state, report, logger).then(
      () => (cut.unavailableInARow = 0),
      (error: unknown) => {
        report.errors += 1;
        cut.unavailableInARow = isUnavailable(error) ? cut.unavailableInARow + 1 : 0;
        logger.warn('discovery.handle-failed', { connectionId: found.state.id, error: String(error) });
      },
    );
  }
  return cut;
}

/** Of its budget, a scan acts on what it found for this much; the rest is left for closing requests. */
const ACTING_SHARE = 0.8;

/**
 * Connections in a row that fail because Resource Manager or storage is unavailable (after the clients' retries),
 * after which a scan stops acting on more: the rest wait for the next scan rather than each for its deadline.
 */
const UNAVAILABLE_IN_A_ROW = 5;

const isUnavailable = (error: unknown): boolean =>
  error instanceof ArmUnavailableError || error instanceof StoreUnavailableError;

const keyOf = (connectionId: string, privateEndpointId: string): string =>
  `${connectionId}|${privateEndpointId}`.toLowerCase();

async function onPending(
  deps: DiscoveryDeps,
  target: ConnectionId,
  state: ConnectionState,
  report: ScanReport,
  logger: Logger,
): Promise<void> {
  const { row } = await deps.store.claim({
    connectionId: formatConnectionId(target),
    privateEndpointId: state.privateEndpointId ?? '',
    status: state.status,
    at: deps.now(),
    expiresAt: deps.now() + KEPT_MS,
  });
  if ((row.busyUntil ?? 0) > deps.now()) return; // another scan is acting on it
  // `seen`, or an approval that never finished (the process stopped between the row and the pipeline): again.
  if (row.state === 'seen' || (row.state === 'approved' && row.requestId === undefined))
    return first(deps, target, state, row, report, logger);
  // An approval that continued from the queue and ended without applying it (its row says approved): again.
  if (row.state === 'approved' && (await endedUnapplied(deps, row.requestId, 'approved')))
    return first(deps, target, state, row, report, logger);
  if (row.state !== 'requested' && row.state !== 'reminded' && row.state !== 'expired') return;
  if (await expire(deps, target, row, report, logger)) return;
  let current = (await remind(deps, row, report)) ?? row;
  current = (await askMissing(deps, target, state, current, report, logger)) ?? current;
  await deps.store
    .update(current, { lastSeenAt: deps.now(), status: state.status, expiresAt: deps.now() + KEPT_MS })
    .catch(() => undefined);
}

/**
 * Whether the scan's approval ended without applying it, by its record (an approval handed to the queue is
 * recorded when it ends). One still at work has no record yet; one approved is left alone, although Resource
 * Graph lists its connection Pending for minutes after.
 */
async function endedUnapplied(
  deps: DiscoveryDeps,
  requestId: string | undefined,
  applied: 'approved' | 'rejected',
): Promise<boolean> {
  if (requestId === undefined) return false;
  const recorded = await deps.act.approval.record.audit.get(requestId);
  return recorded !== undefined && recorded.outcome !== applied && recorded.outcome !== 'unchanged';
}

/** How long a scan holds a row it acts on: the asks' and the pipeline's timeouts, with room to spare. */
const BUSY_MS = 5 * 60_000;

/**
 * The first time: approved when a rule trusts it, else people are asked. An approval that fails leaves the row for
 * the next scan; one that finds the connection decided meanwhile closes it. Once asked, a row stays asked: where
 * it was asked is stored (or, failing that, the next scan asks the channels it does not know of), and when no
 * channel took it, it is still `requested`, so reminders and expiry apply.
 */
async function first(
  deps: DiscoveryDeps,
  target: ConnectionId,
  state: ConnectionState,
  row: Discovered,
  report: ScanReport,
  logger: Logger,
): Promise<void> {
  const verdict = await trusted(deps.act, target, logger);
  // Approved by the scan's own write, which its record could not vouch for (indeterminate): the row stays.
  if (
    row.state === 'approved' &&
    row.requestId !== undefined &&
    verdict.decided?.toLowerCase() === 'approved'
  )
    return;
  if (verdict.decided !== undefined) return closeDecided(deps, row, verdict.decided, report);
  const moved = await deps.store.update(row, {
    state: verdict.trusted ? 'approved' : 'requested',
    busyUntil: deps.now() + BUSY_MS,
  });
  if (moved === undefined) return; // another scan took it
  if (verdict.trusted) return approve(deps, target, moved, verdict.rule, report, logger);
  const asked = await askPeople(deps, target, state, moved, report, logger);
  if (wasAsked(asked.asked)) report.requested += 1;
}

/**
 * Asks every channel not asked yet, under the row's hold. Where it was asked is written as each channel takes it,
 * so a scan that stops part-way (or a write that fails) does not have the next scan ask that channel again; the
 * end is written with `keep`. Nobody taking it is logged and counted at every scan, as it may yet be expired.
 */
async function askPeople(
  deps: DiscoveryDeps,
  target: ConnectionId,
  state: ConnectionState,
  held: Discovered,
  report: ScanReport,
  logger: Logger,
): Promise<Discovered> {
  let row = held;
  // The reminder counts from the first channel that took it (rows asked by an earlier build have no time).
  const firstTaken = (asked: Asked): DiscoveredPatch =>
    row.askedAt === undefined && !wasAsked(held.asked) && wasAsked(asked) ? { askedAt: deps.now() } : {};
  const taken = async (asked: Asked): Promise<void> => {
    const written = await deps.store.update(row, { asked, ...firstTaken(asked) }).catch(() => undefined);
    if (written !== undefined) row = written;
  };
  const options = { already: held.asked ?? {}, taken, correlationId: askCorrelation(held) };
  const asked = await deps.people.ask(target, state, options).catch((error: unknown) => {
    logger.warn('discovery.not-asked', { connectionId: held.connectionId, error: String(error) });
    report.errors += 1;
    return held.asked ?? {};
  });
  return keep(deps, row, { asked, ...firstTaken(asked), busyUntil: 0 }, logger);
}

/**
 * One per time a connection is found waiting: the same for every ask while its row lives, another when it is
 * found Pending again after it ended (a new row, seen first at another time).
 */
function askCorrelation(row: Discovered): string {
  return hashedKey('pla-', row.connectionId.toLowerCase(), String(row.firstSeenAt)).slice(0, 36);
}

async function approve(
  deps: DiscoveryDeps,
  target: ConnectionId,
  row: Discovered,
  rule: string | undefined,
  report: ScanReport,
  logger: Logger,
): Promise<void> {
  const description = `Approved by policy rule ${rule ?? '(unnamed)'}: found Pending by discovery`;
  const done = await act(deps.act, target, row.privateEndpointId, 'Approved', description, logger).catch(
    async (error: unknown) => {
      await letGo(deps, row, 'seen');
      throw error;
    },
  );
  const decidedElsewhere = supersededTo(done.outcome);
  if (decidedElsewhere !== undefined) return closeDecided(deps, row, decidedElsewhere, report);
  // Continuing from the queue (a long-running write): approved by the scan, its record to follow under its id.
  if (done.outcome.kind === 'accepted')
    logger.info('discovery.approval-continues', { requestId: done.requestId });
  else if (done.outcome.kind !== 'done') {
    await letGo(deps, row, 'seen');
    throw new Error(`the approval ended ${done.outcome.kind}`);
  }
  const ended = { requestId: done.requestId, ...(rule ? { rule } : {}), expiresAt: deps.now() + KEPT_MS };
  await keep(deps, row, { ...ended, busyUntil: 0 }, logger);
  report.approved += 1;
}

/** Gives a held row back, in `state`, to the next scan; if that write fails, the hold runs out instead. */
async function letGo(deps: DiscoveryDeps, row: Discovered, state: DiscoveredState): Promise<void> {
  await deps.store.update(row, { state, busyUntil: 0 }).catch(() => undefined);
}

/** The pipeline found the connection no longer Pending: someone decided it first. Its row, and requests, close. */
async function closeDecided(
  deps: DiscoveryDeps,
  row: Discovered,
  status: string,
  report: ScanReport,
): Promise<void> {
  const why = `is now ${status}`;
  const closed = await deps.store.update(row, {
    state: 'closed',
    closedAt: deps.now(),
    closedWhy: why,
    busyUntil: 0,
    expiresAt: deps.now() + KEPT_MS,
  });
  if (closed?.asked) await deps.people.close(closed, why);
  report.closed += 1;
}

/** The status another decision left, when the pipeline refused to write over it (the scan saw Pending). */
function supersededTo(outcome: Outcome): string | undefined {
  if (outcome.kind !== 'denied' || outcome.policy.reasons[0]?.rule !== 'superseded') return undefined;
  return outcome.connection?.status;
}

/**
 * What was done is written to the row, tried three times: a row left without it would have the next scan do it
 * again (ask again, or read back an approval). When it cannot be written, the error says what was done.
 */
async function keep(
  deps: DiscoveryDeps,
  row: Discovered,
  patch: DiscoveredPatch,
  logger: Logger,
): Promise<Discovered> {
  for (let attempt = 1; ; attempt++) {
    try {
      const written = await deps.store.update(row, patch);
      if (written !== undefined) return written;
      throw new Error('the row changed under the hold');
    } catch (error) {
      if (attempt >= 3) {
        logger.error('discovery.not-kept', {
          connectionId: row.connectionId,
          done: patch,
          error: String(error),
        });
        throw error;
      }
      await deps.sleep(200 * attempt);
    }
  }
}

/**
 * Still Pending DISCOVERY_REMIND_AFTER_HOURS after it was first seen, and as long after people first heard of it
 * (a channel that took it only lately is not reminded minutes later): reminded, once (once it lands).
 */
async function remind(
  deps: DiscoveryDeps,
  row: Discovered,
  report: ScanReport,
): Promise<Discovered | undefined> {
  const since = Math.max(row.firstSeenAt, row.askedAt ?? 0);
  if (row.state !== 'requested' || deps.now() - since < deps.remindAfterMs) return undefined;
  // Nobody took the request yet: there is no one to remind (the channels are asked again instead).
  if (!wasAsked(row.asked)) return undefined;
  // Moved first, so two scans never both remind; given back when no channel took it, so the next scan reminds.
  const moved = await deps.store.update(row, { state: 'reminded', remindedAt: deps.now() });
  if (moved === undefined) return undefined;
  const reminded = await deps.people.remind(moved);
  // Every channel of the row is gone (unset since it was asked): there is nowhere to remind, so it stays spent.
  if (reminded === 'nowhere') return moved;
  if (reminded === 'failed') {
    report.errors += 1;
    const back = await deps.store.update(moved, { state: 'requested', remindedAt: 0 }).catch(() => undefined);
    return back ? { ...back, remindedAt: undefined } : moved;
  }
  report.reminded += 1;
  return moved;
}

/**
 * A channel that could not be asked (ServiceNow down, a Slack error, a scan that stopped before it recorded where
 * it asked) is asked now, under the row's hold; the channels already asked are not asked again.
 */
async function askMissing(
  deps: DiscoveryDeps,
  target: ConnectionId,
  state: ConnectionState,
  row: Discovered,
  report: ScanReport,
  logger: Logger,
): Promise<Discovered | undefined> {
  if (!deps.people.missing(row.asked)) return undefined;
  const held = await deps.store.update(row, { busyUntil: deps.now() + BUSY_MS });
  if (held === undefined) return undefined;
  return askPeople(deps, target, state, held, report, logger);
}

/**
 * A rule's expiry passed: the connection is rejected through the pipeline, and its request closed. A rejection
 * that did not go through (Resource Manager failing) leaves the row as it was, for the next scan.
 */
async function expire(
  deps: DiscoveryDeps,
  target: ConnectionId,
  row: Discovered,
  report: ScanReport,
  logger: Logger,
): Promise<boolean> {
  // Rejected already, or still rejecting from the queue; one that ended without applying it is rejected again.
  if (row.state === 'expired' && row.requestId !== undefined)
    return !(await endedUnapplied(deps, row.requestId, 'rejected'));
  const expiry = deps.expiry?.(target, DISCOVERY_CALLER);
  if (expiry === undefined || deps.now() - row.firstSeenAt < expiry.days * DAY_MS) return false;
  const moved = await deps.store.update(row, {
    state: 'expired',
    rule: expiry.rule,
    busyUntil: deps.now() + BUSY_MS,
  });
  if (moved === undefined) return true;
  const description = `Rejected: Pending longer than ${expiry.days} days (policy rule ${expiry.rule})`;
  const done = await act(deps.act, target, row.privateEndpointId, 'Rejected', description, logger).catch(
    async (error: unknown) => {
      // Not rejected: the row goes back to where it was, so it is reminded and closed as before (or expired next scan).
      await letGo(deps, moved, row.state === 'expired' ? 'requested' : row.state);
      throw error;
    },
  );
  // Approved (or rejected) by someone between the scan's read and this write: that decision stands.
  const decidedElsewhere = supersededTo(done.outcome);
  if (decidedElsewhere !== undefined) {
    await closeDecided(deps, moved, decidedElsewhere, report);
    return true;
  }
  // Continuing from the queue (a long-running write): rejected by the scan, its record to follow under its id.
  if (done.outcome.kind === 'accepted')
    logger.info('discovery.rejection-continues', { requestId: done.requestId });
  else if (done.outcome.kind !== 'done') {
    await letGo(deps, moved, row.state === 'expired' ? 'requested' : row.state);
    throw new Error(`the expiry's rejection ended ${done.outcome.kind}`);
  }
  await keep(
    deps,
    moved,
    { requestId: done.requestId, busyUntil: 0, expiresAt: deps.now() + KEPT_MS },
    logger,
  );
  await deps.people.close(moved, `was rejected: it stayed Pending longer than ${expiry.days} days`);
  report.expired += 1;
  return true;
}

/** Requests still open whose connection this scan did not find Pending: decided elsewhere, or gone. */
async function closeTheRest(
  deps: DiscoveryDeps,
  seen: ReadonlySet<string>,
  report: ScanReport,
  logger: Logger,
  until: number,
): Promise<boolean> {
  for await (const row of deps.store.asked()) {
    // What is left is closed by the next scan.
    if (deps.now() >= until) return true;
    if (seen.has(keyOf(row.connectionId, row.privateEndpointId))) continue;
    if ((row.busyUntil ?? 0) > deps.now()) continue; // being asked or decided by another scan right now
    const why = await whyNotPending(deps, row, report.scanId, logger);
    if (why === undefined) continue;
    const moved = await deps.store.update(row, {
      state: 'closed',
      closedAt: deps.now(),
      closedWhy: why,
      expiresAt: deps.now() + KEPT_MS,
    });
    if (moved === undefined) continue;
    await deps.people.close(moved, why);
    report.closed += 1;
  }
  return false;
}

async function whyNotPending(
  deps: DiscoveryDeps,
  row: Discovered,
  scanId: string,
  logger: Logger,
): Promise<string | undefined> {
  const target = tryParseConnectionId(row.connectionId);
  if (target === undefined) return undefined;
  const context = {
    requestId: scanId,
    correlationId: scanId,
    deadline: deps.now() + deps.act.deadlineMs,
    logger,
  };
  try {
    const now = await deps.arm.getConnection(target, context);
    const status = now.value.status;
    if (status.toLowerCase() === 'pending') return undefined;
    // Whoever decided it (the portal, a caller of this app) is in Resource Manager's or our own audit trail.
    return `is now ${status}`;
  } catch (error) {
    if (error instanceof ArmError && error.status === 404)
      return 'is gone (its private endpoint was deleted)';
    logger.warn('discovery.check-failed', { connectionId: row.connectionId, error: String(error) });
    return undefined;
  }
}
