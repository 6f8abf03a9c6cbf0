import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { EXAMPLE_ID, PENDING_2 } from '../support/arm.js';
import type { RefusalCase } from '../support/callers.js';
import {
  expectProblem,
  expectRefusal,
  FORM_TYPE,
  JSON_TYPE,
  nowSeconds,
  observe,
  omit,
  post,
  SKEW_SECONDS,
  slackForm,
  slackHeaders,
  startCallerHost,
  vaultReadsSince,
} from '../support/callers.js';
import type { TestHost, TestResponse } from '../support/host.js';

/** `POST /api/approvals/slack` as a Slack slash command calls it: a form, signed with `v0=` over `v0:ts:body`. */

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

const approve = (): string => slackForm(`approve ${EXAMPLE_ID}`);

/** Signed with the configured signing secret unless another is given; `headers` win. */
function send(
  body: string | Uint8Array,
  options: { secret?: string; timestamp?: number; headers?: Record<string, string> } = {},
): Promise<TestResponse> {
  return post(app, 'slack', body, {
    'content-type': FORM_TYPE,
    ...slackHeaders(body, options.secret ?? sandbox.devSecrets.slack, options.timestamp ?? nowSeconds()),
    ...options.headers,
  });
}

function signedWithout(header: string): Promise<TestResponse> {
  const body = approve();
  const headers = { 'content-type': FORM_TYPE, ...slackHeaders(body, sandbox.devSecrets.slack) };
  return post(app, 'slack', body, omit(headers, header));
}

/** Slack sends no delivery id: the same signature (same timestamp and body) seen twice is the replay. */
function capturedReplay(
  name: string,
  body: () => string,
  firstQuery = '',
  respell: (signature: string) => string = (signature) => signature,
): RefusalCase {
  let text = '';
  let headers: Record<string, string> = {};
  return {
    name,
    status: 401,
    vault: 'own',
    setup: async () => {
      text = body();
      headers = { 'content-type': FORM_TYPE, ...slackHeaders(text, sandbox.devSecrets.slack) };
      const first = await post(app, 'slack', text, headers, firstQuery);
      expect(first.status, first.text).toBe(200);
    },
    send: () =>
      post(app, 'slack', text, {
        ...headers,
        'x-slack-signature': respell(headers['x-slack-signature'] ?? ''),
      }),
  };
}

