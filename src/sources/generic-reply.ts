import { failureProblem } from '../http/failure-problem.js';
import {
  acceptedResponse,
  AUDIT_RECORD_HEADER,
  deniedProblem,
  doneHeaders,
  outcomeLog,
} from '../http/outcome-response.js';
import { jsonResponse, problemResponse } from '../http/problem.js';
import type { RouteResponse } from '../http/route-types.js';
import type { Handled } from '../model/outcome.js';

/**
 * The generic route's answer: 200 with the approval body, 202 with `Location` while the work continues from the
 * queue, or RFC 9457 problem+json. `requestUrl` is where the caller reached us, for the `Location` URL.
 */
export function genericReply(
  { requestId, outcome }: Handled,
  requestUrl: URL,
  scheme = 'Bearer',
): RouteResponse {
  if (outcome.kind === 'failed') {
    const failed = failureProblem(outcome.error, requestId, scheme);
    const headers = outcome.recordPending
      ? { ...failed.headers, [AUDIT_RECORD_HEADER]: 'pending' }
      : failed.headers;
    return { ...problemResponse(failed.problem, headers), log: outcomeLog(outcome, failed) };
  }
  const log = outcomeLog(outcome);
  switch (outcome.kind) {
    case 'accepted':
      return { ...acceptedResponse(outcome, requestId, requestUrl), log };
    case 'done':
      return { ...jsonResponse(200, outcome.response, requestId, doneHeaders(outcome)), log };
    case 'denied':
      return { ...problemResponse(deniedProblem(outcome, requestId)), log };
    default:
      // Chat-only outcomes never reach a JSON route.
      return { ...problemResponse(failureProblem(new TypeError(outcome.kind), requestId).problem), log };
  }
}
