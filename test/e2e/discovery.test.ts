import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { pendingConnection, STRANGER, TRUSTED } from '../fixtures/discovery-estate.js';
import { discoveryRunner } from '../support/callers.js';
import { sandboxArmClient, callContext } from '../support/arm.js';
import type { TestHost, TestResponse } from '../support/host.js';
import { AUDIENCE, LOGIC_APP_OID, startTestHost } from '../support/host.js';
import { parseConnectionId } from '../../src/model/resource-id.js';
import { createQueues, createRoutes, createTimers } from '../../src/functions/routes.js';

/**
 * Discovery end to end: the host scans a sandbox subscription through the Resource Graph stand-in, approves what
 * policy trusts through the pipeline, asks people about the rest (ServiceNow Table API, Slack chat.postMessage,
 * Teams), and the people's answers come back through the app's own signed routes (the ServiceNow business rule,
 * Slack's interactivity post), played by the sandbox. Reminder and expiry times come from configuration (seconds).
 */

const SUB = '7e1f0000-0000-4000-8000-0000000d15c0';
const LISTED_SLACK_USER = 'U0LISTED01';
const CHANNEL = 'C0DISCOVER1';
/** DISCOVERY_REMIND_AFTER_HOURS 0.001: 3.6 s. */
const REMIND_AFTER_MS = 3_600;
const EXPIRE_AFTER_MS = 8_000;

const rg = `/subscriptions/${SUB}/resourceGroups/rg-disc/providers`;
const id = (resource: string, connection: string): string =>
  `${rg}/${resource}/privateEndpointConnections/${connection}`;
const CONN = {
  trusted: id('Microsoft.Storage/storageAccounts/sttrusted', 'pe-trusted'),
  servicenow: id('Microsoft.ContainerService/managedClusters/aks-people', 'pe-servicenow'),
  slack: id('Microsoft.KeyVault/vaults/kv-people', 'pe-slack'),
  unlisted: id('Microsoft.KeyVault/vaults/kv-people', 'pe-unlisted'),
  remind: id('Microsoft.Storage/storageAccounts/stpeople', 'pe-remind'),
  elsewhere: id('Microsoft.Storage/storageAccounts/stpeople', 'pe-elsewhere'),
  expire: id('Microsoft.Storage/storageAccounts/stexpire', 'pe-expire'),
};

function seed(): unknown {
  const pending = (name: string, consumer: string) =>
    pendingConnection(name, consumer, `please approve ${name}`);
  const resource = (type: string, name: string, connections: unknown[]) => ({
    type,
    name,
    privateEndpointConnections: connections,
  });
  return {
    subscriptions: [
      {
        subscriptionId: SUB,
        resourceGroups: [
          {
            name: 'rg-disc',
            resources: [
              resource('Microsoft.Storage/storageAccounts', 'sttrusted', [pending('pe-trusted', TRUSTED)]),
              resource('Microsoft.ContainerService/managedClusters', 'aks-people', [
                pending('pe-servicenow', STRANGER),
              ]),
              resource('Microsoft.KeyVault/vaults', 'kv-people', [
                pending('pe-slack', STRANGER),
                pending('pe-unlisted', STRANGER),
              ]),
              resource('Microsoft.Storage/storageAccounts', 'stpeople', [
                pending('pe-remind', STRANGER),
                pending('pe-elsewhere', STRANGER),
              ]),
              resource('Microsoft.Storage/storageAccounts', 'stexpire', [pending('pe-expire', STRANGER)]),
            ],
          },
        ],
      },
    ],
  };
}

