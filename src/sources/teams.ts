import type { Source } from '../approval/source.js';
import type { AuthDeps } from '../auth/authenticate.js';
import { authenticateTeams } from '../auth/authenticate.js';
import { activityTimestampProblem } from '../auth/teams-signature.js';
import type { CallerIdentity } from '../model/approval.js';
import { Refusal } from '../model/refusal.js';
import { chatIntent, parseChatCommand, teamsCommandText } from './chat-command.js';
import { parsePayload } from './payload.js';
import type { Validation } from './schema-validator.js';

/** The Activity fields this route reads (see the schema). */
export interface TeamsActivity {
  type: 'message';
  id?: string;
  timestamp?: string;
  text: string;
  from?: { id: string; name?: string; aadObjectId?: string };
  conversation?: { id?: string };
  channelData?: { tenant?: { id?: string } };
}

/**
 * A message's id is unique only within its conversation (a channel message's id is its creation time in
 * milliseconds), so two channels' messages can share one: the delivery is the pair. Both are signed.
 */
function deliveryIdOf(activity: TeamsActivity): string | undefined {
  if (!activity.id) return undefined;
  const conversation = activity.conversation?.id;
  return conversation ? `${conversation}|${activity.id}` : activity.id;
}

export type TeamsValidator = (data: unknown) => Validation<TeamsActivity>;

/** Teams waits 5 s for the reply; the ARM calls get what is left after authentication, storage and margin. */
export const TEAMS_ARM_DEADLINE_MS = 3_500;

/** The approver is the person who wrote the message, as Teams identifies them (Entra object id). */
export function teamsCaller(activity: TeamsActivity): CallerIdentity {
  // Without `from` there is no person to name: policy sees an anonymous Teams caller and lists it nowhere.
  const caller: CallerIdentity = {
    source: 'teams',
    scheme: 'teams-hmac',
    id: activity.from?.aadObjectId ?? activity.from?.id ?? 'unknown-teams-user',
  };
  if (activity.id) caller.deliveryId = activity.id;
  if (activity.from?.name) caller.name = activity.from.name;
  if (activity.channelData?.tenant?.id) caller.tenantId = activity.channelData.tenant.id;
  return caller;
}

/**
 * An outgoing webhook's reply. Teams reads a message's text as Markdown with HTML by default, where
 * `<connection-id>` in the help would vanish as an unknown tag and a reason typed with `[text](url)` would become a
 * link; `plain` shows the text as it is, line breaks included.
 */
export function teamsMessage(text: string): { type: 'message'; textFormat: 'plain'; text: string } {
  return { type: 'message', textFormat: 'plain', text };
}

/**
 * `POST /api/approvals/teams`: an @mention of the outgoing webhook. The HMAC covers the body only, so freshness
 * comes from the Activity's own timestamp and uniqueness from its id; a message without both may still get the
 * help text, but is never acted on, since nothing would stop it being replayed later.
 */
export function teamsSource(auth: AuthDeps, validate: TeamsValidator, deadlineMs: number): Source {
  return {
    name: 'teams',
    accepts: 'json',
    query: ['dryRun'],
    deadlineMs,
    authenticate: (request) => authenticateTeams(auth, request),
    admit(body, { marks }, now) {
      const activity = parsePayload(body, validate, 'Teams Activity');
      const stale = activity.timestamp ? activityTimestampProblem(activity.timestamp, now) : undefined;
      if (stale)
        throw new Refusal('unauthenticated', `${stale} Send the message again.`, {
          reason: 'stale-activity',
        });
      const caller = teamsCaller(activity);
      const intent = chatIntent(parseChatCommand(teamsCommandText(activity.text)), caller);
      if (intent.kind !== 'answer' && (!activity.id || !activity.timestamp)) {
        throw new Refusal(
          'unauthenticated',
          'The Activity has no id and timestamp, which Teams sends with every message; without them it could be replayed, so it is not acted on. Send the command from Teams.',
          { reason: 'activity-without-id-and-timestamp' },
        );
      }
      const id = deliveryIdOf(activity);
      const delivery = id ? { scope: 'teams:activity-id', id, retries: false } : undefined;
      return {
        caller,
        marks: delivery ? { ...marks, delivery } : marks,
        intent:
          intent.kind === 'decide' && id
            ? { ...intent, deliveryKey: id, report: { kind: 'teams' as const } }
            : intent,
      };
    },
  };
}
