import { authenticateTeams } from '../auth/authenticate.js';
import type { AppDeps } from '../composition-root.js';
import { checkEnvelope, parseJsonBody, readDryRun } from '../http/intake.js';
import { problem, problemResponse } from '../http/problem.js';
import type { RouteHandler } from '../http/route-types.js';
import { teamsCommandText } from '../sources/chat-command.js';
import {
  activityTimestampProblem,
  TEAMS_ARM_DEADLINE_MS,
  teamsCaller,
  teamsReply,
} from '../sources/teams.js';
import { runChatTurn } from './chat.js';

/** `POST /api/approvals/teams`: a Teams outgoing webhook (an @mention in a channel). */
export function teamsHandler(deps: AppDeps): RouteHandler {
  return async (request) => {
    const scope = deps.beginRequest('teams');
    const refused = checkEnvelope(request, scope, 'json');
    if (refused) return refused;
    const auth = await authenticateTeams(deps.auth, request, scope);
    if (!auth.ok) return auth.response;
    const dry = readDryRun(request.url, scope);
    if (!dry.ok) return dry.response;

    const parsed = parseJsonBody(request.body, deps.validators.teamsActivity, scope, 'Teams Activity');
    if (!parsed.ok) return parsed.response;
    const activity = parsed.value;
    const stale = activity.timestamp ? activityTimestampProblem(activity.timestamp, deps.now()) : undefined;
    if (stale) {
      scope.logger.warn('auth.replay-window', { source: 'teams', activityId: activity.id });
      return problemResponse(problem('unauthorized', scope.requestId, `${stale} Send the message again.`));
    }

    return runChatTurn(deps, {
      source: 'teams',
      scope,
      caller: teamsCaller(activity),
      text: teamsCommandText(activity.text),
      dryRun: dry.dryRun,
      deadlineMs: Math.min(TEAMS_ARM_DEADLINE_MS, deps.config.arm.deadlineMs),
      idempotencyKey: activity.id,
      marks: activity.id
        ? { ...auth.marks, delivery: { scope: 'teams:activity-id', id: activity.id, retries: false } }
        : auth.marks,
      reply: (text) => teamsReply(text),
    });
  };
}
