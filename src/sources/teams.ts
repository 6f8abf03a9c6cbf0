import type { CallerIdentity } from '../approval/model.js';
import teamsActivitySchema from './schemas/teams-activity.schema.json' with { type: 'json' };
import type { Validation } from './schema-validator.js';

export { teamsActivitySchema };

/** The Activity fields this route reads (see the schema). */
export interface TeamsActivity {
  type: 'message';
  id?: string;
  timestamp?: string;
  text: string;
  from?: { id: string; name?: string; aadObjectId?: string };
  channelData?: { tenant?: { id?: string } };
}

export type TeamsValidator = (data: unknown) => Validation<TeamsActivity>;

/** Teams waits 5 s for the reply; the ARM calls get what is left after authentication, storage and margin. */
export const TEAMS_ARM_DEADLINE_MS = 3_500;

/** An Activity older or newer than this is refused: it bounds how long a captured message could be replayed. */
export const TEAMS_TIMESTAMP_TOLERANCE_SECONDS = 300;

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

/** Teams renders a subset of Markdown in outgoing webhook replies. */
export function teamsReply(text: string): { type: 'message'; text: string } {
  return { type: 'message', text };
}

export function activityTimestampProblem(timestamp: string, now: number): string | undefined {
  const at = Date.parse(timestamp);
  if (Number.isNaN(at)) return 'The Activity timestamp is not a date.';
  const skew = (now - at) / 1000;
  if (skew > TEAMS_TIMESTAMP_TOLERANCE_SECONDS)
    return 'The Activity is too old to be accepted (over 5 minutes).';
  if (-skew > TEAMS_TIMESTAMP_TOLERANCE_SECONDS)
    return 'The Activity timestamp is in the future; check the clock.';
  return undefined;
}
