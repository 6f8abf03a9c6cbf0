import { failureProblem } from '../http/failure-problem.js';
import { AUDIT_RECORD_HEADER, deniedProblem, doneHeaders, outcomeLog } from '../http/outcome-response.js';
import type { Problem } from '../http/problem.js';
import { jsonResponse, problemResponse } from '../http/problem.js';
import type { RouteResponse } from '../http/route-types.js';
import type { ApprovalResponse, PolicyReason } from '../model/approval.js';
import type { Handled } from '../model/outcome.js';

/**
 * The ServiceNow route's answer: the generic shapes plus a `work_note` on every one of them — refusals before
 * the payload was read included — so the business rule writes one line onto the change whatever happened.
 */
export function servicenowReply({ requestId, outcome }: Handled): RouteResponse {
  const log = outcomeLog(outcome);
  switch (outcome.kind) {
    case 'done': {
      const pending = outcome.recordPending
        ? ' The audit record is pending (storage unavailable) and will be written when it returns.'
        : '';
      const body = { ...outcome.response, work_note: serviceNowWorkNote(outcome.response) + pending };
      return { ...jsonResponse(200, body, requestId, doneHeaders(outcome)), log };
    }
    case 'denied': {
      const from = outcome.connection ? `is ${outcome.connection.status} and` : 'is in a state that';
      const detail = outcome.transition
        ? `The connection ${from} cannot go to the requested state.`
        : 'Policy denies this change.';
      return { ...problemResponse(withWorkNote(deniedProblem(outcome, requestId, detail))), log };
    }
    case 'failed': {
      const failed = failureProblem(outcome.error, requestId);
      const headers = outcome.recordPending
        ? { ...failed.headers, [AUDIT_RECORD_HEADER]: 'pending' }
        : failed.headers;
      return { ...problemResponse(withWorkNote(failed.problem), headers), log };
    }
    default:
      return {
        ...problemResponse(withWorkNote(failureProblem(new TypeError(outcome.kind), requestId).problem)),
        log,
      };
  }
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
