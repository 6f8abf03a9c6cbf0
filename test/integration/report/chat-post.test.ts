import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import { postToSlack, postToTeams } from '../../../src/report/chat-post.js';
import type { Outbound } from '../../../src/report/outbound.js';
import { createOutbound, ReportError } from '../../../src/report/outbound.js';
import { SecretsUnavailableError } from '../../../src/secrets/errors.js';
import type { SecretProvider } from '../../../src/secrets/secret-provider.js';
import { sandboxSecrets } from '../../support/arm.js';
import type { StandIn } from '../../support/https-stand-in.js';
import { answerJson, startHttpsStandIn } from '../../support/https-stand-in.js';

/**
 * Late outcomes posted to chat, against the sandbox's Slack and Teams stand-ins: the Slack command's
 * response_url, and the Teams Workflows webhook whose URL the Key Vault stand-in holds.
 */

const TEAMS_SECRET = 'teams-workflow-url';

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

const http = (): Outbound => createOutbound({ tls: { ca: sandbox.caCertPem } });

function secrets(vaultUrl = sandbox.keyVault.vaultUrl): SecretProvider {
  return sandboxSecrets(sandbox, { vaultUrl, timeoutMs: 1_000, failureBackoffSeconds: 1 });
}

/** A secret of its own per test: Key Vault orders versions by whole seconds. */
function storeSecret(value: string): string {
  const name = `teams-test-${randomBytes(4).toString('hex')}`;
  sandbox.keyVault.setSecret(name, value);
  return name;
}

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('postToSlack', () => {
  it('posts an outcome to the channel, never replacing the original message', async () => {
    await postToSlack(http(), sandbox.slackResponseUrl('cmd-1'), 'Approved pe1 (request 1)', true);
    expect(sandbox.platforms.slackPosts()).toEqual([
      {
        path: '/_slack/response/cmd-1',
        body: { response_type: 'in_channel', replace_original: false, text: 'Approved pe1 (request 1)' },
        at: expect.any(Number) as number,
      },
    ]);
  });

  it('posts a failure only to the person who asked', async () => {
    await postToSlack(
      http(),
      sandbox.slackResponseUrl('cmd-2'),
      'Failed: Resource Manager unavailable',
      false,
    );
    expect(sandbox.platforms.slackPosts()[0]!.body).toEqual({
      response_type: 'ephemeral',
      replace_original: false,
      text: 'Failed: Resource Manager unavailable',
    });
  });

  it('fails with a ReportError that names the status but not the response_url', async () => {
    sandbox.platforms.failNext('slack', 1);
    const url = sandbox.slackResponseUrl('secret-path-4f2a');
    const error = await failureOf(postToSlack(http(), url, 'text', true));
    expect(error).toBeInstanceOf(ReportError);
    expect(error.message).toBe("Slack's response_url answered 503");
    expect(error.message).not.toContain('secret-path-4f2a');
    expect(sandbox.platforms.counts().slack).toBe(0);
  });

  it('takes only 200 as delivered (Slack answers 200 "ok")', async () => {
    const accepted = await startHttpsStandIn(sandbox.tls, (_r, res) => {
      res.writeHead(204).end();
    });
    standIns.push(accepted);
    const error = await failureOf(postToSlack(http(), accepted.url('/r'), 'text', true));
    expect(error.message).toBe("Slack's response_url answered 204");
  });

  it('refuses a response_url that is not https', async () => {
    const error = await failureOf(postToSlack(http(), 'http://127.0.0.1:1/_slack/response/x', 'text', true));
    expect(error).toBeInstanceOf(ReportError);
    expect(sandbox.platforms.counts().slack).toBe(0);
  });
});

describe('postToTeams', () => {
  it('posts an Adaptive Card message to the workflow URL from Key Vault', async () => {
    const result = await postToTeams(http(), secrets(), TEAMS_SECRET, 'Approved pe1 (request 1)');
    expect(result).toBe('posted');
    const [post, ...more] = sandbox.platforms.teamsPosts();
    expect(more).toEqual([]);
    expect(post!.path).toBe('/_teams/workflow');
    expect(post!.body).toEqual({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [{ type: 'TextBlock', text: 'Approved pe1 (request 1)', wrap: true }],
          },
        },
      ],
    });
  });

  it('shows each line of a multi-line outcome as a line of its own (one TextBlock each)', async () => {
    await postToTeams(
      http(),
      secrets(),
      TEAMS_SECRET,
      'Not applied: policy denies it\n• rule x: no\n(request 1)',
    );
    const [post] = sandbox.platforms.teamsPosts();
    const body = post!.body as { attachments: { content: { body: { text: string }[] } }[] };
    expect(body.attachments[0]!.content.body.map((block) => block.text)).toEqual([
      'Not applied: policy denies it',
      '• rule x: no',
      '(request 1)',
    ]);
  });

  it('keeps quoted text literal: a Markdown link in it reaches the card broken open', async () => {
    await postToTeams(http(), secrets(), TEAMS_SECRET, 'Rejected: "see [the form](https://evil.example/x)"');
    const [post] = sandbox.platforms.teamsPosts();
    expect(JSON.stringify(post!.body)).toContain('see [the form] (https://evil.example/x)');
    expect(JSON.stringify(post!.body)).not.toContain('](');
  });

  it('is not configured when Key Vault holds no workflow URL, and posts nothing', async () => {
    expect(await postToTeams(http(), secrets(), 'no-such-teams-secret', 'text')).toBe('not-configured');
    expect(sandbox.platforms.counts().teams).toBe(0);
  });

  it('fails with a ReportError that names the status but not the workflow URL', async () => {
    const name = storeSecret(`${sandbox.armEndpoint}/_teams/workflow?sig=TopSecretSig123`);
    sandbox.platforms.failNext('teams', 1);
    const error = await failureOf(postToTeams(http(), secrets(), name, 'text'));
    expect(error).toBeInstanceOf(ReportError);
    expect(error.message).toBe('the Teams workflow answered 503');
    expect(error.message).not.toContain('TopSecretSig123');
  });

  it('refuses a workflow URL that is not https, without saying what it is', async () => {
    const name = storeSecret('http://127.0.0.1:1/workflows/abc?sig=TopSecretSig123');
    const error = await failureOf(postToTeams(http(), secrets(), name, 'text'));
    expect(error).toBeInstanceOf(ReportError);
    expect(error.message).not.toContain('TopSecretSig123');
    expect(sandbox.platforms.counts().teams).toBe(0);
  });

  it('lets a Key Vault outage through as such (it is not "not configured")', async () => {
    const closed = await startHttpsStandIn(
      sandbox.tls,
      answerJson(503, { error: { code: 'ServiceUnavailable' } }),
    );
    standIns.push(closed);
    const error = await failureOf(postToTeams(http(), secrets(closed.url('')), TEAMS_SECRET, 'text'));
    expect(error).toBeInstanceOf(SecretsUnavailableError);
    expect(sandbox.platforms.counts().teams).toBe(0);
  });
});
