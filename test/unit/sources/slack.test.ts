import { describe, expect, it } from 'vitest';
import type { AuthDeps } from '../../../src/auth/authenticate.js';
import type { ReportTarget } from '../../../src/model/approval.js';
import { allowedResponseUrl } from '../../../src/report/response-url.js';
import { slackSource } from '../../../src/sources/slack.js';

/**
 * A Slack `response_url` comes from the payload, so a late outcome (which says what was decided, by whom, on
 * which connection) is posted to it only when it is https on an allowed host: never to wherever a payload says.
 */

const SLACK = ['hooks.slack.com'];
const RESPONSE_URL = 'https://hooks.slack.com/commands/T0001/1234567890/abcdefABCDEF0123456789';

describe('allowedResponseUrl', () => {
  it("takes Slack's own response_url on the default host", () => {
    expect(allowedResponseUrl(RESPONSE_URL, SLACK)).toBe(RESPONSE_URL);
  });

  it('compares the host without regard to case', () => {
    expect(allowedResponseUrl('https://HOOKS.Slack.COM/commands/x', SLACK)).toBe(
      'https://hooks.slack.com/commands/x',
    );
  });

  it('is undefined when the payload has none', () => {
    expect(allowedResponseUrl(undefined, SLACK)).toBeUndefined();
  });

  it.each([
    ['plain http', 'http://hooks.slack.com/commands/x'],
    ['another scheme', 'ftp://hooks.slack.com/commands/x'],
    ['a javascript URL', 'javascript:alert(1)'],
    ['another host', 'https://attacker.example/commands/x'],
    ['a host that only starts like Slack', 'https://hooks.slack.com.attacker.example/x'],
    ['a host that only ends like Slack', 'https://evilhooks.slack.com/x'],
    ['a parent domain', 'https://slack.com/x'],
    ['Slack in the userinfo', 'https://hooks.slack.com@attacker.example/x'],
    ['Slack in the query', 'https://attacker.example/?u=hooks.slack.com'],
    ['Slack in the fragment', 'https://attacker.example/#@hooks.slack.com'],
    ['credentials in the URL', 'https://user:secret@hooks.slack.com/x'],
    ['a user name in the URL', 'https://user@hooks.slack.com/x'],
    ['not a URL', 'hooks.slack.com/commands/x'],
    ['an empty string', ''],
  ])('refuses %s', (_why, url) => {
    expect(allowedResponseUrl(url, SLACK)).toBeUndefined();
  });

  it('takes the configured hosts instead of the default, a port included when the entry names one', () => {
    const hosts = ['hooks.example.org', '127.0.0.1:8443'];
    expect(allowedResponseUrl('https://hooks.example.org/r/1', hosts)).toBe('https://hooks.example.org/r/1');
    expect(allowedResponseUrl('https://127.0.0.1:8443/_slack/response/1', hosts)).toBe(
      'https://127.0.0.1:8443/_slack/response/1',
    );
    expect(allowedResponseUrl('https://127.0.0.1:9443/_slack/response/1', hosts)).toBeUndefined();
    expect(allowedResponseUrl('https://127.0.0.1/_slack/response/1', hosts)).toBeUndefined();
    expect(allowedResponseUrl(RESPONSE_URL, hosts)).toBeUndefined();
  });

  it('admits only the default port (443) for an entry without a port', () => {
    expect(allowedResponseUrl('https://hooks.slack.com:443/commands/x', SLACK)).toBe(
      'https://hooks.slack.com/commands/x',
    );
    expect(allowedResponseUrl('https://hooks.slack.com:8443/commands/x', SLACK)).toBeUndefined();
    expect(allowedResponseUrl('https://hooks.slack.com:80/commands/x', SLACK)).toBeUndefined();
    expect(allowedResponseUrl('https://127.0.0.1:8443/_slack/response/1', ['127.0.0.1'])).toBeUndefined();
  });

  it('allows nothing when the list is empty', () => {
    expect(allowedResponseUrl(RESPONSE_URL, [])).toBeUndefined();
  });
});

describe('the Slack source sets a report target only for an allowed response_url', () => {
  const auth: AuthDeps = {
    secretNames: { generic: 'g', servicenow: 's', teams: 't', slack: 'slack-signing-secret' },
    now: () => 0,
  };
  const connection =
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/privateendpointconnection1';
  const authenticated = {
    caller: { source: 'slack' as const, scheme: 'slack-v0' as const, id: 'slack-signing-secret' },
    marks: {},
  };

  function reportOf(responseUrl: string | undefined): ReportTarget | undefined {
    const form = new URLSearchParams({
      user_id: 'U0123ABC',
      command: '/approver',
      text: `approve ${connection} CHG0001`,
      trigger_id: '123.456.abc',
      ...(responseUrl === undefined ? {} : { response_url: responseUrl }),
    });
    const source = slackSource(auth, 2_000, SLACK);
    const admission = source.admit(new TextEncoder().encode(form.toString()), authenticated, 0);
    expect(admission.intent.kind).toBe('decide');
    return admission.intent.kind === 'decide' ? admission.intent.report : undefined;
  }

  it('reports to an allowed response_url', () => {
    expect(reportOf(RESPONSE_URL)).toEqual({ kind: 'slack', responseUrl: RESPONSE_URL });
  });

  it('reports nowhere for a response_url that is not allowed, or none', () => {
    expect(reportOf('https://attacker.example/collect')).toBeUndefined();
    expect(reportOf('http://hooks.slack.com/commands/x')).toBeUndefined();
    expect(reportOf(undefined)).toBeUndefined();
  });
});
