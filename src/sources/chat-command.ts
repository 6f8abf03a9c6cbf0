import type { Intent } from '../approval/source.js';
import type { ApprovalRequest, CallerIdentity, Decision } from '../model/approval.js';
import { InvalidResourceIdError, parseConnectionId } from '../model/resource-id.js';
import { visible } from '../model/visible-text.js';

/** The chat grammar shared by Teams and Slack: `approve|reject <connection-id> [reason…]`, `status <id>`, `help`. */
export type ChatCommand =
  | { kind: 'decide'; decision: Decision; connectionId: string; reason?: string }
  | { kind: 'status'; connectionId: string }
  | { kind: 'help' }
  | { kind: 'invalid'; message: string };

export const CHAT_HELP = [
  'Commands:',
  '• approve <connection-id> [reason…] — approve a private endpoint connection',
  '• reject <connection-id> [reason…] — reject it',
  '• status <connection-id> — show its current state',
  '• help — this text',
  'A connection id looks like /subscriptions/<uuid>/resourceGroups/<rg>/providers/<Namespace>/<type>/<name>/privateEndpointConnections/<connection> (an AKS cluster, a storage account, a SQL server…).',
].join('\n');

const MAX_REASON = 512;

export function parseChatCommand(text: string): ChatCommand {
  const words = text
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  const [verb, target, ...rest] = words;
  if (verb === undefined) return { kind: 'help' };
  const command = verb.toLowerCase();
  if (command === 'help' || command === '?') return { kind: 'help' };
  if (command !== 'approve' && command !== 'reject' && command !== 'status') {
    return { kind: 'invalid', message: `Unknown command "${visible(verb.slice(0, 40))}".` };
  }
  if (target === undefined) {
    return { kind: 'invalid', message: `"${command}" needs a connection id.` };
  }
  if (command === 'status') {
    return rest.length === 0
      ? { kind: 'status', connectionId: target }
      : { kind: 'invalid', message: '"status" takes only a connection id.' };
  }
  const reason = rest.join(' ').slice(0, MAX_REASON);
  return {
    kind: 'decide',
    decision: command === 'approve' ? 'Approved' : 'Rejected',
    connectionId: target,
    ...(reason ? { reason } : {}),
  };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Decodes the few HTML entities chat platforms put into message text. */
export function decodeEntities(text: string): string {
  return text.replace(
    /&(amp|lt|gt|quot|apos|nbsp|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));/g,
    (whole, name: string, decimal?: string, hex?: string) => {
      const code =
        decimal !== undefined ? Number(decimal) : hex !== undefined ? Number.parseInt(hex, 16) : -1;
      if (code < 0) return ENTITIES[name] ?? '';
      // Only a character that shows is decoded: a control character, a lone surrogate or a number past Unicode's
      // last code point stays as written.
      const shows = code > 0x1f && (code < 0x7f || code > 0x9f) && (code < 0xd800 || code > 0xdfff);
      return shows && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    },
  );
}

/**
 * Teams message text: the bot's `<at>…</at>` mention removed, other markup dropped, entities decoded.
 * Teams wraps ids that look like links in `<a>` tags; their text is kept.
 */
export function teamsCommandText(html: string): string {
  // The mention as Teams writes it, `<at>Name</at>`, or with attributes (`<at id="0">`), as bot messages have it.
  const withoutMention = html.replace(/<at\b[^>]*>[\s\S]*?<\/at>/gi, ' ');
  const withoutTags = withoutMention.replace(/<\/?[a-z][^>]*>/gi, ' ');
  return decodeEntities(withoutTags).replace(/\s+/g, ' ').trim();
}

/**
 * What a chat command asks the app to do. The approver is the person who typed it, as the platform's signed
 * envelope names them; a command the app cannot act on is answered with the help text.
 */
export function chatIntent(command: ChatCommand, caller: CallerIdentity): Intent {
  if (command.kind === 'help') return { kind: 'answer', outcome: { kind: 'help' } };
  if (command.kind === 'invalid')
    return { kind: 'answer', outcome: { kind: 'help', problem: command.message } };
  let connectionId;
  try {
    connectionId = parseConnectionId(command.connectionId);
  } catch (error) {
    if (!(error instanceof InvalidResourceIdError)) throw error;
    const problem = `That connection id is not valid: ${visible(error.message)}.`;
    return { kind: 'answer', outcome: { kind: 'help', problem } };
  }
  const request: ApprovalRequest = {
    connectionId: command.connectionId,
    decision: command.kind === 'status' ? 'Rejected' : command.decision,
    approver: caller.id,
  };
  if (command.kind === 'status') return { kind: 'status', connectionId, request };
  if (command.reason) request.description = command.reason;
  return { kind: 'decide', request, connectionId };
}
