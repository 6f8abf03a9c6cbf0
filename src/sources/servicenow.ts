import type { ApprovalRequest, ApprovalResponse, PolicyReason } from '../approval/model.js';
import servicenowSchema from './schemas/servicenow-change.schema.json' with { type: 'json' };
import type { Validation } from './schema-validator.js';

/** The payload a ServiceNow business rule sends for a change request (docs/servicenow.md). */
export interface ServiceNowChange {
  sys_id: string;
  number: string;
  state: string;
  approval: 'approved' | 'rejected';
  requested_by?: string;
  approved_by: string;
  u_private_endpoint_connection_id: string;
  reason?: string;
  instance_url?: string;
}

export { servicenowSchema };

export type ServiceNowValidator = (data: unknown) => Validation<ServiceNowChange>;

/** Where the connection id sits in the payload, for error pointers. */
export const SERVICENOW_CONNECTION_POINTER = '/u_private_endpoint_connection_id';

export function serviceNowToApprovalRequest(change: ServiceNowChange): ApprovalRequest {
  const request: ApprovalRequest = {
    connectionId: change.u_private_endpoint_connection_id,
    decision: change.approval === 'approved' ? 'Approved' : 'Rejected',
    ticket: { system: 'servicenow', id: change.number, state: change.state },
    approver: change.approved_by,
  };
  if (change.requested_by !== undefined) request.requester = change.requested_by;
  if (change.reason !== undefined) request.description = change.reason;
  if (change.instance_url !== undefined && request.ticket) {
    const base = change.instance_url.replace(/\/+$/, '');
    request.ticket.url = `${base}/change_request.do?sys_id=${change.sys_id}`;
  }
  return request;
}

/** The delivery id ServiceNow gives us: one change decides once, so sys_id + decision identifies the request. */
export function serviceNowDeliveryKey(change: ServiceNowChange): string {
  return `${change.sys_id}:${change.approval}`;
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

/**
 * What the route accepts: the change-request payload a business rule sends, or — for Flow Designer REST steps
 * and scripts that already speak it — the canonical ApprovalRequest (told apart by its `connectionId`).
 */
export type ServiceNowPayload =
  { kind: 'change'; change: ServiceNowChange } | { kind: 'canonical'; request: ApprovalRequest };

export function servicenowPayloadValidator(
  change: ServiceNowValidator,
  canonical: (data: unknown) => Validation<ApprovalRequest>,
): (data: unknown) => Validation<ServiceNowPayload> {
  return (data) => {
    if (typeof data === 'object' && data !== null && !Array.isArray(data) && 'connectionId' in data) {
      const valid = canonical(data);
      return valid.ok ? { ok: true, value: { kind: 'canonical', request: valid.value } } : valid;
    }
    const valid = change(data);
    return valid.ok ? { ok: true, value: { kind: 'change', change: valid.value } } : valid;
  };
}
