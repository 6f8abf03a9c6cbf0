import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { EXAMPLE_ID, PENDING_2 } from '../support/arm.js';
import type { RefusalCase } from '../support/callers.js';
import {
  bearer,
  expectRefusal,
  FORM_TYPE,
  JSON_TYPE,
  observe,
  post,
  randomSignatureBase64,
  SKEW_SECONDS,
  startCallerHost,
  strangerTeamsToken,
  teamsActivity,
  teamsHeaders,
} from '../support/callers.js';
import type { TestHost, TestResponse } from '../support/host.js';

/** `POST /api/approvals/teams` as a Teams outgoing webhook calls it: an @mention, HMAC over the raw body. */

let sandbox: Sandbox;
/** Secret cache off, so every secret read reaches the Key Vault stand-in and shows in its counts. */
let app: TestHost;

beforeAll(async () => {
  sandbox = await startSandbox();
  app = await startCallerHost(sandbox, { SECRET_CACHE_TTL_SECONDS: '0' });
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});
beforeEach(() => sandbox.reset());

const approve = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify(teamsActivity(`approve ${EXAMPLE_ID}`, extra));

/** Signed with the configured security token unless another is given; `headers` win. */
function send(
  body: string | Uint8Array,
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<TestResponse> {
  return post(app, 'teams', body, {
    'content-type': JSON_TYPE,
    ...teamsHeaders(body, options.token ?? sandbox.devSecrets.teams),
    ...options.headers,
  });
}

const shifted = (seconds: number): string => new Date(Date.now() + seconds * 1000).toISOString();

/** The very bytes Teams sent, sent again (the scheme has no timestamp; the activity id is the delivery id). */
function capturedReplay(): RefusalCase {
  let body = '';
  return {
    name: 'captured replay (the same signed activity sent again)',
    status: 401,
    vault: 'own',
    setup: async () => {
      body = approve();
      const first = await send(body);
      expect(first.status, first.text).toBe(200);
    },
    send: () => send(body),
  };
}

/** A second, differently worded message under an activity id that was already used. */
function reusedActivityId(): RefusalCase {
  let id = '';
  return {
    name: 'replayed activity id with another text',
    status: 401,
    vault: 'own',
    setup: async () => {
      const activity = teamsActivity(`approve ${EXAMPLE_ID}`);
      id = activity.id as string;
      const first = await send(JSON.stringify(activity));
      expect(first.status, first.text).toBe(200);
    },
    send: () => send(JSON.stringify(teamsActivity(`reject ${PENDING_2}`, { id }))),
  };
}

/** A replayed read-only command must not reach Resource Manager either. */
function capturedStatusReplay(): RefusalCase {
  let body = '';
  return {
    name: 'captured replay of a status command',
    status: 401,
    vault: 'own',
    setup: async () => {
      body = JSON.stringify(teamsActivity(`status ${PENDING_2}`));
      const first = await send(body);
      expect(first.status, first.text).toBe(200);
    },
    send: () => send(body),
  };
}

/** The dry-run flag is in the URL, outside the HMAC: a captured dry run must not become a real one. */
function dryRunReplayedForReal(): RefusalCase {
  let body = '';
  let headers: Record<string, string> = {};
  return {
    name: 'captured dry run replayed without ?dryRun (the query is not signed)',
    status: 401,
    vault: 'own',
    setup: async () => {
      body = approve();
      headers = { 'content-type': JSON_TYPE, ...teamsHeaders(body, sandbox.devSecrets.teams) };
      const first = await post(app, 'teams', body, headers, '?dryRun=true');
      expect(first.status, first.text).toBe(200);
      expect(first.json.text).toContain('Dry run');
    },
    send: () => post(app, 'teams', body, headers),
  };
}

const refusals: RefusalCase[] = [
  {
    name: 'no Authorization header',
    status: 401,
    vault: 'none',
    send: () => post(app, 'teams', approve(), { 'content-type': JSON_TYPE }),
  },
  {
    name: 'body over 64 KiB (413)',
    status: 413,
    vault: 'none',
    send: () => send(approve({ padding: 'x'.repeat(70_000) })),
  },
  {
    name: 'form content type (415)',
    status: 415,
    vault: 'none',
    send: () => send(approve(), { headers: { 'content-type': FORM_TYPE } }),
  },
  {
    name: 'text/plain (415)',
    status: 415,
    vault: 'none',
    send: () => send(approve(), { headers: { 'content-type': 'text/plain' } }),
  },
  {
    name: 'no content type (415)',
    status: 415,
    vault: 'none',
    send: () => {
      const body = approve();
      return post(app, 'teams', body, teamsHeaders(body, sandbox.devSecrets.teams));
    },
  },
  {
    name: 'bad signature',
    status: 401,
    vault: 'own',
    send: () => send(approve(), { headers: { authorization: `HMAC ${randomSignatureBase64()}` } }),
  },
  {
    name: 'malformed Authorization (HMAC not base64)',
    status: 401,
    vault: 'own',
    send: () => send(approve(), { headers: { authorization: 'HMAC not*base64' } }),
  },
  {
    name: 'an Entra bearer token instead of the HMAC',
    status: 401,
    vault: 'own',
    send: async () => send(approve(), { headers: { authorization: await bearer(sandbox) } }),
  },
  {
    name: "wrong security token (a stranger's)",
    status: 401,
    vault: 'own',
    send: () => send(approve(), { token: strangerTeamsToken() }),
  },
  {
    name: 'tampered body (HMAC over another activity)',
    status: 401,
    vault: 'own',
    send: () =>
      post(app, 'teams', approve(), {
        'content-type': JSON_TYPE,
        ...teamsHeaders(approve(), sandbox.devSecrets.teams),
      }),
  },
  {
    name: 'stale activity timestamp (-6 min)',
    status: 401,
    vault: 'own',
    send: () => send(approve({ timestamp: shifted(-SKEW_SECONDS) })),
  },
  {
    name: 'future activity timestamp (+6 min)',
    status: 401,
    vault: 'own',
    send: () => send(approve({ timestamp: shifted(SKEW_SECONDS) })),
  },
  capturedReplay(),
  reusedActivityId(),
  capturedStatusReplay(),
  dryRunReplayedForReal(),
  { name: 'malformed JSON (400)', status: 400, vault: 'own', send: () => send('{"type": "message",') },
  { name: 'invalid UTF-8 (400)', status: 400, vault: 'own', send: () => send(new Uint8Array([0x7b, 0xff])) },
  {
    name: 'an activity without text (400)',
    status: 400,
    vault: 'own',
    send: () => send(approve({ text: undefined })),
  },
  {
    name: 'not a message activity (400)',
    status: 400,
    vault: 'own',
    send: () => send(approve({ type: 'conversationUpdate' })),
  },
];

describe('POST /api/approvals/teams refuses', () => {
  it.each(refusals.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    await expectRefusal(sandbox, 'teams', row);
  });
});

