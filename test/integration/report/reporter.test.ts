import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import type { ReportTarget } from '../../../src/model/approval.js';
import { createOutbound } from '../../../src/report/outbound.js';
import type { DeliveredReport, Reporter, ReporterDeps } from '../../../src/report/reporter.js';
import { createReporter } from '../../../src/report/reporter.js';
import { createServiceNowWriter } from '../../../src/report/servicenow-work-note.js';
import type { SecretProvider } from '../../../src/secrets/secret-provider.js';
import { sandboxSecrets } from '../../support/arm.js';
import type { StandIn } from '../../support/https-stand-in.js';
import { answerJson, neverAnswer, startHttpsStandIn } from '../../support/https-stand-in.js';

/**
 * The reporter as the worker uses it, wired like the composition root wires it, against the sandbox's platform
 * stand-ins: it tells each kind of caller where it looks, and turns every failure into a report with
 * `ok: false` and a short detail — it never throws, and no secret ever reaches a detail (the audit keeps them).
 * A caller nothing is set up to reach (no ServiceNow instance, no Key Vault or Teams URL, a Slack response_url
 * not on SLACK_RESPONSE_URL_HOSTS when the report goes out) is `configured: false`: not worth another try.
 */

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const AT = new Date(NOW).toISOString();
const MESSAGE = { text: 'Approved pe1 (request 1)', ok: true };

let sandbox: Sandbox;
const standIns: StandIn[] = [];

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});
beforeEach(() => sandbox.reset());
afterEach(async () => {
  await Promise.all(standIns.splice(0).map((s) => s.close()));
});

function secrets(vaultUrl = sandbox.keyVault.vaultUrl): SecretProvider {
  return sandboxSecrets(sandbox, { vaultUrl, timeoutMs: 1_000, failureBackoffSeconds: 1 });
}

function reporter(
  options: {
    secrets?: SecretProvider | null;
    servicenow?: { instanceUrl?: string; credentialsSecretName?: string } | null;
    teamsWorkflowSecretName?: string;
    slackResponseUrlHosts?: readonly string[];
  } = {},
): Reporter {
  const http = createOutbound({ tls: { ca: sandbox.caCertPem } });
  const provider = options.secrets === null ? undefined : (options.secrets ?? secrets());
  const deps: ReporterDeps = {
    http,
    teamsWorkflowSecretName: options.teamsWorkflowSecretName ?? 'teams-workflow-url',
    slackResponseUrlHosts: options.slackResponseUrlHosts ?? sandboxSlackHosts(),
    now: () => NOW,
  };
  if (provider) deps.secrets = provider;
  if (provider && options.servicenow !== null) {
    deps.writeWorkNote = createServiceNowWriter({
      instanceUrl: options.servicenow?.instanceUrl ?? `${sandbox.armEndpoint}/_servicenow`,
      table: 'change_request',
      credentialsSecretName: options.servicenow?.credentialsSecretName ?? 'servicenow-api-credentials',
      secrets: provider,
      http,
      now: () => NOW,
      timeoutMs: 1_000,
    });
  }
  return createReporter(deps);
}

/** What the sandbox's environment sets SLACK_RESPONSE_URL_HOSTS to: Slack, and the sandbox's own host:port. */
function sandboxSlackHosts(): string[] {
  return ['hooks.slack.com', new URL(sandbox.armEndpoint).host];
}

/** A secret of its own per test: Key Vault orders versions by whole seconds. */
function storeSecret(value: string): string {
  const name = `reporter-test-${randomBytes(4).toString('hex')}`;
  sandbox.keyVault.setSecret(name, value);
  return name;
}

const sysId = (): string => randomBytes(16).toString('hex');

function expectFailed(report: DeliveredReport, to: ReportTarget['kind']): string {
  expect(report).toMatchObject({ to, at: AT, ok: false });
  expect(typeof report.detail).toBe('string');
  expect(report.detail!.length).toBeGreaterThan(0);
  expect(report.detail!.length).toBeLessThanOrEqual(300);
  // A failure worth trying again: only "nothing is set up" says otherwise.
  expect(report.configured).toBeUndefined();
  return report.detail!;
}

/** Nothing is set up to reach this caller: not worth trying again, and nothing was called. */
function expectNotConfigured(report: DeliveredReport, to: ReportTarget['kind']): string {
  expect(report).toMatchObject({ to, at: AT, ok: false, configured: false });
  expect(typeof report.detail).toBe('string');
  expect(report.detail!.length).toBeGreaterThan(0);
  expect(sandbox.platforms.counts()).toEqual({
    tokens: 0,
    workNotes: 0,
    records: 0,
    slack: 0,
    slackMessages: 0,
    teams: 0,
    refused: 0,
  });
  return report.detail!;
}

