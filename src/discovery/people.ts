import type { Logger } from '../logger.js';
import type { ConnectionState } from '../model/approval.js';
import type { ConnectionId } from '../model/resource-id.js';
import { formatConnectionId, formatResourceId, resourceName } from '../model/resource-id.js';
import type { ServiceNowClient } from '../report/servicenow-work-note.js';
import type { SlackPoster } from '../report/slack-api.js';
import { slackLiteral } from '../report/platform-text.js';
import { ReportError } from '../report/outbound.js';
import { visible } from '../model/visible-text.js';
import type { Asked, Discovered } from '../store/discovery-store.js';

/**
 * Asking people about a connection no rule trusts, on every channel configured: a ServiceNow record that names
 * the connection where the ServiceNow route reads it (approving the record calls back into this app), a Slack
 * message with Approve / Reject buttons (a click arrives on the signed interactivity route, as the clicking user),
 * and a Teams message with the exact command to send. Reminders and closing go back to the same places.
 */

export interface PeopleDeps {
  servicenow?: { client: ServiceNowClient; fields: Record<string, string> };
  slack?: { post: SlackPoster; channel: string };
  teams?: (text: string) => Promise<'posted' | 'not-configured'>;
  logger: Logger;
}

export interface People {
  /**
   * Asks on every configured channel not in `options.already`; answers where it has now been asked (with
   * `already`). Throws when no channel has it (the next scan asks again).
   */
  ask(target: ConnectionId, state: ConnectionState, options: AskOptions): Promise<Asked>;
  /** Whether a configured channel has not been asked yet (it failed, or was configured later). */
  missing(asked: Asked | undefined): boolean;
  /**
   * `told`: a channel took the reminder; `failed`: every channel tried failed (the next scan reminds again);
   * `nowhere`: none of the channels the row was asked on is set up any more.
   */
  remind(row: Discovered): Promise<'told' | 'failed' | 'nowhere'>;
  close(row: Discovered, why: string): Promise<void>;
}

export interface AskOptions {
  /** Where it was asked before. */
  already?: Asked;
  /** Hears each time a channel takes it, so that can be kept before the next channel is asked. */
  taken?: (asked: Asked) => Promise<void>;
  /**
   * Names this request for people wherever a channel can find it again: ServiceNow keeps it in the record's
   * `correlation_id`, so a second ask (the first's answer lost) finds that record instead of making another.
   */
  correlationId: string;
}

/** The template placeholders of a connection (DISCOVERY_SERVICENOW_FIELDS and the chat texts). */
export function placeholders(target: ConnectionId, state: ConnectionState): Record<string, string> {
  return {
    connectionId: formatConnectionId(target),
    connection: target.connection,
    resource: resourceName(target),
    resourceId: formatResourceId(target),
    type: target.provider.type,
    resourceGroup: target.resourceGroup,
    subscription: target.subscriptionId,
    privateEndpointId: visible(state.privateEndpointId ?? '(unknown)'),
    // The consumer wrote it: shown, but bounded and with nothing hidden in it.
    description: visible((state.description ?? '').slice(0, DESCRIPTION_SHOWN)),
  };
}

const DESCRIPTION_SHOWN = 280;

export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

export function createPeople(deps: PeopleDeps): People {
  return {
    async ask(target, state, { already = {}, taken, correlationId }) {
      const values = placeholders(target, state);
      const asked: Asked = { ...already };
      let known = Object.keys(asked).length;
      const progress = async (): Promise<void> => {
        if (Object.keys(asked).length === known) return;
        known = Object.keys(asked).length;
        await taken?.({ ...asked });
      };
      await attempt(deps, 'servicenow', async () => {
        if (!deps.servicenow || asked.servicenow) return;
        const fields = Object.fromEntries(
          Object.entries(deps.servicenow.fields).map(([field, template]) => [field, fill(template, values)]),
        );
        asked.servicenow = { sysId: await deps.servicenow.client.createRecord(fields, correlationId) };
      });
      await progress();
      await attempt(deps, 'slack', async () => {
        if (!deps.slack || asked.slack) return;
        asked.slack = await deps.slack.post({
          channel: deps.slack.channel,
          text: slackLiteral(askText(values)),
          blocks: askBlocks(values, state.privateEndpointId),
        });
      });
      await progress();
      await attempt(deps, 'teams', async () => {
        if (asked.teams) return;
        const text = `${askText(values)}\n\n${commands(values)}`;
        if (deps.teams && (await deps.teams(text)) === 'posted') {
          asked.teams = true;
        }
      });
      await progress();
      if (Object.keys(asked).length === 0) throw new Error('no channel could be asked');
      return asked;
    },
    missing(asked) {
      // Nobody asked yet: every channel is tried again, Teams too (its workflow URL may be in Key Vault by now).
      if (!wasAsked(asked))
        return deps.servicenow !== undefined || deps.slack !== undefined || deps.teams !== undefined;
      // Teams counts only once posted: with no workflow URL in Key Vault it is not configured, and not missing.
      return (
        (deps.servicenow !== undefined && !asked?.servicenow) || (deps.slack !== undefined && !asked?.slack)
      );
    },
    async remind(row) {
      const text = `Reminder: the private endpoint connection ${row.connectionId} is still Pending (first seen ${new Date(row.firstSeenAt).toISOString()}).`;
      const { told, tried } = await tell(deps, row, text, false);
      return told > 0 ? 'told' : tried > 0 ? 'failed' : 'nowhere';
    },
    async close(row, why) {
      await tell(deps, row, `Closed: the private endpoint connection ${row.connectionId} ${why}.`, true);
    },
  };
}