const refusals: RefusalCase[] = [
  {
    name: 'no signature headers',
    status: 401,
    vault: 'none',
    send: () => post(app, 'slack', approve(), { 'content-type': FORM_TYPE }),
  },
  {
    name: 'X-Slack-Signature missing',
    status: 401,
    vault: 'none',
    send: () => signedWithout('x-slack-signature'),
  },
  {
    name: 'X-Slack-Request-Timestamp missing',
    status: 401,
    vault: 'none',
    send: () => signedWithout('x-slack-request-timestamp'),
  },
  {
    name: 'body over 64 KiB (413)',
    status: 413,
    vault: 'none',
    send: () => send(slackForm(`approve ${EXAMPLE_ID} ${'x'.repeat(70_000)}`)),
  },
  {
    name: 'JSON content type (415)',
    status: 415,
    vault: 'none',
    send: () => send(approve(), { headers: { 'content-type': JSON_TYPE } }),
  },
  {
    name: 'no content type (415)',
    status: 415,
    vault: 'none',
    send: () => {
      const body = approve();
      return post(app, 'slack', body, slackHeaders(body, sandbox.devSecrets.slack));
    },
  },
  {
    name: 'bad signature',
    status: 401,
    vault: 'own',
    send: () =>
      send(approve(), { headers: { 'x-slack-signature': `v0=${randomBytes(32).toString('hex')}` } }),
  },
  {
    name: 'malformed signature (unknown version)',
    status: 401,
    vault: 'own',
    send: () =>
      send(approve(), { headers: { 'x-slack-signature': `v1=${randomBytes(32).toString('hex')}` } }),
  },
  {
    name: "wrong signing secret (a stranger's)",
    status: 401,
    vault: 'own',
    send: () => send(approve(), { secret: randomBytes(16).toString('hex') }),
  },
  {
    name: 'stale timestamp (-6 min)',
    status: 401,
    vault: 'own',
    send: () => send(approve(), { timestamp: nowSeconds() - SKEW_SECONDS }),
  },
  {
    name: 'future timestamp (+6 min)',
    status: 401,
    vault: 'own',
    send: () => send(approve(), { timestamp: nowSeconds() + SKEW_SECONDS }),
  },
  {
    name: 'timestamp changed after signing',
    status: 401,
    vault: 'own',
    send: () => send(approve(), { headers: { 'x-slack-request-timestamp': String(nowSeconds() - 1) } }),
  },
  {
    name: 'tampered body (signature over another form)',
    status: 401,
    vault: 'own',
    send: () =>
      post(app, 'slack', slackForm(`reject ${EXAMPLE_ID}`), {
        'content-type': FORM_TYPE,
        ...slackHeaders(approve(), sandbox.devSecrets.slack),
      }),
  },
  capturedReplay('captured replay (the same signature sent again)', approve),
  capturedReplay(
    'captured dry run replayed without ?dryRun and with the hex upper-cased',
    approve,
    '?dryRun=true',
    (signature) => `v0=${signature.slice(3).toUpperCase()}`,
  ),
  capturedReplay('captured replay without a trigger_id', () =>
    slackForm(`approve ${EXAMPLE_ID}`, { trigger_id: undefined }),
  ),
  capturedReplay('captured replay of a status command', () => slackForm(`status ${PENDING_2}`)),
  capturedReplay(
    'captured dry run replayed without ?dryRun (the query is not signed)',
    approve,
    '?dryRun=true',
  ),
  {
    name: 'a form without user_id and command (400)',
    status: 400,
    vault: 'own',
    send: () => send(slackForm('help', { user_id: undefined, command: undefined })),
  },
  {
    name: 'a repeated field (400)',
    status: 400,
    vault: 'own',
    send: () => send(`${approve()}&text=${encodeURIComponent(`reject ${EXAMPLE_ID}`)}`),
  },
  {
    name: 'invalid UTF-8 (400)',
    status: 400,
    vault: 'own',
    send: () => send(new Uint8Array([0x74, 0x65, 0x78, 0x74, 0x3d, 0xff])),
  },
];

describe('POST /api/approvals/slack refuses', () => {
  it.each(refusals.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    await expectRefusal(sandbox, 'slack', row);
  });
});

/** A Slack reply is exactly `{ response_type, text }`. */
function expectSlackMessage(res: TestResponse, visibility: 'in_channel' | 'ephemeral'): string {
  expect(res.status, res.text).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(Object.keys(res.json).sort()).toEqual(['response_type', 'text']);
  expect(res.json.response_type).toBe(visibility);
  expect(typeof res.json.text).toBe('string');
  return res.json.text as string;
}

