/**
 * Text that came from someone else (a consumer's request message on its private endpoint, resource names) is
 * shown on platforms that interpret markup. Each keeps it literal: no mention, link or HTML a consumer could plant
 * in a message the approvers trust.
 */

/** Slack mrkdwn: `&`, `<` and `>` are its control characters (`<!channel>`, `<https://…|text>`). */
export function slackLiteral(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Adaptive Card TextBlock markdown: `[text](url)` is a link; a space between the brackets breaks it. */
export function teamsLiteral(text: string): string {
  return text.replace(/\]\s*\(/g, '] (');
}

/** ServiceNow journal fields render `[code]…[/code]` as HTML: the tag is broken open so it stays text. */
export function servicenowLiteral(text: string): string {
  return text.replace(/\[(\/?)(code)\]/gi, '[$1 $2]');
}
