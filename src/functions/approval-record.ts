import { failureResponse } from '../approval/respond.js';
import { authenticateWebhookOrBearer } from '../auth/authenticate.js';
import { guardReplay } from '../auth/replay-guard.js';
import type { AppDeps } from '../composition-root.js';
import { jsonResponse, problem, problemResponse } from '../http/problem.js';
import type { RouteHandler } from '../http/route-types.js';

const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `GET /api/approvals/{id}`: the audit record of one request, for callers allowed on the generic route. */
export function approvalRecordHandler(deps: AppDeps): RouteHandler {
  return async (request) => {
    const scope = deps.beginRequest('approval-record');
    const auth = await authenticateWebhookOrBearer(deps.auth, 'generic', request, scope);
    if (!auth.ok) return auth.response;

    const id = request.params.id ?? '';
    if (!REQUEST_ID.test(id)) {
      return problemResponse(
        problem('invalidRequest', scope.requestId, 'The id in the path must be a request id (a UUID).', {
          errors: [{ pointer: '', message: 'path parameter id is not a UUID' }],
        }),
      );
    }
    try {
      await deps.stores.ensureTables();
      // A captured signed read is refused too: its signature covers no path, so it must not be reusable.
      const replayed = await guardReplay(deps.stores.nonces, auth.marks, `read:${id}`, scope);
      if (replayed) return replayed;
      const record = await deps.stores.audit.get(id.toLowerCase());
      if (!record) {
        return problemResponse(
          problem(
            'notFound',
            scope.requestId,
            `No audit record for request ${id}. Request ids come from the "id" of an answer or its x-request-id header.`,
          ),
        );
      }
      return jsonResponse(200, record, scope.requestId, { 'cache-control': 'no-store' });
    } catch (error) {
      return failureResponse(error, scope);
    }
  };
}
