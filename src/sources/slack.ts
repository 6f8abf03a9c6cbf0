import { allowedResponseUrl } from '../report/response-url.js';
import type { Source } from '../approval/source.js';
import type { AuthDeps } from '../auth/authenticate.js';
import { authenticateSlack } from '../auth/authenticate.js';
import { decodeUtf8, parseForm } from '../http/body.js';
import type { CallerIdentity } from '../model/approval.js';
import { Refusal } from '../model/refusal.js';
import { chatIntent, decodeEntities, parseChatCommand } from './chat-command.js';

/** The slash command fields this route reads from Slack's form body. */
export interface SlackCommand {
  userId: string;
  userName?: string;
  teamId?: string;
  command: string;
  text: string;
  triggerId?: string;
  responseUrl?: string;
}

/** Slack waits 3 s for the reply; the ARM calls get what is left after authentication, storage and margin. */
export const SLACK_ARM_DEADLINE_MS = 2_000;

export type SlackForm =
  | { kind: 'ssl-check' }
  | { kind: 'command'; command: SlackCommand }
  | { kind: 'invalid'; errors: { pointer: string; message: string }[] };

const FIELD = /^[\s\S]{0,4000}$/;

/** Slack posts application/x-www-form-urlencoded; fields are read once each, repeated fields refused. */
export function parseSlackForm(text: string): SlackForm {
  const form = parseForm(text);
  if (form === undefined)
    return { kind: 'invalid', errors: [{ pointer: '', message: 'is not valid percent-encoded UTF-8' }] };
  const one = (name: string): string | undefined => {
    const all = form.getAll(name);
    return all.length === 1 ? all[0] : undefined;
  };
  if (one('ssl_check') === '1') return { kind: 'ssl-check' };
  const errors: { pointer: string; message: string }[] = [];
  for (const name of ['user_id', 'command', 'text']) {
    const values = form.getAll(name);
    if (values.length !== 1)
      errors.push({ pointer: `/${name}`, message: values.length ? 'is repeated' : 'is required' });
    else if (!FIELD.test(values[0] ?? '')) errors.push({ pointer: `/${name}`, message: 'is too long' });
  }
  const userId = one('user_id');
  if (userId !== undefined && !/^[A-Z0-9]{2,32}$/.test(userId))
    errors.push({ pointer: '/user_id', message: 'is not a Slack user id' });
  if (errors.length > 0) return { kind: 'invalid', errors };
  const command: SlackCommand = {
    userId: userId ?? '',
    command: one('command') ?? '',
    text: one('text') ?? '',
  };
  const userName = one('user_name');
  const teamId = one('team_id');
  const triggerId = one('trigger_id');
  const responseUrl = one('response_url');
  if (responseUrl) command.responseUrl = responseUrl;
  if (userName) command.userName = userName;
  if (teamId) command.teamId = teamId;
  if (triggerId) command.triggerId = triggerId;
  return { kind: 'command', command };
}

export function slackCaller(command: SlackCommand): CallerIdentity {
  const caller: CallerIdentity = { source: 'slack', scheme: 'slack-v0', id: command.userId };
  if (command.userName) caller.name = command.userName;
  if (command.teamId) caller.tenantId = command.teamId;
  if (command.triggerId) caller.deliveryId = command.triggerId;
  return caller;
}

/**
 * `POST /api/approvals/slack`: a slash command, form-encoded, signed with the app's signing secret. A late
 * outcome is posted to the command's `response_url`, only when that URL is https on an allowed host.
 */
export function slackSource(auth: AuthDeps, deadlineMs: number, responseUrlHosts: readonly string[]): Source {
  return {
    name: 'slack',
    accepts: 'form',
    query: ['dryRun'],
    deadlineMs,
    // Slack's own SDKs answer an ssl_check without checking a signature: it may come unsigned.
    isProbe: (request) => !request.header('x-slack-signature') && isBareSslCheck(request.body),
    authenticate: (request) => authenticateSlack(auth, request),
    admit(body, authenticated) {
      const { marks } = authenticated;
      const text = decodeUtf8(body);
      const form = text === undefined ? undefined : parseSlackForm(text);
      if (form === undefined || form.kind === 'invalid') {
        throw new Refusal('invalid-request', 'The body is not a Slack slash command form.', {
          errors: form?.errors ?? [{ pointer: '', message: 'body is not valid UTF-8' }],
          reason: 'form',
        });
      }
      if (form.kind === 'ssl-check') return { caller: authenticated.caller, marks, intent: ping };
      const caller = slackCaller(form.command);
      const intent = chatIntent(parseChatCommand(decodeEntities(form.command.text)), caller);
      const { triggerId } = form.command;
      const responseUrl = allowedResponseUrl(form.command.responseUrl, responseUrlHosts);
      if (intent.kind !== 'decide') return { caller, marks, intent };
      return {
        caller,
        marks,
        intent: {
          ...intent,
          ...(triggerId ? { deliveryKey: triggerId } : {}),
          ...(responseUrl ? { report: { kind: 'slack' as const, responseUrl } } : {}),
        },
      };
    },
  };
}

const ping = { kind: 'answer', outcome: { kind: 'ping' } } as const;

/** `ssl_check=1`, with at most Slack's `token` beside it: nothing a command could be read from. */
function isBareSslCheck(body: Uint8Array): boolean {
  const text = decodeUtf8(body);
  const form = text === undefined ? undefined : parseForm(text);
  if (form === undefined || form.getAll('ssl_check').join() !== '1') return false;
  return [...form.keys()].every((key) => key === 'ssl_check' || key === 'token');
}