function policy(): string {
  const targets = `
      - subscription: '${SUB}'
        resourceGroup: '*'
        cluster: '*'
      - subscription: '${SUB}'
        resourceGroup: '*'
        type: '*'
        resource: '*'`;
  return `version: 1
description: discovery end to end
defaults:
  transitions:
    Pending: [Approved, Rejected]
    Approved: [Rejected]
    Rejected: []
    Disconnected: []
rules:
  - name: trust-platform-consumers
    decisions: [Approved]
    targets:${targets}
    callers:
      - source: discovery
        ids: [scan]
    consumers:
      subscriptions: ['${TRUSTED}']
  - name: people-decide
    decisions: [Approved, Rejected]
    targets:${targets}
    callers:
      - source: slack
        ids: ['${LISTED_SLACK_USER}']
      - source: servicenow
        ids: ['*']
    consumers:
      subscriptions: ['*']
  - name: expire-stale
    decisions: [Rejected]
    expireAfterDays: ${EXPIRE_AFTER_MS / 86_400_000}
    targets:
      - subscription: '${SUB}'
        resourceGroup: '*'
        type: Microsoft.Storage/storageAccounts
        resource: stexpire
    callers:
      - source: discovery
        ids: [scan]
`;
}

let sandbox: Sandbox;
let app: TestHost;
let runToken: string;
/** When the first scan started and ended: reminder and expiry count from each connection's first sight. */
let firstScanAt = 0;
let firstScanEnd = 0;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pla-discovery-'));
  writeFileSync(join(dir, 'seed.json'), JSON.stringify(seed()));
  writeFileSync(join(dir, 'policy.yaml'), policy());
  sandbox = await startSandbox({ seedPath: join(dir, 'seed.json') });
  app = await startTestHost(sandbox, {
    POLICY_PATH: join(dir, 'policy.yaml'),
    DISCOVERY_SCOPES: SUB,
    DISCOVERY_SLACK_CHANNEL: CHANNEL,
    DISCOVERY_REMIND_AFTER_HOURS: '0.001',
  });
  sandbox.people.setApp(app.host.url);
  runToken = await discoveryRunner(sandbox);
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});

const scan = async (): Promise<TestResponse> => {
  const answer = await app.post('/api/discovery/run', '', { authorization: runToken });
  expect(answer.status, answer.text).toBe(200);
  return answer;
};
const puts = (connectionId: string) =>
  sandbox.requests().filter((r) => r.method === 'PUT' && r.path.toLowerCase() === connectionId.toLowerCase());
const recordsFor = (connectionId: string) =>
  sandbox.platforms
    .records()
    .filter((r) => r.fields.u_private_endpoint_connection_id?.toLowerCase() === connectionId.toLowerCase());
const messagesFor = (connectionId: string) =>
  sandbox.platforms.slackMessages().filter((m) => JSON.stringify(m.blocks ?? '').includes(connectionId));
const status = (connectionId: string) => sandbox.connection(connectionId)?.status;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = what();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(50);
  }
}

describe('a dry run, before any scan', () => {
  it('says what a scan would approve and whom it would ask, and writes nothing anywhere', async () => {
    const before = sandbox.counts().arm;
    const answer = await app.post('/api/discovery/run?dryRun=true', '', { authorization: runToken });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toMatchObject({
      dryRun: true,
      complete: true,
      pending: 7,
      wouldApprove: 1,
      wouldAsk: 6,
      decidedMeanwhile: 0,
      errors: 0,
      approve: [
        { connectionId: expect.stringMatching(/sttrusted/i) as string, rule: 'trust-platform-consumers' },
      ],
    });
    expect((answer.json.ask as string[]).map((c) => c.toLowerCase()).sort()).toEqual(
      Object.values(CONN)
        .filter((c) => c !== CONN.trusted)
        .map((c) => c.toLowerCase())
        .sort(),
    );
    // Read, never written: no PUT, no ticket, no message, no discovery row.
    expect(sandbox.counts().arm.PUT).toBe(before.PUT);
    expect(sandbox.platforms.records()).toHaveLength(0);
    expect(sandbox.platforms.slackMessages()).toHaveLength(0);
    expect(sandbox.platforms.teamsPosts()).toHaveLength(0);
    const listed = await app.signedGet('/api/discovery?dryRun=true');
    expect(listed.status, listed.text).toBe(200);
    expect(listed.json.connections).toEqual([]);
    // Not kept as a scan either: the last scans are the real ones.
    expect(listed.json.scans).toEqual([]);
  });
});