describe('delivered reports', () => {
  it('writes a ServiceNow work note and says so', async () => {
    const id = sysId();
    const report = await reporter().deliver({ kind: 'servicenow', sysId: id }, MESSAGE);
    expect(report).toEqual({ to: 'servicenow', at: AT, ok: true });
    expect(sandbox.platforms.workNotes().map((n) => [n.sysId, n.note])).toEqual([[id, MESSAGE.text]]);
  });

  it('posts to the Slack response_url', async () => {
    const report = await reporter().deliver(
      { kind: 'slack', responseUrl: sandbox.slackResponseUrl('r1') },
      { text: 'Rejected pe1', ok: false },
    );
    expect(report).toEqual({ to: 'slack', at: AT, ok: true });
    expect(sandbox.platforms.slackPosts().map((p) => p.body)).toEqual([
      { response_type: 'ephemeral', replace_original: false, text: 'Rejected pe1' },
    ]);
  });

  it('posts to the Teams workflow from Key Vault', async () => {
    const report = await reporter().deliver({ kind: 'teams' }, MESSAGE);
    expect(report).toEqual({
      to: 'teams',
      at: AT,
      ok: true,
      detail: 'accepted by the Teams workflow, which posts it to its channel',
    });
    expect(sandbox.platforms.counts().teams).toBe(1);
  });

  it('reuses one ServiceNow token across reports', async () => {
    const shared = reporter();
    for (let i = 0; i < 3; i++) {
      expect((await shared.deliver({ kind: 'servicenow', sysId: sysId() }, MESSAGE)).ok).toBe(true);
    }
    expect(sandbox.platforms.counts()).toMatchObject({ tokens: 1, workNotes: 3 });
  });

  it('says that a Location caller reads the answer itself, and calls nobody', async () => {
    const report = await reporter().deliver({ kind: 'location' }, MESSAGE);
    expect(report).toEqual({
      to: 'location',
      at: AT,
      ok: true,
      detail: 'the answer waits at its Location URL',
    });
    expect(sandbox.platforms.counts()).toEqual({
      tokens: 0,
      workNotes: 0,
      records: 0,
      slack: 0,
      slackMessages: 0,
      teams: 0,
      refused: 0,
    });
  });
});

describe('nowhere to report to: ok false, configured false (not worth trying again)', () => {
  it('when no ServiceNow instance is configured (no work-note writer)', async () => {
    const report = await reporter({ servicenow: null }).deliver(
      { kind: 'servicenow', sysId: sysId() },
      MESSAGE,
    );
    expect(expectNotConfigured(report, 'servicenow')).toMatch(/SERVICENOW_INSTANCE_URL/);
  });

  it('when there is no Key Vault for the Teams workflow URL', async () => {
    const report = await reporter({ secrets: null }).deliver({ kind: 'teams' }, MESSAGE);
    expect(expectNotConfigured(report, 'teams')).toBe('no Key Vault configured');
  });

  it('when Key Vault holds no Teams workflow URL', async () => {
    const report = await reporter({ teamsWorkflowSecretName: 'absent-teams-url' }).deliver(
      { kind: 'teams' },
      MESSAGE,
    );
    expect(expectNotConfigured(report, 'teams')).toBe(
      'no Teams workflow URL in Key Vault (absent-teams-url)',
    );
  });

  it('when the Slack response_url is no longer on the allow-list at delivery time', async () => {
    // Allowed when the command came (the sandbox host); the deployment now allows only Slack itself.
    const url = sandbox.slackResponseUrl(`capability-${randomBytes(6).toString('hex')}`);
    const report = await reporter({ slackResponseUrlHosts: ['hooks.slack.com'] }).deliver(
      { kind: 'slack', responseUrl: url },
      MESSAGE,
    );
    const detail = expectNotConfigured(report, 'slack');
    expect(detail).toMatch(/SLACK_RESPONSE_URL_HOSTS/);
    expect(detail).not.toContain(new URL(url).pathname);
  });

  it('when the allow-list names the host without its port (a bare host admits only 443)', async () => {
    const report = await reporter({ slackResponseUrlHosts: ['127.0.0.1'] }).deliver(
      { kind: 'slack', responseUrl: sandbox.slackResponseUrl('bare-host') },
      MESSAGE,
    );
    expectNotConfigured(report, 'slack');
  });

  it.each([
    ['over http', 'http://127.0.0.1:9/_slack/response/x'],
    ['with credentials in it', 'https://user:pw@127.0.0.1:9/_slack/response/x'],
    ['that is not a URL', 'not a url'],
  ])('for a Slack response_url %s', async (_why, responseUrl) => {
    const report = await reporter({ slackResponseUrlHosts: ['127.0.0.1:9'] }).deliver(
      { kind: 'slack', responseUrl },
      MESSAGE,
    );
    const detail = expectNotConfigured(report, 'slack');
    expect(detail).not.toContain('pw');
  });
});

