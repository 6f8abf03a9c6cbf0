import { randomBytes, randomUUID } from 'node:crypto';
import { signSlack } from '../../src/auth/slack-signature.js';
import { standardWebhookHeaders } from '../../src/auth/standard-webhooks.js';
import type { DevSecrets } from './dev-secrets.js';
import type { PlatformStandIns } from './platforms.js';

/**
 * What people do with the requests discovery made, played by the sandbox: a ServiceNow record approved (the
 * business rule then posts the change to the app's ServiceNow route, signed as docs/servicenow.md sets it up),
 * and a click on a Slack message's Approve or Reject button (Slack then posts a `block_actions` payload to the
 * app's interactivity route, signed with the app's signing secret). The app's base URL is set once it listens.
 */

export interface CallbackAnswer {
  status: number;
  body: string;
}

export interface ClickOptions {
  action: 'approve' | 'reject';
  userId: string;
  userName?: string;
  teamId?: string;
}

export interface PeopleCallbacks {
  /** The app's base URL (`http://127.0.0.1:7071`); callbacks fail until it is set. */
  setApp(url: string): void;
  /** Approves (or rejects) a record discovery created; the app's answer to the business rule's post. */
  decideRecord(
    sysId: string,
    approval?: 'approved' | 'rejected',
    approvedBy?: string,
  ): Promise<CallbackAnswer>;
  /** Clicks a button of a message discovery posted; the app's answer to Slack's interactivity post. */
  click(ts: string, options: ClickOptions): Promise<CallbackAnswer>;
  /** Sends the last click again, byte for byte (a captured request replayed). */
  replayLastClick(): Promise<CallbackAnswer>;
}

/** Where the ServiceNow route reads the connection id; discovery's records must carry it there. */
const CONNECTION_FIELD = 'u_private_endpoint_connection_id';

export function createPeopleCallbacks(parts: {
  platforms: PlatformStandIns;
  secrets: () => DevSecrets;
  /** A fresh `response_url` on the sandbox (what Slack gives each interaction). */
  responseUrl: () => string;
}): PeopleCallbacks {
  let app: string | undefined;
  let lastClick: { body: string; headers: Record<string, string> } | undefined;
  const post = async (path: string, body: string, headers: Record<string, string>) => {
    if (app === undefined) throw new Error('the sandbox does not know where the app listens (setApp)');
    const response = await fetch(`${app}${path}`, { method: 'POST', headers, body });
    return { status: response.status, body: await response.text() };
  };
  return {
    setApp(url) {
      app = url.replace(/\/+$/, '');
    },
    async decideRecord(sysId, approval = 'approved', approvedBy = 'cab.approver@contoso.com') {
      const record = parts.platforms.records().find((r) => r.sysId === sysId);
      const connectionId = record?.fields[CONNECTION_FIELD];
      if (record === undefined || connectionId === undefined)
        throw new Error(`no ServiceNow record ${sysId} holding ${CONNECTION_FIELD}`);
      const body = JSON.stringify({
        sys_id: record.sysId,
        number: record.number,
        state: 'implement',
        approval,
        approved_by: approvedBy,
        u_private_endpoint_connection_id: connectionId,
        reason: `${approval === 'approved' ? 'Approved' : 'Rejected'} on ${record.number}`,
      });
      const headers = standardWebhookHeaders({
        secret: parts.secrets().servicenow,
        webhookId: `msg_${randomUUID()}`,
        timestamp: Math.floor(Date.now() / 1000),
        body,
      });
      return post('/api/approvals/servicenow', body, { ...headers, 'content-type': 'application/json' });
    },
    async click(ts, options) {
      const message = parts.platforms.slackMessages().find((m) => m.ts === ts);
      if (message === undefined) throw new Error(`no Slack message ${ts}`);
      const payload = blockActions(message, options, parts.responseUrl());
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': signSlack({ signingSecret: parts.secrets().slack, timestamp, body }),
      };
      lastClick = { body, headers };
      return post('/api/approvals/slack/interactive', body, headers);
    },
    async replayLastClick() {
      if (lastClick === undefined) throw new Error('no click to replay');
      return post('/api/approvals/slack/interactive', lastClick.body, lastClick.headers);
    },
  };
}