describe('the first scan', () => {
  let first: TestResponse;
  beforeAll(async () => {
    firstScanAt = Date.now();
    first = await scan();
    firstScanEnd = Date.now();
  });

  it('approves the connection policy trusts with one PUT and an audit record naming the rule, telling nobody', async () => {
    expect(status(CONN.trusted)).toBe('Approved');
    expect(puts(CONN.trusted)).toHaveLength(1);
    expect(recordsFor(CONN.trusted)).toHaveLength(0);
    expect(messagesFor(CONN.trusted)).toHaveLength(0);
    const listed = await app.signedGet('/api/discovery');
    expect(listed.status, listed.text).toBe(200);
    const row = (
      listed.json.connections as { connectionId: string; state: string; requestId: string }[]
    ).find((r) => r.connectionId.toLowerCase() === CONN.trusted.toLowerCase());
    expect(row).toMatchObject({ state: 'approved', rule: 'trust-platform-consumers' });
    const record = await app.signedGet(`/api/approvals/${row!.requestId}`);
    expect(record.status, record.text).toBe(200);
    expect(record.json).toMatchObject({
      source: 'discovery',
      outcome: 'approved',
      policyReasons: [expect.objectContaining({ rule: 'trust-platform-consumers' })],
    });
  });

  it('asks people about every other Pending connection: one ServiceNow record and one Slack message each', () => {
    expect(first.json).toMatchObject({ approved: 1, requested: 6, errors: 0 });
    for (const connectionId of Object.values(CONN).filter((c) => c !== CONN.trusted)) {
      expect(status(connectionId)).toBe('Pending');
      expect(puts(connectionId)).toHaveLength(0);
      expect(recordsFor(connectionId)).toHaveLength(1);
      const [message] = messagesFor(connectionId);
      expect(messagesFor(connectionId)).toHaveLength(1);
      expect(message?.channel).toBe(CHANNEL);
      expect(JSON.stringify(message?.blocks)).toContain('"action_id":"approve"');
      // Caller-influenced text is shown as written: no links, mentions or channel names made by Slack.
      const texts = JSON.stringify(message?.blocks).match(/"type":"mrkdwn"[^}]*/g) ?? [];
      expect(texts.length).toBeGreaterThan(0);
      expect(texts.every((t) => t.includes('"verbatim":true'))).toBe(true);
    }
    expect(sandbox.platforms.teamsPosts()).toHaveLength(6);
  });

  it('a second scan asks nobody again and writes nothing', async () => {
    const records = sandbox.platforms.records().length;
    const messages = sandbox.platforms.slackMessages().length;
    const putsBefore = sandbox.counts().arm.PUT;
    const second = await scan();
    expect(second.json).toMatchObject({ approved: 0, requested: 0, pending: 6 });
    expect(sandbox.platforms.records()).toHaveLength(records);
    expect(sandbox.platforms.slackMessages()).toHaveLength(messages);
    expect(sandbox.counts().arm.PUT).toBe(putsBefore);
  });
});