/** Tells every channel the row was asked on that is still set up: how many it tried, how many took it. */
async function tell(
  deps: PeopleDeps,
  row: Discovered,
  text: string,
  replace: boolean,
): Promise<{ told: number; tried: number }> {
  const { servicenow, slack } = row.asked ?? {};
  const count = { told: 0, tried: 0 };
  // `skipped`: the channel is not set up any more (a Teams workflow URL gone from Key Vault), so not tried.
  const send = (channel: string, go: () => Promise<'told' | 'skipped'>): Promise<void> =>
    attempt(deps, channel, async () => {
      count.tried += 1;
      if ((await go()) === 'skipped') count.tried -= 1;
      else count.told += 1;
    });
  const { servicenow: snow, slack: chat, teams } = deps;
  if (servicenow && snow)
    await send('servicenow', () => snow.client.workNote(servicenow.sysId, text).then(() => 'told'));
  if (slack && chat) {
    // Closing replaces the message (its buttons go); a reminder replies in its thread.
    const literal = slackLiteral(text);
    const where = replace ? { ts: slack.ts, blocks: [section(literal)] } : { threadTs: slack.ts };
    await send('slack', () =>
      chat.post({ channel: slack.channel, text: literal, ...where }).then(() => 'told'),
    );
  }
  if (row.asked?.teams && teams)
    await send('teams', async () => ((await teams(text)) === 'posted' ? 'told' : 'skipped'));
  return count;
}

/** One channel failing does not stop the others; it is logged with what failed. */
async function attempt(deps: PeopleDeps, channel: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    deps.logger.warn('discovery.ask-failed', {
      channel,
      error: error instanceof Error ? error.message : 'failed',
      // A platform's rate limit (Slack's 429) says when to ask again; the next scan asks anyway. A field left
      // undefined is not written to the line.
      ...(error instanceof ReportError ? { status: error.status, retryAfterMs: error.retryAfterMs } : {}),
    });
  }
}

/** Whether any channel took the request. */
export function wasAsked(asked: Asked | undefined): boolean {
  return asked !== undefined && Object.keys(asked).length > 0;
}

function askText(v: Record<string, string>): string {
  const request = v.description ? ` Its request: "${v.description}".` : '';
  return `A private endpoint connection waits for a decision: ${v.connection} on ${v.type} ${v.resource} (resource group ${v.resourceGroup}), from ${v.privateEndpointId}.${request}`;
}

function commands(v: Record<string, string>): string {
  return `Send "approve ${v.connectionId}" or "reject ${v.connectionId} <reason>" to the approver.`;
}

function askBlocks(v: Record<string, string>, privateEndpointId: string | undefined): unknown[] {
  // The endpoint shown goes with the click: a connection made again for another endpoint is not decided by it.
  const value =
    privateEndpointId === undefined
      ? v.connectionId
      : JSON.stringify({ connectionId: v.connectionId, privateEndpointId });
  const button = (text: string, actionId: string, style: string) => ({
    type: 'button',
    text: { type: 'plain_text', text },
    action_id: actionId,
    value,
    style,
  });
  return [
    section(slackLiteral(askText(v))),
    {
      type: 'actions',
      block_id: 'private-link-approver',
      elements: [button('Approve', 'approve', 'primary'), button('Reject', 'reject', 'danger')],
    },
  ];
}

// verbatim: Slack must not turn a caller's text into links, channel names or mentions (platform-text escapes the
// control characters; this stops the rest of Slack's own parsing).
const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text, verbatim: true } });