describe('a target kind the reporter does not know', () => {
  it('is a failed report, never a throw, and calls nobody', async () => {
    const target = { kind: 'email', to: 'ops@example.org' } as unknown as ReportTarget;
    const report = await reporter().deliver(target, MESSAGE);
    expect(report).toEqual({ to: 'email', at: AT, ok: false, detail: 'unknown report target' });
    expect(sandbox.platforms.counts()).toEqual({
      tokens: 0,
      workNotes: 0,
      records: 0,
      slack: 0,
      slackMessages: 0,
      teams: 0,
      refused: 0,
    });
  });
});

describe('failed reports: ok false with a detail, never a throw, never a secret', () => {
  it('ServiceNow answering 503', async () => {
    sandbox.platforms.failNext('servicenow', 1);
    const detail = expectFailed(
      await reporter().deliver({ kind: 'servicenow', sysId: sysId() }, MESSAGE),
      'servicenow',
    );
    expect(detail).toMatch(/503/);
    expect(detail).not.toContain(sandbox.platforms.servicenowCredentials.clientSecret);
  });

  it('ServiceNow refusing the client credentials', async () => {
    const wrongSecret = `wrong-${randomBytes(8).toString('hex')}`;
    const name = storeSecret(
      JSON.stringify({
        clientId: sandbox.platforms.servicenowCredentials.clientId,
        clientSecret: wrongSecret,
      }),
    );
    const report = await reporter({ servicenow: { credentialsSecretName: name } }).deliver(
      { kind: 'servicenow', sysId: sysId() },
      MESSAGE,
    );
    const detail = expectFailed(report, 'servicenow');
    expect(detail).toMatch(/401/);
    expect(detail).not.toContain(wrongSecret);
    expect(sandbox.platforms.counts()).toMatchObject({ refused: 1, workNotes: 0 });
  });

  it('ServiceNow refusing basic credentials', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const name = storeSecret(JSON.stringify({ username: 'sandbox.integration', password }));
    const report = await reporter({ servicenow: { credentialsSecretName: name } }).deliver(
      { kind: 'servicenow', sysId: sysId() },
      MESSAGE,
    );
    const detail = expectFailed(report, 'servicenow');
    expect(detail).not.toContain(password);
    expect(detail).not.toContain(Buffer.from(`sandbox.integration:${password}`).toString('base64'));
  });

  it('ServiceNow credentials that are not the expected JSON', async () => {
    const value = `not json, but secret-${randomBytes(6).toString('hex')}`;
    const name = storeSecret(value);
    const report = await reporter({ servicenow: { credentialsSecretName: name } }).deliver(
      { kind: 'servicenow', sysId: sysId() },
      MESSAGE,
    );
    const detail = expectFailed(report, 'servicenow');
    expect(detail).toContain(name);
    expect(detail).not.toContain(value);
  });

  it('a sys_id that is not one', async () => {
    const detail = expectFailed(
      await reporter().deliver({ kind: 'servicenow', sysId: '../../sys_user/x' }, MESSAGE),
      'servicenow',
    );
    expect(detail).toMatch(/sys_id/);
    expect(sandbox.platforms.counts()).toMatchObject({ tokens: 0, workNotes: 0 });
  });

  it('a ServiceNow instance that does not answer in time', async () => {
    const hole = await startHttpsStandIn(sandbox.tls, neverAnswer);
    standIns.push(hole);
    const started = Date.now();
    const report = await reporter({ servicenow: { instanceUrl: hole.url('') } }).deliver(
      { kind: 'servicenow', sysId: sysId() },
      MESSAGE,
    );
    expectFailed(report, 'servicenow');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('Slack answering 503, without the response_url in the detail', async () => {
    sandbox.platforms.failNext('slack', 1);
    const url = sandbox.slackResponseUrl(`capability-${randomBytes(6).toString('hex')}`);
    const detail = expectFailed(
      await reporter().deliver({ kind: 'slack', responseUrl: url }, MESSAGE),
      'slack',
    );
    expect(detail).toMatch(/503/);
    expect(detail).not.toContain(new URL(url).pathname);
  });

  it('a Slack response_url that redirects: not followed, reported as failed', async () => {
    const redirect = await startHttpsStandIn(sandbox.tls, (_r, res) => {
      res.writeHead(302, { location: sandbox.slackResponseUrl('elsewhere') }).end();
    });
    standIns.push(redirect);
    const hosts = [...sandboxSlackHosts(), new URL(redirect.url('/')).host];
    const detail = expectFailed(
      await reporter({ slackResponseUrlHosts: hosts }).deliver(
        { kind: 'slack', responseUrl: redirect.url('/hook') },
        MESSAGE,
      ),
      'slack',
    );
    expect(detail).toMatch(/302/);
    expect(sandbox.platforms.counts().slack).toBe(0);
  });

  it('a Slack response_url on an allowed host that refuses connections (worth trying again)', async () => {
    const detail = expectFailed(
      await reporter({ slackResponseUrlHosts: ['127.0.0.1:9'] }).deliver(
        { kind: 'slack', responseUrl: 'https://127.0.0.1:9/_slack/response/capability' },
        MESSAGE,
      ),
      'slack',
    );
    expect(detail).not.toContain('capability');
  });

  it('Teams answering 503, without the workflow URL (it carries a signature) in the detail', async () => {
    const sig = `Sig${randomBytes(8).toString('hex')}`;
    const name = storeSecret(`${sandbox.armEndpoint}/_teams/workflow?sig=${sig}`);
    sandbox.platforms.failNext('teams', 1);
    const detail = expectFailed(
      await reporter({ teamsWorkflowSecretName: name }).deliver({ kind: 'teams' }, MESSAGE),
      'teams',
    );
    expect(detail).toMatch(/503/);
    expect(detail).not.toContain(sig);
  });

  it('a Teams workflow URL that refuses connections, without the URL in the detail', async () => {
    const sig = `Sig${randomBytes(8).toString('hex')}`;
    const name = storeSecret(`https://127.0.0.1:9/workflows/${sig}/triggers/manual?sig=${sig}`);
    const detail = expectFailed(
      await reporter({ teamsWorkflowSecretName: name }).deliver({ kind: 'teams' }, MESSAGE),
      'teams',
    );
    expect(detail).not.toContain(sig);
  });

  it('a Teams workflow URL that is not a URL, without the value in the detail', async () => {
    const value = `garbage-${randomBytes(6).toString('hex')}`;
    const name = storeSecret(value);
    const detail = expectFailed(
      await reporter({ teamsWorkflowSecretName: name }).deliver({ kind: 'teams' }, MESSAGE),
      'teams',
    );
    expect(detail).not.toContain(value);
  });

  it('Key Vault unavailable for the Teams workflow URL', async () => {
    const down = await startHttpsStandIn(
      sandbox.tls,
      answerJson(503, { error: { code: 'ServiceUnavailable' } }),
    );
    standIns.push(down);
    const detail = expectFailed(
      await reporter({ secrets: secrets(down.url('')) }).deliver({ kind: 'teams' }, MESSAGE),
      'teams',
    );
    expect(detail).toMatch(/Key Vault|unavailable/i);
  });

  it('Key Vault unavailable for the ServiceNow credentials', async () => {
    const down = await startHttpsStandIn(
      sandbox.tls,
      answerJson(503, { error: { code: 'ServiceUnavailable' } }),
    );
    standIns.push(down);
    expectFailed(
      await reporter({ secrets: secrets(down.url('')) }).deliver(
        { kind: 'servicenow', sysId: sysId() },
        MESSAGE,
      ),
      'servicenow',
    );
    expect(sandbox.platforms.counts()).toMatchObject({ tokens: 0, workNotes: 0 });
  });

  it('keeps the detail short even when the cause is long', async () => {
    // Not a table name the stand-in knows: the 404 names it, and the message runs past 300 characters.
    const longTable = 'x-'.repeat(250);
    const detail = expectFailed(
      await createReporter({
        http: createOutbound({ tls: { ca: sandbox.caCertPem } }),
        writeWorkNote: createServiceNowWriter({
          instanceUrl: `${sandbox.armEndpoint}/_servicenow`,
          table: longTable,
          credentialsSecretName: 'servicenow-api-credentials',
          secrets: secrets(),
          http: createOutbound({ tls: { ca: sandbox.caCertPem } }),
          now: () => NOW,
        }),
        teamsWorkflowSecretName: 'teams-workflow-url',
        slackResponseUrlHosts: sandboxSlackHosts(),
        now: () => NOW,
      }).deliver({ kind: 'servicenow', sysId: sysId() }, MESSAGE),
      'servicenow',
    );
    expect(detail.length).toBe(300);
  });
});