/** A Teams reply is exactly `{ type: 'message', textFormat: 'plain', text }`: shown as typed, never as markup. */
function expectTeamsMessage(res: TestResponse): string {
  expect(res.status, res.text).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Object.keys(res.json).sort()).toEqual(['text', 'textFormat', 'type']);
  expect(res.json.type).toBe('message');
  expect(res.json.textFormat).toBe('plain');
  expect(typeof res.json.text).toBe('string');
  return res.json.text as string;
}

describe('POST /api/approvals/teams answers', () => {
  it('ignores Prefer: respond-async, which Teams never sends and its route does not vary on', async () => {
    const res = await send(approve(), { headers: { prefer: 'respond-async' } });
    expect(expectTeamsMessage(res)).toContain('Pending → Approved');
    expect(res.headers.get('preference-applied')).toBeNull();
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
  });

  it('approve, with the bot mention stripped and the rest kept as the reason', async () => {
    const text = expectTeamsMessage(
      await send(approve({ text: `<at>Approver</at> approve ${EXAMPLE_ID} CAB ok` })),
    );
    expect(text).toContain('Pending → Approved');
    expect(text).toContain('CAB ok');
    expect(sandbox.counts().arm.PUT).toBe(1);
    const stored = sandbox.connection(EXAMPLE_ID);
    expect(stored?.status).toBe('Approved');
    expect(stored?.description).toBe('CAB ok');
  });

  it('reject', async () => {
    const text = expectTeamsMessage(
      await send(JSON.stringify(teamsActivity(`reject ${PENDING_2} not ours`))),
    );
    expect(text).toContain('Pending → Rejected');
    expect(sandbox.connection(PENDING_2)?.status).toBe('Rejected');
  });

  it("two channels' messages with the same id are two deliveries (an id is unique only in its conversation)", async () => {
    const first = teamsActivity(`reject ${PENDING_2} not ours`);
    const other = { id: '19:other@thread.tacv2;messageid=1713', isGroup: true };
    const second = teamsActivity(`approve ${EXAMPLE_ID}`, { id: first.id, conversation: other });
    expect(expectTeamsMessage(await send(JSON.stringify(first)))).toContain('Pending → Rejected');
    expect(expectTeamsMessage(await send(JSON.stringify(second)))).toContain('Pending → Approved');
    expect(sandbox.counts().arm.PUT).toBe(2);
  });

  it('the published signature vector body (type and text only) is authenticated and answered, each time', async () => {
    const vectors = JSON.parse(
      readFileSync(new URL('../fixtures/signature-vectors.json', import.meta.url), 'utf8'),
    ) as { teams_outgoing_webhook: { body: string } };
    // Help reads and writes nothing, so the same signed body sent again is no replay to refuse.
    for (const _ of [1, 2]) {
      const text = expectTeamsMessage(await send(vectors.teams_outgoing_webhook.body));
      expect(text).toContain('Commands:');
    }
    expect(sandbox.counts().arm.total).toBe(0);
  });

  it('help: the command list, and no ARM call', async () => {
    const text = expectTeamsMessage(await send(JSON.stringify(teamsActivity('help'))));
    expect(text).toContain('Commands:');
    expect(text).toContain('approve <connection-id>');
    expect(sandbox.counts().arm.total).toBe(0);
  });

  it('a mention alone is answered with help', async () => {
    const text = expectTeamsMessage(await send(approve({ text: '<at>Approver</at>' })));
    expect(text).toContain('Commands:');
  });

  it('status: reads the connection, changes nothing', async () => {
    const before = observe(sandbox);
    const text = expectTeamsMessage(await send(JSON.stringify(teamsActivity(`status ${PENDING_2}`))));
    expect(text).toContain('pe-pending-2 is Pending');
    expect(sandbox.counts().arm.GET).toBe(1);
    expect(sandbox.counts().arm.PUT).toBe(before.put);
  });

  it('an unknown command or a bad id is a chat answer, not an HTTP error', async () => {
    const unknown = expectTeamsMessage(await send(JSON.stringify(teamsActivity('launch the rockets'))));
    expect(unknown).toContain('Unknown command');
    const badId = expectTeamsMessage(
      await send(JSON.stringify(teamsActivity('approve /subscriptions/nope'))),
    );
    expect(badId).toContain('not valid');
    expect(sandbox.counts().arm.total).toBe(0);
  });
});
