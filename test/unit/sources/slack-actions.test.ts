import { describe, expect, it } from 'vitest';
import type { Authenticated, AuthDeps } from '../../../src/auth/authenticate.js';
import { isRefusal } from '../../../src/model/refusal.js';
import type { SlackBlockActions } from '../../../src/sources/slack-actions.js';
import { validateSlackBlockActions } from '../../../src/generated/source-validators.js';
import { slackActionsSource } from '../../../src/sources/slack-actions.js';
import { validatorOf } from '../../../src/sources/schema-validator.js';

/**
 * A button click as Slack posts it: form-encoded, one `payload` field of JSON. What the route reads from it, and
 * every way a careless or hostile payload is refused before anything is decided.
 */

const CONNECTION =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kv1/privateEndpointConnections/pe1';
const RESPONSE_URL = 'https://hooks.slack.com/actions/T0001/1234/abcdef';
const validate = validatorOf<SlackBlockActions>(validateSlackBlockActions);
const source = slackActionsSource({ now: Date.now } as unknown as AuthDeps, validate, 2_000, [
  'hooks.slack.com',
]);
const authenticated: Authenticated = {
  caller: { source: 'slack', scheme: 'slack-v0', id: 'slack-signing-secret' },
  marks: {},
};

function click(overrides: Record<string, unknown> = {}, action: Record<string, unknown> = {}): unknown {
  return {
    type: 'block_actions',
    user: { id: 'U0APPROVER', username: 'bob', team_id: 'T0001' },
    team: { id: 'T0001', domain: 'contoso' },
    trigger_id: '123.456.abc',
    response_url: RESPONSE_URL,
    actions: [{ type: 'button', action_id: 'approve', value: CONNECTION, block_id: 'b', action_ts: '1' }],
    ...overrides,
    ...(Object.keys(action).length
      ? { actions: [{ type: 'button', action_id: 'approve', value: CONNECTION, ...action }] }
      : {}),
  };
}

const action = () => ({ type: 'button', action_id: 'approve', value: CONNECTION });
const form = (payload: unknown): Uint8Array =>
  new TextEncoder().encode(new URLSearchParams({ payload: JSON.stringify(payload) }).toString());

const admit = (body: Uint8Array) => source.admit(body, authenticated, Date.now());

describe('a button click', () => {
  it('decides as the clicking user, reported to its response_url replacing the message', () => {
    const { caller, intent } = admit(form(click()));
    expect(caller).toMatchObject({
      source: 'slack',
      scheme: 'slack-v0',
      id: 'U0APPROVER',
      name: 'bob',
      tenantId: 'T0001',
    });
    expect(intent).toMatchObject({
      kind: 'decide',
      request: { connectionId: CONNECTION, decision: 'Approved', approver: 'U0APPROVER' },
      deliveryKey: '123.456.abc',
      report: { kind: 'slack', responseUrl: RESPONSE_URL, replaceOriginal: true },
    });
  });

  it('carries the private endpoint a button discovery posted was shown for; a bare id (earlier builds) none', () => {
    const endpoint = '/subscriptions/1/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe-app';
    const value = JSON.stringify({ connectionId: CONNECTION, privateEndpointId: endpoint });
    const { intent } = admit(form(click({}, { value })));
    expect(intent).toMatchObject({
      kind: 'decide',
      request: { connectionId: CONNECTION, privateEndpointId: endpoint },
    });
    const bare = admit(form(click())).intent;
    expect(bare.kind === 'decide' && 'privateEndpointId' in bare.request).toBe(false);
  });

  it('Reject rejects', () => {
    const { intent } = admit(form(click({}, { action_id: 'reject' })));
    expect(intent).toMatchObject({ kind: 'decide', request: { decision: 'Rejected' } });
  });

  it('is acknowledged at once and continues from the queue', () => {
    expect(source.respondAsync).toBe(true);
    expect(source.query).toEqual([]);
  });
});

describe('refused before anything is decided', () => {
  const refusedWith = (body: Uint8Array): string => {
    try {
      admit(body);
    } catch (error) {
      expect(isRefusal(error)).toBe(true);
      return (error as { kind: string }).kind;
    }
    throw new Error('expected a refusal');
  };
  const encode = (text: string) => new TextEncoder().encode(text);

  it.each([
    ['no payload field', encode('type=block_actions')],
    ['two payload fields', encode(`payload=${encodeURIComponent('{}')}&payload=${encodeURIComponent('{}')}`)],
    ['a payload that is not JSON', encode('payload=%7Bnot-json')],
    [
      'duplicate JSON keys',
      encode(`payload=${encodeURIComponent('{"type":"block_actions","type":"view_submission"}')}`),
    ],
    ['a view submission', form(click({ type: 'view_submission' }))],
    ['two actions at once', form(click({ actions: [action(), action()] }))],
    ['an action of another app', form(click({}, { action_id: 'delete_everything' }))],
    ['a select menu instead of a button', form(click({}, { type: 'static_select' }))],
    ['a user id that is not Slack’s', form(click({ user: { id: 'bob; drop' } }))],
    ['a value that is not a connection id', form(click({}, { value: '/subscriptions/x' }))],
    ['a value of broken JSON', form(click({}, { value: '{"connectionId":' }))],
    [
      'a value whose endpoint is not text',
      form(click({}, { value: `{"connectionId":"${CONNECTION}","privateEndpointId":1}` })),
    ],
    ['a value naming no connection', form(click({}, { value: '{"privateEndpointId":"/x"}' }))],
    ['no response_url', form({ ...(click() as object), response_url: undefined })],
    ['a response_url off the allow-list', form(click({ response_url: 'https://attacker.example/x' }))],
    ['a response_url over http', form(click({ response_url: 'http://hooks.slack.com/actions/x' }))],
  ])('%s', (_what, body) => {
    expect(['invalid-request', 'invalid-json', 'invalid-resource-id']).toContain(refusedWith(body));
  });
});
