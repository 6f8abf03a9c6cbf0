import { handleApproval } from '../approval/handle-approval.js';
import type { ApprovalRequest, CallerIdentity, SourceName } from '../approval/model.js';
import { failureToProblem } from '../approval/failure.js';
import { failureResponse } from '../approval/respond.js';
import type { ReplayMarks } from '../auth/replay-guard.js';
import { guardReplay } from '../auth/replay-guard.js';
import { InvalidResourceIdError, parseConnectionId } from '../arm/resource-id.js';
import type { AppDeps } from '../composition-root.js';
import type { RequestScope } from '../http/intake.js';
import { jsonResponse } from '../http/problem.js';
import type { RouteResponse } from '../http/route-types.js';
import { CHAT_HELP, parseChatCommand } from '../sources/chat-command.js';
import { chatOutcomeText, chatStatusText } from '../sources/chat-reply.js';

/** How a chat source words a reply: `ok` outcomes may go to everyone, errors only to the sender. */
export type ChatReply = (text: string, ok: boolean) => unknown;

export interface ChatTurn {
  source: Extract<SourceName, 'teams' | 'slack'>;
  scope: RequestScope;
  caller: CallerIdentity;
  text: string;
  dryRun: boolean;
  deadlineMs: number;
  idempotencyKey?: string;
  marks: ReplayMarks;
  reply: ChatReply;
}

/**
 * The chat grammar, shared by Teams and Slack: once the platform's envelope is authenticated and parsed, every
 * answer is a chat message (HTTP 200), because that is the only thing the platforms show to the person.
 */
export async function runChatTurn(deps: AppDeps, turn: ChatTurn): Promise<RouteResponse> {
  const { scope } = turn;
  const say = (text: string, ok: boolean): RouteResponse =>
    jsonResponse(200, turn.reply(text, ok), scope.requestId);
  try {
    await deps.stores.ensureTables();
    const replayed = await guardReplay(
      deps.stores.nonces,
      turn.marks,
      turn.idempotencyKey,
      scope,
      turn.dryRun,
    );
    if (replayed) return replayed;
  } catch (error) {
    return failureResponse(error, scope);
  }
  const command = parseChatCommand(turn.text);
  if (command.kind === 'help') return say(CHAT_HELP, false);
  if (command.kind === 'invalid') return say(`${command.message}\n${CHAT_HELP}`, false);

  let connectionId;
  try {
    connectionId = parseConnectionId(command.connectionId);
  } catch (error) {
    if (!(error instanceof InvalidResourceIdError)) throw error;
    return say(`That connection id is not valid: ${error.message}. (request ${scope.requestId})`, false);
  }

  try {
    if (command.kind === 'status') {
      // Only callers some policy rule lists for this cluster may see its connections, and only they see the
      // answer. Decided before the read, so nobody else can probe clusters through the app's identity.
      const probe: ApprovalRequest = {
        connectionId: command.connectionId,
        decision: 'Rejected',
        approver: turn.caller.id,
      };
      if (deps.pipeline.policyGate?.(probe, turn.caller)) {
        return say(
          `You are not allowed to act on this cluster, so its connections are not shown. (request ${scope.requestId})`,
          false,
        );
      }
      const current = await deps.pipeline.arm.getConnection(connectionId, {
        requestId: scope.requestId,
        correlationId: deps.newId(),
        deadline: deps.now() + turn.deadlineMs,
        logger: scope.logger,
      });
      return say(chatStatusText(current.value, scope.requestId), false);
    }
    const request: ApprovalRequest = {
      connectionId: command.connectionId,
      decision: command.decision,
      approver: turn.caller.id,
    };
    if (command.reason) request.description = command.reason;
    return await handleApproval(deps, {
      source: turn.source,
      scope,
      caller: turn.caller,
      request,
      connectionId,
      dryRun: turn.dryRun,
      deadlineMs: turn.deadlineMs,
      idempotencyKey: turn.idempotencyKey,
      render: (handled) => {
        const { text, ok } = chatOutcomeText(handled, scope.requestId);
        return say(text, ok);
      },
    });
  } catch (error) {
    const { problem } = failureToProblem(error, scope.requestId);
    scope.logger.error('request.failed', {
      status: problem.status,
      error: error instanceof Error ? error.name : 'unknown',
    });
    return say(`Not done: ${problem.detail} (request ${scope.requestId})`, false);
  }
}
