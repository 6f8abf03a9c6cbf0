import { failureToProblem } from '../approval/failure.js';
import type { Handled } from '../approval/handle-approval.js';
import type { ConnectionState } from '../approval/model.js';

/** One chat message for any outcome: what happened, why, and the request id to quote to an operator. */
export function chatOutcomeText(handled: Handled, requestId: string): { text: string; ok: boolean } {
  if (handled.kind === 'failure') {
    const { problem } = failureToProblem(handled.error, requestId);
    return { text: `Not applied: ${problem.detail} (request ${requestId})`, ok: false };
  }
  const result = handled.result;
  if (result.kind === 'denied') {
    const reasons = result.policy.reasons.map((r) => `• ${r.rule}: ${r.message}`).join('\n');
    const head =
      result.status === 409
        ? `Not applied: the connection ${result.connection ? `is ${result.connection.status} and` : 'is in a state that'} cannot go to the requested state.`
        : 'Not applied: policy denies this request.';
    return { text: `${head}\n${reasons}\n(request ${requestId})`, ok: false };
  }
  const r = result.response;
  const c = r.connection;
  switch (r.outcome) {
    case 'unchanged':
      return { text: `${c.name} is already ${c.status}; nothing changed. (request ${requestId})`, ok: true };
    case 'dry-run':
      return {
        text: `Dry run: ${c.name} is ${c.previousStatus}; a real run would ${r.plan?.write ? `set it to ${r.plan.status}` : 'change nothing'}. (request ${requestId})`,
        ok: true,
      };
    default:
      return {
        text: `${c.name}: ${c.previousStatus} → ${c.status}${c.description ? ` ("${c.description}")` : ''}. (request ${requestId})`,
        ok: true,
      };
  }
}

export function chatStatusText(connection: ConnectionState, requestId: string): string {
  const parts = [`${connection.name} is ${connection.status}`];
  if (connection.provisioningState) parts.push(`provisioning ${connection.provisioningState}`);
  if (connection.description) parts.push(`"${connection.description}"`);
  if (connection.privateEndpointId) parts.push(`private endpoint ${connection.privateEndpointId}`);
  return `${parts.join(', ')}. (request ${requestId})`;
}