describe('people answer', () => {
  it('approving the ServiceNow record (its business rule calling back) approves the connection', async () => {
    const [record] = recordsFor(CONN.servicenow);
    const answer = await sandbox.people.decideRecord(record!.sysId, 'approved', 'cab@contoso.com');
    expect(answer.status, answer.body).toBe(200);
    expect(status(CONN.servicenow)).toBe('Approved');
    expect(puts(CONN.servicenow)).toHaveLength(1);
  });

  it("a listed approver's Approve click approves it, and the message is replaced by the outcome", async () => {
    const [message] = messagesFor(CONN.slack);
    const answer = await sandbox.people.click(message!.ts, { action: 'approve', userId: LISTED_SLACK_USER });
    expect(answer).toEqual({ status: 200, body: '' });
    await until(() => status(CONN.slack) === 'Approved');
    expect(puts(CONN.slack)).toHaveLength(1);
    const told = await until(() =>
      sandbox.platforms.slackPosts().find((p) => JSON.stringify(p.body).includes('Pending → Approved')),
    );
    expect(told.body).toMatchObject({ replace_original: true, response_type: 'in_channel' });
  });

  it("an unlisted user's click is refused: told so alone, nothing written, the buttons stay", async () => {
    const [message] = messagesFor(CONN.unlisted);
    const before = sandbox.platforms.slackPosts().length;
    const answer = await sandbox.people.click(message!.ts, { action: 'approve', userId: 'U0STRANGER' });
    expect(answer.status).toBe(200);
    const told = await until(() => sandbox.platforms.slackPosts().slice(before)[0]);
    expect(told.body).toMatchObject({ replace_original: false, response_type: 'ephemeral' });
    expect(JSON.stringify(told.body)).toContain('Not applied');
    await sleep(300);
    expect(status(CONN.unlisted)).toBe('Pending');
    expect(puts(CONN.unlisted)).toHaveLength(0);
    // The same click captured and sent again: a problem, and nothing posted to the clicker's response_url.
    const posted = sandbox.platforms.slackPosts().length;
    const replayed = await sandbox.people.replayLastClick();
    expect(replayed.status, replayed.body).toBe(401);
    expect(replayed.body).toContain('already received');
    await sleep(300);
    expect(sandbox.platforms.slackPosts()).toHaveLength(posted);
  });

  it('a click on a connection made again for another private endpoint decides nothing: 409, told so', async () => {
    const [message] = messagesFor(CONN.unlisted);
    const shown = sandbox.connection(CONN.unlisted)!.privateEndpointId;
    const other = shown.replace(/privateEndpoints\/[^/]+$/, 'privateEndpoints/pe-someone-else');
    sandbox.recreateEndpoint(CONN.unlisted, other);
    try {
      const before = sandbox.platforms.slackPosts().length;
      const answer = await sandbox.people.click(message!.ts, {
        action: 'approve',
        userId: LISTED_SLACK_USER,
      });
      expect(answer.status).toBe(200);
      const told = await until(() => sandbox.platforms.slackPosts().slice(before)[0]);
      expect(JSON.stringify(told.body)).toContain('pe-someone-else');
      expect(JSON.stringify(told.body)).toContain('Not applied');
      expect(status(CONN.unlisted)).toBe('Pending');
      expect(puts(CONN.unlisted)).toHaveLength(0);
    } finally {
      sandbox.recreateEndpoint(CONN.unlisted, shown);
    }
  });

  it('a forged click (wrong signature) is refused with a problem and changes nothing', async () => {
    const body = new URLSearchParams({ payload: '{"type":"block_actions"}' }).toString();
    const answer = await app.post('/api/approvals/slack/interactive', body, {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)),
      'x-slack-signature': `v0=${'0'.repeat(64)}`,
    });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    expect(answer.json.requestId ?? answer.json.instance).toBeTruthy();
  });
});

