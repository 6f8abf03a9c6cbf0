import type { RouteResponse } from '../http/route-types.js';
import type { Handled } from '../model/outcome.js';
import { chatReply } from './chat-reply.js';
import { teamsMessage } from './teams.js';

/** The Teams outgoing webhook's answer: `{ type: 'message', textFormat: 'plain', text }`, within Teams' five seconds. */
export const teamsReply = (handled: Handled): RouteResponse => chatReply(handled, teamsMessage, 'HMAC');
