import { authenticateSlack } from '../auth/authenticate.js';
import type { AppDeps } from '../composition-root.js';
import { decodeUtf8 } from '../http/body.js';
import { checkEnvelope, readDryRun } from '../http/intake.js';
import { problem, problemResponse } from '../http/problem.js';
import type { RouteHandler } from '../http/route-types.js';
import { parseSlackForm, SLACK_ARM_DEADLINE_MS, slackCaller, slackReply } from '../sources/slack.js';
import { decodeEntities } from '../sources/chat-command.js';
import { runChatTurn } from './chat.js';

/** `POST /api/approvals/slack`: a Slack slash command. */
export function slackHandler(deps: AppDeps): RouteHandler {
  return async (request) => {
    const scope = deps.beginRequest('slack');
    const refused = checkEnvelope(request, scope, 'form');
    if (refused) return refused;
    const auth = await authenticateSlack(deps.auth, request, scope);
    if (!auth.ok) return auth.response;
    const dry = readDryRun(request.url, scope);
    if (!dry.ok) return dry.response;

    const text = decodeUtf8(request.body);
    const form = text === undefined ? undefined : parseSlackForm(text);
    if (form === undefined || form.kind === 'invalid') {
      return problemResponse(
        problem('invalidRequest', scope.requestId, 'The body is not a Slack slash command form.', {
          errors: form?.errors ?? [{ pointer: '', message: 'body is not valid UTF-8' }],
        }),
      );
    }
    // Slack checks the certificate now and then; an empty 200 is the documented answer.
    if (form.kind === 'ssl-check')
      return { status: 200, headers: { 'x-request-id': scope.requestId }, body: '' };

    const command = form.command;
    return runChatTurn(deps, {
      source: 'slack',
      scope,
      caller: slackCaller(command),
      text: decodeEntities(command.text),
      dryRun: dry.dryRun,
      deadlineMs: Math.min(SLACK_ARM_DEADLINE_MS, deps.config.arm.deadlineMs),
      idempotencyKey: command.triggerId,
      marks: auth.marks,
      reply: (message, ok) => slackReply(message, ok ? 'in_channel' : 'ephemeral'),
    });
  };
}