/** A `block_actions` payload as Slack sends it for a button click in a message (the fields the app reads, and more). */
function blockActions(
  message: { channel: string; ts: string; text: string; blocks?: unknown },
  options: ClickOptions,
  responseUrl: string,
): unknown {
  const button = findButton(message.blocks, options.action);
  const teamId = options.teamId ?? 'T0SANDBOX';
  return {
    type: 'block_actions',
    user: {
      id: options.userId,
      username: options.userName ?? options.userId.toLowerCase(),
      name: options.userName ?? options.userId.toLowerCase(),
      team_id: teamId,
    },
    api_app_id: 'A0SANDBOX',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
    trigger_id: `${Date.now()}.${randomBytes(6).readUIntBE(0, 6)}.${randomBytes(8).toString('hex')}`,
    team: { id: teamId, domain: 'sandbox' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: message.channel, name: 'private-link-approvals' },
    message: { type: 'message', ts: message.ts, text: message.text, blocks: message.blocks },
    state: { values: {} },
    response_url: responseUrl,
    actions: [
      {
        action_id: options.action,
        block_id: 'private-link-approver',
        text: { type: 'plain_text', text: options.action === 'approve' ? 'Approve' : 'Reject', emoji: true },
        value: button?.value ?? '',
        style: options.action === 'approve' ? 'primary' : 'danger',
        type: 'button',
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

function findButton(blocks: unknown, actionId: string): { value: string } | undefined {
  if (!Array.isArray(blocks)) return undefined;
  for (const block of blocks as { elements?: { action_id?: string; value?: string }[] }[]) {
    const found = block.elements?.find((e) => e.action_id === actionId);
    if (found?.value !== undefined) return { value: found.value };
  }
  return undefined;
}

/**
 * The sandbox admin paths that play people, for `npm start` users with curl:
 * `GET /_sandbox/servicenow/records`, `POST /_sandbox/servicenow/records/{sys_id}/approve` (or `/reject`),
 * `GET /_sandbox/slack/messages`, `POST /_sandbox/slack/messages/{ts}/click` with `{"action","userId"}`.
 * Undefined when the path is not one of them.
 */
export async function peopleAdmin(
  callbacks: PeopleCallbacks,
  platforms: PlatformStandIns,
  route: string,
  method: string,
  text: string,
): Promise<{ status: number; body: unknown } | undefined> {
  if (route === '/_sandbox/servicenow/records' && method === 'GET')
    return { status: 200, body: { value: platforms.records() } };
  if (route === '/_sandbox/slack/messages' && method === 'GET')
    return { status: 200, body: { value: platforms.slackMessages() } };
  const record = /^\/_sandbox\/servicenow\/records\/([0-9a-f]{32})\/(approve|reject)$/.exec(route);
  const click = /^\/_sandbox\/slack\/messages\/([0-9.]+)\/click$/.exec(route);
  if (method !== 'POST' || (record === null && click === null)) return undefined;
  try {
    const answer = record
      ? await callbacks.decideRecord(record[1] ?? '', record[2] === 'approve' ? 'approved' : 'rejected')
      : await callbacks.click(click?.[1] ?? '', clickOptions(text));
    return { status: 200, body: { app: answer } };
  } catch (error) {
    return { status: 400, body: { error: { message: error instanceof Error ? error.message : 'failed' } } };
  }
}

function clickOptions(text: string): ClickOptions {
  const value = (text === '' ? {} : JSON.parse(text)) as Partial<ClickOptions>;
  if (value.action !== 'approve' && value.action !== 'reject')
    throw new Error('the body must say {"action": "approve" | "reject", "userId": "U…"}');
  if (typeof value.userId !== 'string') throw new Error('the body must name the clicking user: "userId"');
  return { action: value.action, userId: value.userId };
}
