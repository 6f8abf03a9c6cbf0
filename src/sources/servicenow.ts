import type { Intent, Source } from '../approval/source.js';
import type { AuthDeps } from '../auth/authenticate.js';
import { authenticateWebhookOrBearer } from '../auth/authenticate.js';
import type { ApprovalRequest, ReportTarget } from '../model/approval.js';
import { parsePayload, readConnectionId } from './payload.js';
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

/** One change decides once, so sys_id + decision identifies the delivery (scoped to the caller that sent it). */
export function serviceNowDeliveryKey(change: ServiceNowChange): string {
  return `${change.sys_id}:${change.approval}`;
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

/** `POST /api/approvals/servicenow`: a change's decision, signed with Standard Webhooks (or an Entra token). */
export function servicenowSource(
  auth: AuthDeps,
  validate: (data: unknown) => Validation<ServiceNowPayload>,
  deadlineMs: number,
  writeBack: boolean,
): Source {
  return {
    name: 'servicenow',
    accepts: 'json',
    pollable: true,
    query: ['dryRun'],
    deadlineMs,
    authenticate: (request) => authenticateWebhookOrBearer(auth, 'servicenow', request),
    admit(body, { caller, marks }) {
      const payload = parsePayload(body, validate, 'ServiceNow change');
      const isChange = payload.kind === 'change';
      const request = isChange ? serviceNowToApprovalRequest(payload.change) : payload.request;
      const connectionId = readConnectionId(
        request.connectionId,
        isChange ? SERVICENOW_CONNECTION_POINTER : '/connectionId',
      );
      const deliveryKey = isChange ? serviceNowDeliveryKey(payload.change) : caller.deliveryId;
      // Work continues after the answer only where its outcome can reach the caller: a work note on the change
      // (an instance is configured to write to), or the Location a Flow step can poll. A business rule without
      // write-back waits for the whole answer instead, unless it asks for a Location (`pollable` below).
      const report: ReportTarget | undefined = !writeBack
        ? undefined
        : isChange
          ? { kind: 'servicenow', sysId: payload.change.sys_id }
          : { kind: 'location' };
      const intent: Intent = {
        kind: 'decide',
        request,
        connectionId,
        ...(report ? { report } : {}),
        ...(deliveryKey ? { deliveryKey } : {}),
      };
      return { caller, marks, intent };
    },
  };
}
