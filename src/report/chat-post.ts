import type { SecretProvider } from '../secrets/secret-provider.js';
import type { Outbound } from './outbound.js';
import { ReportError } from './outbound.js';
import { slackLiteral } from './platform-text.js';

/** Late outcomes for chat: the Slack command's `response_url`, or the Teams Workflows webhook in Key Vault. */

const TIMEOUT_MS = 10_000;

export async function postToSlack(
  http: Outbound,
  responseUrl: string,
  text: string,
  ok: boolean,
  replaceOriginal = false,
): Promise<void> {
  // A done outcome may replace the message clicked; anything else goes to the clicking person alone.
  const replace = ok && replaceOriginal;
  const response = await http({
    method: 'POST',
    url: responseUrl,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      response_type: ok ? 'in_channel' : 'ephemeral',
      replace_original: replace,
      text: slackLiteral(text),
    }),
    timeoutMs: TIMEOUT_MS,
  });
  if (response.status !== 200) throw new ReportError(`Slack's response_url answered ${response.status}`);
}

/** A Teams Workflows webhook ("When a Teams webhook request is received") takes an Adaptive Card message. */
export async function postToTeams(
  http: Outbound,
  secrets: SecretProvider,
  secretName: string,
  text: string,
): Promise<'posted' | 'not-configured'> {
  let url: string | undefined;
  try {
    [url] = await secrets.getSecretValues(secretName);
  } catch (error) {
    if (error instanceof Error && error.name === 'SecretNotFoundError') return 'not-configured';
    throw error;
  }
  if (url === undefined) return 'not-configured';
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    body: [{ type: 'TextBlock', text, wrap: true }],
  };
  const response = await http({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      type: 'message',
      attachments: [
        { contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card },
      ],
    }),
    timeoutMs: TIMEOUT_MS,
  });
  if (response.status < 200 || response.status >= 300)
    throw new ReportError(`the Teams workflow answered ${response.status}`);
  return 'posted';
}
