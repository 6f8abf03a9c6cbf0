import type { SecretProvider } from '../secrets/secret-provider.js';
import type { Outbound } from './outbound.js';
import { ReportError } from './outbound.js';

/**
 * Slack's Web API for discovery: `chat.postMessage` to ask a channel (Block Kit, with Approve and Reject buttons
 * whose clicks come back on the signed interactivity route), `chat.update` to close the message, and thread
 * replies for reminders. The bot token lives in Key Vault; the API's base URL is configuration (the sandbox).
 */

export interface SlackApiOptions {
  apiUrl: string;
  tokenSecretName: string;
  secrets: SecretProvider;
  http: Outbound;
}

export interface SlackMessage {
  channel: string;
  text: string;
  blocks?: unknown[];
  /** Reply in the thread of this message. */
  threadTs?: string;
  /** Replace this message (chat.update). */
  ts?: string;
}

export type SlackPoster = (message: SlackMessage) => Promise<{ channel: string; ts: string }>;

export function createSlackPoster(options: SlackApiOptions): SlackPoster {
  return async (message) => {
    const [token] = await options.secrets.getSecretValues(options.tokenSecretName);
    if (!token) throw new ReportError(`no Slack bot token in Key Vault (${options.tokenSecretName})`);
    const method = message.ts === undefined ? 'chat.postMessage' : 'chat.update';
    const body = {
      channel: message.channel,
      text: message.text,
      ...(message.blocks ? { blocks: message.blocks } : {}),
      ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
      ...(message.ts ? { ts: message.ts } : {}),
    };
    const response = await options.http({
      method: 'POST',
      url: `${options.apiUrl}/${method}`,
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      timeoutMs: 10_000,
    });
    // Slack answers 200 with {"ok": false, "error": …} for refusals.
    const answer = parse(response.text);
    if (response.status !== 200 || answer.ok !== true || typeof answer.ts !== 'string') {
      throw new ReportError(
        `Slack ${method} failed: ${String(answer.error ?? response.status)}`,
        // Slack refuses with 200 and `ok: false`; any other status (a 429 above all) is the answer's own.
        response.status === 200 ? undefined : response.status,
        response.retryAfterMs,
      );
    }
    return { channel: typeof answer.channel === 'string' ? answer.channel : message.channel, ts: answer.ts };
  };
}

function parse(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
