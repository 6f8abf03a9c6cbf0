import type { Outcome, Replay } from '../model/outcome.js';
import type { FailureProblem } from './failure-problem.js';
import { failureProblem } from './failure-problem.js';
import type { Problem } from './problem.js';
import { jsonResponse, problem } from './problem.js';
import { prefersAsync } from './envelope.js';
import type { RouteRequest, RouteResponse } from './route-types.js';

/**
 * The JSON routes' common mapping of an outcome to HTTP: 200 with the approval body, or problem+json. The
 * ServiceNow reply adds its work note to the same shapes.
 */

export const REPLAYED_HEADER = 'idempotent-replayed';
export const AUDIT_RECORD_HEADER = 'audit-record';

type Done = Extract<Outcome, { kind: 'done' }>;
type Denied = Extract<Outcome, { kind: 'denied' }>;

/** Headers that say an answer came from storage and why, and that its record is not written yet. */
export function doneHeaders(outcome: Done): Record<string, string> {
  const headers: Record<string, string> = {};
  if (outcome.replay) Object.assign(headers, replayHeaders(outcome.replay));
  if (outcome.recordPending) headers[AUDIT_RECORD_HEADER] = 'pending';
  return headers;
}

function replayHeaders(replay: Replay): Record<string, string> {
  const headers: Record<string, string> = {
    [REPLAYED_HEADER]: 'true',
    'idempotent-replay-of': replay.originalRequestId,
  };
  if (replay.basis === 'derived') {
    headers['idempotent-replay-reason'] =
      `No Idempotency-Key was sent and the same caller sent the same connection, decision and ticket within ${replay.windowMinutes ?? 0} minutes, so this is the earlier answer. Send a new Idempotency-Key to make a new request.`;
  }
  return headers;
}

export function deniedProblem(outcome: Denied, requestId: string, detail?: string): Problem {
  const reasons = outcome.policy.reasons.map((r) => r.message).join(' ');
  const from = outcome.connection?.status ?? 'its current status';
  return problem(
    outcome.transition ? 'transitionNotAllowed' : 'policyDenied',
    requestId,
    detail ??
      (outcome.transition
        ? `The connection cannot go from ${from} to the requested state: ${reasons}`
        : `Policy denies this request: ${reasons}`),
    { reasons: outcome.policy.reasons },
  );
}

/** What the one log line of a request says about its outcome; `failure`, when the reply has mapped it already. */
export function outcomeLog(outcome: Outcome, failure?: FailureProblem): Record<string, unknown> {
  switch (outcome.kind) {
    case 'done':
      return {
        outcome: outcome.replay ? 'replayed' : outcome.response.outcome,
        ...(outcome.recordPending ? { recordPending: true } : {}),
      };
    case 'denied':
      return { outcome: outcome.transition ? 'transition-not-allowed' : 'policy-denied' };
    case 'failed':
      return { outcome: 'failed', ...(failure ?? failureProblem(outcome.error, '')).log };
    default:
      return { outcome: outcome.kind };
  }
}

type Accepted = Extract<Outcome, { kind: 'accepted' }>;

/** Where a caller follows work that continues from the queue; a Functions key the request came with is kept. */
export function locationOf(requestUrl: URL, requestId: string): string {
  return pathWithKey(requestUrl, `/api/approvals/${requestId}/outcome`);
}

/** A path on this host for the caller to follow, with the Functions key (`code`) the request came with. */
export function pathWithKey(requestUrl: URL, path: string): string {
  const url = new URL(path, requestUrl);
  const code = requestUrl.searchParams.get('code');
  if (code !== null) url.searchParams.set('code', code);
  return url.href;
}

/** 202 Accepted, the Logic Apps asynchronous pattern: `Location` to poll and `Retry-After` to wait between polls. */
export function acceptedResponse(
  outcome: Accepted,
  requestId: string,
  requestUrl: URL,
  extra: Record<string, unknown> = {},
): RouteResponse {
  const location = locationOf(requestUrl, outcome.requestId);
  const body = { id: outcome.requestId, outcome: 'in-progress', location, ...extra };
  return jsonResponse(202, body, requestId, { location, 'retry-after': String(outcome.retryAfterSeconds) });
}

/**
 * RFC 7240 on a route that acts on `Prefer: respond-async`: every answer varies with `Prefer` (a cache must not
 * hand one caller's 202 to another's synchronous request), and a 202 to a caller who asked for it says the
 * preference was applied.
 */
export function withPreference(response: RouteResponse, request: RouteRequest): RouteResponse {
  const applied = response.status === 202 && prefersAsync(request.header('prefer'));
  const headers = { ...response.headers, vary: 'Prefer' };
  return { ...response, headers: applied ? { ...headers, 'preference-applied': 'respond-async' } : headers };
}