describe('later scans', () => {
  it('close the request of a connection approved elsewhere (work note, message edited)', async () => {
    // The portal: a PUT by someone else, straight to Resource Manager.
    const arm = sandboxArmClient(sandbox);
    await arm.updateConnectionState(
      parseConnectionId(CONN.elsewhere),
      { status: 'Approved', description: 'approved in the portal' },
      callContext(),
    );
    await scan();
    const [record] = recordsFor(CONN.elsewhere);
    const notes = sandbox.platforms.workNotes().filter((n) => n.sysId === record!.sysId);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.note).toContain('is now Approved');
    const [message] = messagesFor(CONN.elsewhere);
    expect(message!.updates).toHaveLength(1);
    expect(JSON.stringify(message!.updates[0]!.blocks)).not.toContain('action_id');
  });

  it('remind once, after DISCOVERY_REMIND_AFTER_HOURS', async () => {
    await sleep(firstScanEnd + REMIND_AFTER_MS + 200 - Date.now());
    await scan();
    const [record] = recordsFor(CONN.remind);
    const reminders = () => sandbox.platforms.workNotes().filter((n) => n.sysId === record!.sysId);
    expect(reminders()).toHaveLength(1);
    expect(reminders()[0]!.note).toContain('still Pending');
    expect(reminders()[0]!.at).toBeGreaterThanOrEqual(firstScanAt + REMIND_AFTER_MS);
    const [message] = messagesFor(CONN.remind);
    const thread = () => sandbox.platforms.slackMessages().filter((m) => m.threadTs === message!.ts);
    expect(thread()).toHaveLength(1);
    await scan();
    expect(reminders()).toHaveLength(1);
    expect(thread()).toHaveLength(1);
  });

  it('reject by policy expiry through the pipeline (audited, the request closed), and only what the rule covers', async () => {
    await sleep(firstScanEnd + EXPIRE_AFTER_MS + 200 - Date.now());
    await scan();
    expect(status(CONN.expire)).toBe('Rejected');
    expect(puts(CONN.expire)).toHaveLength(1);
    expect(puts(CONN.expire)[0]!.receivedAt).toBeGreaterThanOrEqual(firstScanAt + EXPIRE_AFTER_MS);
    expect(status(CONN.remind)).toBe('Pending');
    const listed = await app.signedGet('/api/discovery');
    const row = (listed.json.connections as { connectionId: string; requestId: string }[]).find(
      (r) => r.connectionId.toLowerCase() === CONN.expire.toLowerCase(),
    );
    expect(row).toMatchObject({ state: 'expired', rule: 'expire-stale' });
    const audit = await app.signedGet(`/api/approvals/${row!.requestId}`);
    expect(audit.json).toMatchObject({ source: 'discovery', outcome: 'rejected' });
    const [record] = recordsFor(CONN.expire);
    const notes = sandbox.platforms.workNotes().filter((n) => n.sysId === record!.sysId);
    expect(notes.at(-1)?.note).toContain('rejected');
  });
});

describe('the functions the host registers', () => {
  it('have unique names with discovery on (Azure Functions refuses a duplicate)', () => {
    const names = [
      ...createRoutes(app.state).map((r) => r.name),
      ...createTimers(app.state).map((t) => t.name),
      ...createQueues(app.state).map((q) => q.name),
    ];
    expect(names).toContain('discovery');
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('the routes refuse what they should, and change nothing', () => {
  it('POST /api/discovery/run without the Discovery.Run role is 403; unsigned is 401; with a body is 400 (413 when over 64 KiB)', async () => {
    const plain = await sandbox.openId.issueToken({ aud: AUDIENCE, oid: LOGIC_APP_OID, azp: LOGIC_APP_OID });
    const before = sandbox.resourceGraph.queries();
    const noRole = await app.post('/api/discovery/run', '', { authorization: `Bearer ${plain}` });
    expect(noRole.status).toBe(403);
    expect(noRole.text).toContain('Discovery.Run');
    const unsigned = await app.post('/api/discovery/run', '', {});
    expect(unsigned.status).toBe(401);
    const withBody = await app.post('/api/discovery/run', '{"scopes":["*"]}', {
      authorization: runToken,
      'content-type': 'application/json',
    });
    expect(withBody.status).toBe(400);
    const oversized = await app.post('/api/discovery/run', 'x'.repeat(70 * 1024), {
      authorization: runToken,
      'content-type': 'application/json',
    });
    expect(oversized.status).toBe(413);
    expect(sandbox.resourceGraph.queries()).toBe(before);
  });

  it('GET /api/discovery needs the generic route credentials', async () => {
    const anonymous = await app.get('/api/discovery');
    expect(anonymous.status).toBe(401);
  });
});
