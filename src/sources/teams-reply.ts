import type { RouteResponse } from '../http/route-types.js';
import type { Handled } from '../model/outcome.js';
import { chatReply } from './chat-reply.js';
import { teamsMessage } from './teams.js';

/**
 * An outgoing webhook can answer only in its own reply: a late outcome goes to the channel of the team's
 * Workflows webhook, where the operator set one up.
 */
const LATER_AT = "in the channel of the team's approvals workflow, where one is set up";

/** The Teams outgoing webhook's answer: `{ type: 'message', textFormat: 'plain', text }`, within Teams' five seconds. */
export const teamsReply = (handled: Handled): RouteResponse =>
  chatReply(handled, teamsMessage, 'HMAC', LATER_AT);
