import type { RouteResponse } from '../http/route-types.js';
import type { Handled } from '../model/outcome.js';
import { chatReply } from './chat-reply.js';
import { slackMessage } from '../report/chat-post.js';

/** The slash command's answer: in the channel when something was done, to the sender alone otherwise. */
export const slackReply = (handled: Handled): RouteResponse =>
  chatReply(handled, slackMessage, 'Slack-Signature');
