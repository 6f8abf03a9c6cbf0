import { failureProblem } from '../http/failure-problem.js';
import {
  acceptedResponse,
  AUDIT_RECORD_HEADER,
  deniedProblem,
  doneHeaders,
  outcomeLog,
} from '../http/outcome-response.js';
import type { Problem } from '../http/problem.js';
import { jsonResponse, problemResponse } from '../http/problem.js';
import type { RouteResponse } from '../http/route-types.js';
import type { ApprovalResponse, PolicyReason } from '../model/approval.js';
import type { Handled } from '../model/outcome.js';

/**
 * The ServiceNow route's answer: the generic shapes plus a `work_note` on every one of them — refusals before
 * the payload was read included — so the business rule writes one line onto the change whatever happened.
 */
export function servicenowReply(handled: Handled, requestUrl: URL, scheme = 'Bearer'): RouteResponse {
  const { requestId, outcome } = handled;
  const log = outcomeLog(outcome);
  if (outcome.kind === 'accepted') {
    return {
      ...acceptedResponse(outcome, requestId, requestUrl, { work_note: serviceNowNote(handled) }),
      log,
    };
  }
  if (outcome.kind === 'done') {
    const body = { ...outcome.response, work_note: serviceNowNote(handled) };
    return { ...jsonResponse(200, body, requestId, doneHeaders(outcome)), log };
  }
  const { problem, headers } = problemOf(handled, scheme);
  return { ...problemResponse(withWorkNote(problem), headers), log };
}

/** The work note for any outcome: what the business rule writes now, or what a late outcome writes later. */
export function serviceNowNote(handled: Handled): string {
  const { outcome } = handled;
  if (outcome.kind === 'accepted') {
    const where =
      outcome.reportedTo === 'servicenow'
        ? "its outcome will be written to this record's work notes"
        : 'its outcome waits at the Location of this answer';
    return `private-link-approver: accepted; the approval continues in the background and ${where}. Request id ${outcome.requestId}.`;
  }
  if (outcome.kind === 'done') {
    const pending = outcome.recordPending
      ? ' The audit record is pending (storage unavailable) and will be written when it returns.'
      : '';
    return serviceNowWorkNote(outcome.response) + pending;
  }
  const { problem } = problemOf(handled, 'Bearer');
  return serviceNowFailureNote(problem.detail, problem.instance, problem.reasons);
}

function problemOf(
  { requestId, outcome }: Handled,
  scheme: string,
): { problem: Problem; headers: Record<string, string> } {
  if (outcome.kind === 'denied') {
    const from = outcome.connection ? `is ${outcome.connection.status} and` : 'is in a state that';
    const detail = outcome.transition
      ? `The connection ${from} cannot go to the requested state.`
      : 'Policy denies this change.';
    return { problem: deniedProblem(outcome, requestId, detail), headers: {} };
  }
  const failed = failureProblem(
    outcome.kind === 'failed' ? outcome.error : new TypeError(outcome.kind),
    requestId,
    scheme,
  );
  const pending = outcome.kind === 'failed' && outcome.recordPending;
  return {
    problem: failed.problem,
    headers: pending ? { ...failed.headers, [AUDIT_RECORD_HEADER]: 'pending' } : failed.headers,
  };
}

function withWorkNote(p: Problem): Problem {
  return { ...p, work_note: serviceNowFailureNote(p.detail, p.instance, p.reasons) };
}

/** A line a business rule can write straight into the change's work notes. */
export function serviceNowWorkNote(response: ApprovalResponse): string {
  const c = response.connection;
  const what =
    response.outcome === 'unchanged'
      ? `was already ${c.status}; nothing changed`
      : response.outcome === 'dry-run'
        ? `dry run: would set ${c.name} to ${response.plan?.status ?? '?'} (now ${c.previousStatus})`
        : `${c.previousStatus} → ${c.status}`;
  return `private-link-approver: private endpoint connection ${c.name} ${what}. Request id ${response.id}${response.arm.requestId ? `, ARM request id ${response.arm.requestId}` : ''}.`;
}

export function serviceNowFailureNote(detail: string, requestId: string, reasons?: PolicyReason[]): string {
  const why =
    reasons && reasons.length > 0
      ? ` Reasons: ${reasons.map((r) => `[${r.rule}] ${r.message}`).join(' ')}`
      : '';
  return `private-link-approver: not applied. ${detail}${why} Request id ${requestId}.`;
}
