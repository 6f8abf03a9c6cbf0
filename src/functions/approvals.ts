import type { AppDeps } from '../composition-root.js';
import { runApproval } from '../approval/pipeline.js';
import { approvalResponse, failureResponse, readConnectionId } from '../approval/respond.js';
import { decodeUtf8 } from '../http/body.js';
import { checkEnvelope, readDryRun } from '../http/intake.js';
import { problem, problemResponse } from '../http/problem.js';
import type { RouteHandler } from '../http/route-types.js';
import { parseJson } from '../sources/generic.js';

/** `POST /api/approvals`: the canonical request from Logic Apps, bots and scripts. */
export function approvalsHandler(deps: AppDeps): RouteHandler {
  return async (request) => {
    const scope = deps.beginRequest('approvals');
    const refused = checkEnvelope(request, scope, 'json');
    if (refused) return refused;

    const dry = readDryRun(request.url, scope);
    if (!dry.ok) return dry.response;

    const caller = deps.authenticateGeneric(request);

    const text = decodeUtf8(request.body);
    const parsed = text === undefined ? undefined : parseJson(text);
    if (!parsed?.ok) {
      return problemResponse(
        problem('invalidJson', scope.requestId, 'The body must be one UTF-8 JSON object (DESIGN §2).', {
          errors: parsed?.errors ?? [{ pointer: '', message: 'body is not valid UTF-8' }],
        }),
      );
    }
    const valid = deps.validators.approvalRequest(parsed.value);
    if (!valid.ok) {
      return problemResponse(
        problem(
          'invalidRequest',
          scope.requestId,
          `The body does not match the ApprovalRequest schema: ${valid.errors.length} error(s), listed in "errors".`,
          { errors: valid.errors },
        ),
      );
    }
    const id = readConnectionId(valid.value.connectionId, scope);
    if (!id.ok) return problemResponse(id.problem);

    try {
      const result = await runApproval(deps.pipeline, {
        requestId: scope.requestId,
        request: valid.value,
        connectionId: id.id,
        caller,
        dryRun: dry.dryRun,
        deadlineMs: deps.config.arm.deadlineMs,
        logger: scope.logger,
      });
      const response = approvalResponse(result, scope);
      scope.logger.info('request.completed', {
        status: response.status,
        outcome: result.kind === 'done' ? result.response.outcome : 'denied',
        durationMs: deps.now() - scope.started,
      });
      return response;
    } catch (error) {
      return failureResponse(error, scope);
    }
  };
}
