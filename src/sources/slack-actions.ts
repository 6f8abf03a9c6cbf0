import type { Source } from '../approval/source.js';
import type { AuthDeps } from '../auth/authenticate.js';
import { authenticateSlack } from '../auth/authenticate.js';
import { decodeUtf8, parseForm } from '../http/body.js';
import type { CallerIdentity } from '../model/approval.js';
import { Refusal } from '../model/refusal.js';
import { visible } from '../model/visible-text.js';
import { allowedResponseUrl } from '../report/response-url.js';
import { parsePayload, readConnectionId } from './payload.js';
import type { Validation } from './schema-validator.js';

/** The members of a `block_actions` payload this route reads (the schema holds the rules). */
export interface SlackBlockActions {
  type: 'block_actions';
  user: { id: string; username?: string; name?: string; team_id?: string };
  team?: { id?: string } | null;
  trigger_id: string;
  response_url: string;
  actions: [{ type: 'button'; action_id: 'approve' | 'reject'; value: string }];
}

/**
 * `POST /api/approvals/slack/interactive`: a click on the Approve or Reject button of a message discovery posted.
 * Slack posts it form-encoded (one field, `payload`, holding JSON), signed with the same signing secret as slash
 * commands. The decision runs as the clicking user, so policy must list them (`source: slack`). Slack shows
 * nothing of the answer's body: it is acknowledged at once and the outcome goes to the click's `response_url`.
 */
export function slackActionsSource(
  auth: AuthDeps,
  validate: (data: unknown) => Validation<SlackBlockActions>,
  deadlineMs: number,
  responseUrlHosts: readonly string[],
): Source {
  return {
    name: 'slack',
    accepts: 'form',
    query: [],
    deadlineMs,
    respondAsync: true,
    authenticate: (request) => authenticateSlack(auth, request),
    admit(body, authenticated) {
      const click = parsePayload(payloadField(body), validate, 'Slack block_actions');
      const [action] = click.actions;
      const button = buttonValue(action.value);
      const connectionId = readConnectionId(button.connectionId, '/actions/0/value');
      const caller = clickCaller(click);
      const responseUrl = allowedResponseUrl(click.response_url, responseUrlHosts);
      if (responseUrl === undefined) {
        throw new Refusal('invalid-request', 'The response_url is not on SLACK_RESPONSE_URL_HOSTS.', {
          errors: [{ pointer: '/response_url', message: 'is not an allowed https URL' }],
          reason: 'response-url',
        });
      }
      const decision = action.action_id === 'approve' ? 'Approved' : 'Rejected';
      const who = visible(click.user.username ?? click.user.id);
      return {
        caller,
        marks: authenticated.marks,
        intent: {
          kind: 'decide',
          // The connection, and the endpoint shown when the button says which.
          request: {
            ...button,
            decision,
            approver: click.user.id,
            description: `${decision} in Slack by ${who}`,
          },
          connectionId,
          deliveryKey: click.trigger_id,
          report: { kind: 'slack', responseUrl, replaceOriginal: true },
        },
      };
    },
  };
}

/**
 * A button's value: `{"connectionId", "privateEndpointId"}` as discovery writes it (the endpoint people were
 * shown), or the bare connection id of a message an earlier build posted.
 */
export function buttonValue(value: string): { connectionId: string; privateEndpointId?: string } {
  if (!value.startsWith('{')) return { connectionId: value };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  const { connectionId, privateEndpointId } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof connectionId !== 'string' || !['string', 'undefined'].includes(typeof privateEndpointId)) {
    throw new Refusal('invalid-request', 'The button value is not one this app posted.', {
      errors: [{ pointer: '/actions/0/value', message: 'is not {"connectionId", "privateEndpointId"}' }],
      reason: 'button-value',
    });
  }
  return typeof privateEndpointId === 'string' ? { connectionId, privateEndpointId } : { connectionId };
}

function clickCaller(click: SlackBlockActions): CallerIdentity {
  const caller: CallerIdentity = {
    source: 'slack',
    scheme: 'slack-v0',
    id: click.user.id,
    deliveryId: click.trigger_id,
  };
  const name = click.user.username ?? click.user.name;
  const teamId = click.user.team_id ?? click.team?.id;
  if (name) caller.name = name;
  if (teamId) caller.tenantId = teamId;
  return caller;
}

/** The one `payload` field of the form, as the bytes of its JSON (parsed strictly, like every other body). */
function payloadField(body: Uint8Array): Uint8Array {
  const text = decodeUtf8(body);
  const form = text === undefined ? undefined : parseForm(text);
  const values = form === undefined ? [] : form.getAll('payload');
  if (values.length !== 1 || values[0] === undefined) {
    throw new Refusal('invalid-request', 'The body is not a Slack interactivity form: one "payload" field.', {
      errors: [
        {
          pointer: form === undefined ? '' : '/payload',
          message:
            form === undefined
              ? 'is not valid percent-encoded UTF-8'
              : values.length > 1
                ? 'is repeated'
                : 'is required',
        },
      ],
      reason: 'form',
    });
  }
  return new TextEncoder().encode(values[0]);
}