describe('POST /api/approvals/slack answers', () => {
  it('approve: in the channel, one PUT, the reason kept', async () => {
    const text = expectSlackMessage(await send(slackForm(`approve ${EXAMPLE_ID} CAB ok`)), 'in_channel');
    expect(text).toContain('Pending → Approved');
    expect(sandbox.counts().arm.PUT).toBe(1);
    expect(sandbox.connection(EXAMPLE_ID)).toMatchObject({ status: 'Approved', description: 'CAB ok' });
  });

  it('reject: in the channel', async () => {
    const text = expectSlackMessage(await send(slackForm(`reject ${PENDING_2}`)), 'in_channel');
    expect(text).toContain('Pending → Rejected');
    expect(sandbox.connection(PENDING_2)?.status).toBe('Rejected');
  });

  it('help: only to the sender, no ARM call', async () => {
    const text = expectSlackMessage(await send(slackForm('help')), 'ephemeral');
    expect(text).toContain('Commands:');
    expect(sandbox.counts().arm.total).toBe(0);
  });

  it('help sent again with the same signature is answered again (it writes nothing, so nothing is replayed)', async () => {
    const body = slackForm('help');
    const headers = { 'content-type': FORM_TYPE, ...slackHeaders(body, sandbox.devSecrets.slack) };
    for (const _ of [1, 2]) {
      expect(expectSlackMessage(await post(app, 'slack', body, headers), 'ephemeral')).toContain('Commands:');
    }
  });

  it('text is literal: the help shows its placeholders, and a reason cannot page a channel', async () => {
    const help = expectSlackMessage(await send(slackForm('help')), 'ephemeral');
    expect(help).toContain('approve &lt;connection-id&gt;');
    expect(help).not.toContain('<');
    const done = expectSlackMessage(
      await send(slackForm(`approve ${EXAMPLE_ID} ok <!channel> & co`)),
      'in_channel',
    );
    expect(sandbox.connection(EXAMPLE_ID)?.description).toBe('ok <!channel> & co');
    expect(done).toContain('ok &lt;!channel&gt; &amp; co');
    expect(done).not.toContain('<!channel>');
  });

  it('a refused command is told to the person as a message, not as an HTTP error Slack would hide', async () => {
    const key = `k-${randomBytes(8).toString('hex')}`;
    const first = await send(slackForm(`approve ${EXAMPLE_ID}`), { headers: { 'idempotency-key': key } });
    expect(first.status, first.text).toBe(200);
    const before = observe(sandbox);
    const reused = await send(slackForm(`reject ${PENDING_2}`), { headers: { 'idempotency-key': key } });
    expect(expectSlackMessage(reused, 'ephemeral')).toMatch(/^Not applied: This idempotency key was/);
    expect(sandbox.counts().arm.total).toBe(before.arm);
    expect(sandbox.connection(PENDING_2)?.status).toBe('Pending');
  });

  it('an empty command text is answered with help', async () => {
    const text = expectSlackMessage(await send(slackForm('')), 'ephemeral');
    expect(text).toContain('Commands:');
  });

  it('status: only to the sender, reads the connection, changes nothing', async () => {
    const before = observe(sandbox);
    const text = expectSlackMessage(await send(slackForm(`status ${PENDING_2}`)), 'ephemeral');
    expect(text).toContain('pe-pending-2 is Pending');
    expect(sandbox.counts().arm.GET).toBe(1);
    expect(sandbox.counts().arm.PUT).toBe(before.put);
  });

  it('a bad connection id: only to the sender, no ARM call', async () => {
    const text = expectSlackMessage(await send(slackForm('approve /subscriptions/nope')), 'ephemeral');
    expect(text).toContain('not valid');
    expect(sandbox.counts().arm.total).toBe(0);
  });

  it('ssl_check=1: 200 with an empty body', async () => {
    const res = await send('ssl_check=1&token=gIkuvaNzQIHg97ATvDxqgjtO');
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(sandbox.counts().arm.total).toBe(0);
  });

  it('ssl_check=1 unsigned (Slack may send it so): the same empty 200, reading no secret', async () => {
    const before = observe(sandbox);
    const check = 'ssl_check=1&token=gIkuvaNzQIHg97ATvDxqgjtO';
    const res = await post(app, 'slack', check, { 'content-type': FORM_TYPE });
    expect([res.status, res.text]).toEqual([200, '']);
    expect(vaultReadsSince(sandbox, before)).toEqual({});
    // Anything more than the check is a command, and unsigned it is refused.
    const smuggled = await post(app, 'slack', `${check}&${approve()}`, { 'content-type': FORM_TYPE });
    expectProblem(smuggled, 401);
    expect(sandbox.counts().arm.total).toBe(0);
  });
});
