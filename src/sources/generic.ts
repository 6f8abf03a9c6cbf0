import type { Source } from '../approval/source.js';
import type { AuthDeps } from '../auth/authenticate.js';
import { authenticateWebhookOrBearer } from '../auth/authenticate.js';
import type { ApprovalRequest } from '../model/approval.js';
import { parsePayload, readConnectionId } from './payload.js';
import type { Validation } from './schema-validator.js';

export type GenericValidator = (data: unknown) => Validation<ApprovalRequest>;

/** `POST /api/approvals`: Logic Apps, bots and scripts, with an Entra token or a Standard Webhooks signature. */
export function genericSource(auth: AuthDeps, validate: GenericValidator, deadlineMs: number): Source {
  return {
    name: 'generic',
    accepts: 'json',
    query: ['dryRun'],
    deadlineMs,
    pollable: true,
    authenticate: (request) => authenticateWebhookOrBearer(auth, 'generic', request),
    admit(body, { caller, marks }) {
      const request = parsePayload(body, validate, 'ApprovalRequest');
      const connectionId = readConnectionId(request.connectionId);
      // A late outcome waits at the Location the caller was given.
      const intent = {
        kind: 'decide' as const,
        request,
        connectionId,
        report: { kind: 'location' as const },
      };
      return {
        caller,
        marks,
        intent: caller.deliveryId ? { ...intent, deliveryKey: caller.deliveryId } : intent,
      };
    },
  };
}
