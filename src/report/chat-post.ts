import type { SecretProvider } from '../secrets/secret-provider.js';
import type { Outbound } from './outbound.js';
import { ReportError } from './outbound.js';
import { slackLiteral, teamsLiteral } from './platform-text.js';

/** Late outcomes for chat: the Slack command's `response_url`, or the Teams Workflows webhook in Key Vault. */

/**
 * A Slack message, as a command's answer or a post to its `response_url`: outcomes go to the channel; errors, help
 * and status only to the person who typed the command. The text is literal: a reason typed with `<!channel>` must
 * not page a channel, and `<connection-id>` in the help must show.
 */
export function slackMessage(text: string, ok: boolean): { response_type: string; text: string } {
  return { response_type: ok ? 'in_channel' : 'ephemeral', text: slackLiteral(text) };
}

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
    body: JSON.stringify({ ...slackMessage(text, ok), replace_original: replace }),
    timeoutMs: TIMEOUT_MS,
  });
  if (response.status !== 200)
    throw new ReportError(
      `Slack's response_url answered ${response.status}`,
      response.status,
      response.retryAfterMs,
    );
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
    // TextBlock text is Markdown: whatever the text quotes (a consumer's request message, a reason) stays literal.
    // One block per line: in a TextBlock a lone line break is Markdown's soft break, and the lines would run on.
    body: text.split('\n').map((line) => ({ type: 'TextBlock', text: teamsLiteral(line), wrap: true })),
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
    throw new ReportError(
      `the Teams workflow answered ${response.status}`,
      response.status,
      response.retryAfterMs,
    );
  return 'posted';
}
