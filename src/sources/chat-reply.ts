import { failureProblem } from '../http/failure-problem.js';
import { outcomeLog } from '../http/outcome-response.js';
import { jsonResponse, problemResponse } from '../http/problem.js';
import type { RouteResponse } from '../http/route-types.js';
import type { ConnectionState } from '../model/approval.js';
import type { Handled, Outcome } from '../model/outcome.js';
import { isRefusal, type Refusal, type RefusalKind } from '../model/refusal.js';
import { visibleLines } from '../model/visible-text.js';
import { CHAT_HELP } from './chat-command.js';

/** How a chat platform words a message: `ok` outcomes may go to everyone, the rest only to the sender. */
export type ChatFormat = (text: string, ok: boolean) => unknown;

/** Where a late outcome is posted: Slack's `response_url` answers in the same conversation. */
const LATER_HERE = 'here';

/** The scheme a chat route's 401 names in `WWW-Authenticate`: Teams' `Authorization: HMAC`, Slack's signature. */
export type ChatScheme = 'HMAC' | 'Slack-Signature';

/**
 * Refusals of what a signed-in person asked, not of the message that carried it: they are told why, as a message.
 * Slack and Teams show a non-200 answer as a bare "failed", without its reason.
 */
const TOLD_REFUSALS: ReadonlySet<RefusalKind> = new Set<RefusalKind>([
  'forbidden',
  'in-flight',
  'idempotency-key-reused',
  'invalid-resource-id',
]);

/** A refusal of the message itself (unsigned, replayed, malformed): an HTTP problem, there is no one to tell. */
export function refusesTheMessage(error: unknown): error is Refusal {
  return isRefusal(error) && !TOLD_REFUSALS.has(error.kind);
}

/**
 * A chat platform shows only messages, so every outcome after the message was accepted is answered as one
 * (HTTP 200), refusals of the command included. Refusals of the message itself (unsigned, replayed, malformed)
 * stay HTTP problems: there is no person to show them to.
 */
export function chatReply(
  { requestId, outcome }: Handled,
  format: ChatFormat,
  scheme: ChatScheme,
  laterAt = LATER_HERE,
): RouteResponse {
  if (outcome.kind === 'failed' && refusesTheMessage(outcome.error)) {
    const failed = failureProblem(outcome.error, requestId, scheme);
    return { ...problemResponse(failed.problem, failed.headers), log: outcomeLog(outcome, failed) };
  }
  const log = outcomeLog(outcome);
  // Slack checks the certificate now and then; an empty 200 is the documented answer.
  if (outcome.kind === 'ping') return { status: 200, headers: { 'x-request-id': requestId }, body: '', log };
  const { text, ok } = chatText(outcome, requestId, laterAt);
  return { ...jsonResponse(200, format(visibleLines(text), ok), requestId), log };
}

/** One chat message for any outcome: what happened, why, and the request id to quote to an operator. */
export function chatText(
  outcome: Outcome,
  requestId: string,
  laterAt = LATER_HERE,
): { text: string; ok: boolean } {
  switch (outcome.kind) {
    case 'done':
      return { text: doneText(outcome.response, requestId, outcome.recordPending === true), ok: true };
    case 'denied': {
      const reasons = outcome.policy.reasons.map((r) => `• ${r.rule}: ${r.message}`).join('\n');
      const from = outcome.connection ? `is ${outcome.connection.status} and` : 'is in a state that';
      const head = outcome.transition
        ? `Not applied: the connection ${from} cannot go to the requested state.`
        : 'Not applied: policy denies this request.';
      return { text: `${head}\n${reasons}\n(request ${requestId})`, ok: false };
    }
    case 'status':
      return { text: statusText(outcome.connection, requestId), ok: false };
    case 'help':
      return { text: outcome.problem ? `${outcome.problem}\n${CHAT_HELP}` : CHAT_HELP, ok: false };
    case 'failed':
      return {
        text: `Not applied: ${failureProblem(outcome.error, requestId).problem.detail} (request ${requestId})`,
        ok: false,
      };
    case 'ping':
      return { text: '', ok: false };
    case 'accepted':
      return {
        text: `Working on it: the approval continues in the background, and its outcome follows ${laterAt}. Ask "status <connection-id>" to see where it stands. (request ${outcome.requestId})`,
        ok: false,
      };
  }
}

function doneText(
  r: Extract<Outcome, { kind: 'done' }>['response'],
  requestId: string,
  pending: boolean,
): string {
  const c = r.connection;
  const note = pending ? ' The audit record is pending (storage unavailable).' : '';
  switch (r.outcome) {
    case 'unchanged':
      return `${c.name} is already ${c.status}; nothing changed. (request ${requestId})${note}`;
    case 'dry-run':
      return `Dry run: ${c.name} is ${c.previousStatus}; a real run would ${r.plan?.write ? `set it to ${r.plan.status}` : 'change nothing'}. (request ${requestId})`;
    default:
      return `${c.name}: ${c.previousStatus} → ${c.status}${c.description ? ` ("${c.description}")` : ''}. (request ${requestId})${note}`;
  }
}

function statusText(connection: ConnectionState, requestId: string): string {
  const parts = [`${connection.name} is ${connection.status}`];
  if (connection.provisioningState) parts.push(`provisioning ${connection.provisioningState}`);
  if (connection.description) parts.push(`"${connection.description}"`);
  if (connection.privateEndpointId) parts.push(`private endpoint ${connection.privateEndpointId}`);
  return `${parts.join(', ')}. (request ${requestId})`;
}
