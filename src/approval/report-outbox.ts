import type { Logger } from '../logger.js';
import type { ReportTarget } from '../model/approval.js';
import type { Reporter } from '../report/reporter.js';
import type { AuditTrail } from '../store/audit-trail.js';
import { AuditConflictError } from '../store/errors.js';
import type { Operation, Outbox } from '../store/operation-store.js';
import type { LaterDeps } from './continue-later.js';
import { nextAttemptDelayMs, SLACK_RESPONSE_URL_LIFETIME_MS } from './continue-later.js';

/**
 * The report owed once queued work ended, sent from the operation row. A try is claimed first (the row's
 * generation moves on and its next try is pushed past this one's send, so a second sender finds nothing due),
 * then sent, then kept. A failure is tried again from the queue; the end — sent, or given up — is recorded as
 * `<request id>:reported` beside the decision's record, and only then is the row done owing. A report never
 * changes the approval.
 */

/** Tries in all: Slack takes at most five posts on one response_url. */
export const MAX_REPORT_TRIES = 5;
/**
 * Tries in all where nothing caps them (a ServiceNow work note, a Teams workflow): with the default backoff about
 * half an hour, so an instance's maintenance window or an hourly rate limit is waited out rather than given up on.
 */
export const MAX_REPORT_TRIES_UNCAPPED = 10;

export function maxReportTries(target: ReportTarget): number {
  return target.kind === 'slack' ? MAX_REPORT_TRIES : MAX_REPORT_TRIES_UNCAPPED;
}

/** How long a claimed try may take before another sender may try again (the reporter's own timeouts are shorter). */
const SEND_LEASE_MS = 60_000;

export interface OutboxDeps {
  later: LaterDeps;
  reporter: Reporter;
  audit: AuditTrail;
  now: () => number;
}

export async function sendReport(deps: OutboxDeps, operation: Operation, logger: Logger): Promise<void> {
  const outbox = operation.outbox;
  if (outbox === undefined) return;
  if (outbox.state !== 'pending') {
    if (!outbox.noted) await noteEnd(deps, operation, outbox);
    return;
  }
  if (outbox.nextAt > deps.now()) return;
  const claimed = await deps.later.operations.update(operation, {
    generation: operation.generation + 1,
    outbox: { ...outbox, nextAt: deps.now() + SEND_LEASE_MS },
  });
  if (claimed === undefined) return;
  const report = await deps.reporter.deliver(outbox.target, { text: outbox.text, ok: outbox.ok });
  const reports = [...outbox.reports, report];
  const delayMs = reportDelayMs(deps.later, reports.length, report.retryAfterSeconds);
  // A try that could come only after the response_url expired would be refused for good: it ends here instead.
  // A row that holds no acceptance time reads as 0: it keeps all its tries rather than end at once.
  const expires =
    outbox.target.kind === 'slack' && operation.acceptedAt > 0
      ? operation.acceptedAt + SLACK_RESPONSE_URL_LIFETIME_MS
      : Infinity;
  const final =
    report.ok ||
    report.configured === false ||
    report.refused === true ||
    reports.length >= maxReportTries(outbox.target) ||
    deps.now() + delayMs >= expires;
  const state = report.ok ? 'sent' : final ? 'given-up' : 'pending';
  const next: Outbox = { ...outbox, reports, state, nextAt: deps.now() + delayMs, noted: false };
  const kept = await deps.later.operations.update(claimed, { outbox: next });
  if (kept === undefined) return;
  if (final) {
    (report.ok ? logger.info : logger.error)('approval.reported', { report, tries: reports.length });
    return noteEnd(deps, kept, next);
  }
  const retry = { kind: 'report', requestId: kept.requestId, generation: kept.generation } as const;
  await deps.later.queue
    .send(retry, delayMs / 1000)
    .catch((error: unknown) => logger.warn('queue.send-failed', { error: String(error) }));
}

/**
 * The wait before the next try: our backoff, or longer when the platform asked for longer (a 429's Retry-After):
 * a try sent before then would be refused again and use up one of the tries Slack allows.
 */
function reportDelayMs(later: LaterDeps, tries: number, retryAfterSeconds: number | undefined): number {
  // The reporter has capped the ask at MAX_REPORT_WAIT_SECONDS.
  return Math.max(nextAttemptDelayMs(later, tries), (retryAfterSeconds ?? 0) * 1000);
}

/** The end of the reporting, into the audit trail; a failure leaves it owed, for the sweeper to try again. */
async function noteEnd(deps: OutboxDeps, operation: Operation, outbox: Outbox): Promise<void> {
  const last = outbox.reports.at(-1);
  const noted = deps.audit.note({
    requestId: `${operation.requestId}:reported`,
    about: operation.requestId,
    time: new Date(deps.now()).toISOString(),
    source: operation.work.source,
    connectionId: operation.work.connectionId,
    outcome: 'reported',
    httpStatus: last?.ok ? 200 : 502,
    durationMs: 0,
    reports: outbox.reports,
  });
  // Written already (a redelivered message): the trail holds it.
  await noted.catch((error: unknown) => {
    if (!(error instanceof AuditConflictError)) throw error;
  });
  await deps.later.operations.update(operation, { outbox: { ...outbox, noted: true } });
}
