import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { DEV_SECRET_NAMES } from '../../dev/sandbox/dev-secrets.js';
import type { IssueTokenOptions } from '../../dev/sandbox/openid.js';
import { signSlack } from '../../src/auth/slack-signature.js';
import { standardWebhookHeaders } from '../../src/auth/standard-webhooks.js';
import { signTeams } from '../../src/auth/teams-signature.js';
import type { PolicyCheck } from '../../src/approval/decide.js';
import type { TestHost, TestResponse } from './host.js';
import { AUDIENCE, LOGIC_APP_OID, startTestHost } from './host.js';

/**
 * What the caller e2e tests share: each caller's signing done the way that caller does it (with the product's
 * own sign helpers, whose published vectors are unit-tested elsewhere), payload builders, and the checks every
 * refused request must pass.
 */

export const ROUTES = {
  generic: '/api/approvals',
  servicenow: '/api/approvals/servicenow',
  teams: '/api/approvals/teams',
  slack: '/api/approvals/slack',
} as const;

export type RouteName = keyof typeof ROUTES;

/** Key Vault secret each route verifies with, under the default names (README, Configuration). */
export const OWN_SECRET: Record<RouteName, string> = {
  generic: DEV_SECRET_NAMES.generic,
  servicenow: DEV_SECRET_NAMES.servicenow,
  teams: DEV_SECRET_NAMES.teams,
  slack: DEV_SECRET_NAMES.slack,
};

/** Beyond the five minutes every scheme tolerates. */
export const SKEW_SECONDS = 6 * 60;

/** Client id of the Logic App whose managed identity calls the generic route. */
export const LOGIC_APP_CLIENT_ID = '6f1c2d3e-0000-4000-8000-00000000c11e';

export const JSON_TYPE = 'application/json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';

/** Policy is not under test here: every authenticated, valid request may proceed. */
export const allowAll: PolicyCheck = () => ({ allowed: true, reasons: [], status: 200 });

/** A host pointed at the sandbox with policy out of the way; `env` as for startTestHost. */
export function startCallerHost(sandbox: Sandbox, env: Record<string, string> = {}): Promise<TestHost> {
  return startTestHost(sandbox, env, { policy: allowAll });
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A `whsec_` secret nobody configured. */
export const strangerWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

/** A Teams security token nobody configured. */
export const strangerTeamsToken = (): string => randomBytes(32).toString('base64');

/** A well-formed but wrong signature value, as a forger would send. */
export const randomSignatureBase64 = (): string => randomBytes(32).toString('base64');

// ---------------------------------------------------------------------------------------------- signing

export interface WebhookSigning {
  secret: string;
  webhookId?: string;
  timestamp?: number;
}

/** Standard Webhooks headers (generic and ServiceNow routes). */
export function webhookHeaders(body: string | Uint8Array, signing: WebhookSigning): Record<string, string> {
  return standardWebhookHeaders({
    secret: signing.secret,
    webhookId: signing.webhookId ?? `msg_${randomUUID()}`,
    timestamp: signing.timestamp ?? nowSeconds(),
    body,
  });
}

/** `Authorization: HMAC …` as a Teams outgoing webhook sends it. */
export function teamsHeaders(body: string | Uint8Array, securityToken: string): Record<string, string> {
  return { authorization: signTeams({ securityToken, body }) };
}

/** Slack's `X-Slack-Signature` and `X-Slack-Request-Timestamp`. */
export function slackHeaders(
  body: string | Uint8Array,
  signingSecret: string,
  timestamp = nowSeconds(),
): Record<string, string> {
  return {
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': signSlack({ signingSecret, timestamp, body }),
  };
}

// ---------------------------------------------------------------------------------------------- payloads

/** A ServiceNow change request's decision as the business rule posts it; `sys_id` is fresh each time. */
export function serviceNowChange(
  connectionId: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    sys_id: randomBytes(16).toString('hex'),
    number: `CHG${String(randomBytes(3).readUIntBE(0, 3)).padStart(7, '0')}`,
    state: 'implement',
    approval: 'approved',
    requested_by: 'alice@contoso.com',
    approved_by: 'bob@contoso.com',
    u_private_endpoint_connection_id: connectionId,
    reason: 'Approved by CAB',
    instance_url: 'https://contoso.service-now.com',
    ...overrides,
  };
}

export const TEAMS_USER_OID = '0b6f3c4d-1111-4a2b-8c3d-5e6f7a8b9c0d';
export const TEAMS_TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';

/** An outgoing webhook Activity: an @mention of the bot followed by the command, fresh id and timestamp. */
export function teamsActivity(
  command: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    type: 'message',
    id: `1${String(Date.now())}${String(randomBytes(2).readUInt16BE(0))}`,
    timestamp: new Date().toISOString(),
    localTimestamp: new Date().toISOString(),
    serviceUrl: 'https://smba.trafficmanager.net/emea/',
    channelId: 'msteams',
    from: { id: '29:1Xb2c3d4e5f6', name: 'Bob Approver', aadObjectId: TEAMS_USER_OID },
    conversation: { isGroup: true, id: '19:abc@thread.tacv2;messageid=1712', name: null },
    recipient: null,
    textFormat: 'plain',
    text: `<at>Approver</at> ${command}`,
    entities: [{ type: 'mention', text: '<at>Approver</at>', mentioned: { id: '28:bot', name: 'Approver' } }],
    channelData: { tenant: { id: TEAMS_TENANT_ID }, teamsTeamId: '19:team@thread.tacv2' },
    ...overrides,
  };
}

/** A slash command form as Slack posts it; `trigger_id` is fresh each time unless overridden. */
export function slackForm(text: string, overrides: Record<string, string | undefined> = {}): string {
  const fields: Record<string, string | undefined> = {
    token: 'gIkuvaNzQIHg97ATvDxqgjtO',
    team_id: 'T0001',
    team_domain: 'contoso',
    channel_id: 'C2147483705',
    channel_name: 'approvals',
    user_id: 'U2147483697',
    user_name: 'bob',
    command: '/pe',
    text,
    api_app_id: 'A123456',
    response_url: 'https://hooks.slack.com/commands/1234/5678',
    trigger_id: `${String(Date.now())}.${randomBytes(4).readUInt32BE(0)}.${randomBytes(8).toString('hex')}`,
    ...overrides,
  };
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) form.append(name, value);
  return form.toString();
}

// ---------------------------------------------------------------------------------------------- bearer

/** Claims of a token the generic route accepts: our audience, an allowed caller, an access token's `azp`. */
export function callerClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    aud: AUDIENCE,
    oid: LOGIC_APP_OID,
    azp: LOGIC_APP_CLIENT_ID,
    sub: LOGIC_APP_OID,
    idtyp: 'app',
    ...extra,
  };
}

export async function bearer(
  sandbox: Sandbox,
  claims: Record<string, unknown> = callerClaims(),
  options: IssueTokenOptions = {},
): Promise<string> {
  return `Bearer ${await sandbox.openId.issueToken(claims, options)}`;
}

/** The Authorization header of the Logic App's identity holding the app role that may start a discovery scan. */
export const discoveryRunner = (sandbox: Sandbox): Promise<string> =>
  bearer(sandbox, { aud: AUDIENCE, oid: LOGIC_APP_OID, azp: LOGIC_APP_OID, roles: ['Discovery.Run'] });

// ---------------------------------------------------------------------------------------------- refusals

export interface Observed {
  arm: number;
  put: number;
  kvGet: Record<string, number>;
  kvList: Record<string, number>;
}

export function observe(sandbox: Sandbox): Observed {
  const counts = sandbox.counts();
  const kv = sandbox.keyVault.counts();
  return { arm: counts.arm.total, put: counts.arm.PUT, kvGet: { ...kv.get }, kvList: { ...kv.list } };
}

/** Key Vault reads (gets and version-list pages) since `before`, per secret name; names with none omitted. */
export function vaultReadsSince(sandbox: Sandbox, before: Observed): Record<string, number> {
  const now = observe(sandbox);
  const reads: Record<string, number> = {};
  for (const [counts, earlier] of [
    [now.kvGet, before.kvGet],
    [now.kvList, before.kvList],
  ] as const) {
    for (const [name, n] of Object.entries(counts)) {
      const delta = n - (earlier[name] ?? 0);
      if (delta > 0) reads[name] = (reads[name] ?? 0) + delta;
    }
  }
  return reads;
}

export const armCallsSince = (sandbox: Sandbox, before: Observed): number =>
  sandbox.counts().arm.total - before.arm;

/** RFC 9457 problem+json whose `instance` is the request id the response carries. */
export function expectProblem(res: TestResponse, status: number): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.json.status).toBe(status);
  expect(typeof res.json.type).toBe('string');
  expect(typeof res.json.title).toBe('string');
  expect(typeof res.json.detail).toBe('string');
  const requestId = res.headers.get('x-request-id');
  expect(requestId).toBeTruthy();
  expect(res.json.instance).toBe(requestId);
}

/**
 * How far a refused request may get into Key Vault: `none` for refusals decided on the envelope alone (size,
 * content type, absent credentials, bearer tokens); `own` for signature checks, which read the route's own
 * secret and nothing else. Run against a host with SECRET_CACHE_TTL_SECONDS=0, so every read is visible.
 */
export type VaultAccess = 'none' | 'own';

export interface RefusalCase {
  name: string;
  status: number;
  vault: VaultAccess;
  /** Expected `WWW-Authenticate`, when the refusal must carry one. */
  challenge?: RegExp;
  /** What the problem's detail must say, where the status alone does not tell the caller what to fix. */
  detail?: RegExp;
  /** Not measured: e.g. the original delivery a replay repeats. */
  setup?: () => Promise<void>;
  send: () => Promise<TestResponse>;
}

/** Runs one refusal row: status, problem shape, no ARM call, bounded Key Vault access, no secret echoed. */
export async function expectRefusal(sandbox: Sandbox, route: RouteName, row: RefusalCase): Promise<void> {
  if (row.setup) await row.setup();
  const before = observe(sandbox);
  const res = await row.send();
  expectProblem(res, row.status);
  expect(armCallsSince(sandbox, before), 'ARM calls').toBe(0);
  const reads = vaultReadsSince(sandbox, before);
  if (row.vault === 'none') expect(reads, 'Key Vault reads').toEqual({});
  // The hosts in these tests cache nothing, so a signature check always shows as a read of its own secret.
  else expect(Object.keys(reads), 'Key Vault secrets read').toEqual([OWN_SECRET[route]]);
  if (row.challenge) expect(res.headers.get('www-authenticate') ?? '').toMatch(row.challenge);
  if (row.detail) expect(res.json.detail).toMatch(row.detail);
  // RFC 9110: every 401 names a scheme the route takes.
  if (row.status === 401) expect(res.headers.get('www-authenticate'), 'WWW-Authenticate').toMatch(/^[\w-]+/);
  for (const secret of Object.values(sandbox.devSecrets)) expect(res.text).not.toContain(secret);
}

export const INVALID_TOKEN = /^Bearer error="invalid_token"/;

/**
 * The bearer token refusals shared by the generic and ServiceNow routes. `send` posts a valid body with the
 * given Authorization header.
 */
export function bearerRefusals(
  sandboxOf: () => Sandbox,
  send: (authorization: string) => Promise<TestResponse>,
): RefusalCase[] {
  const token = (claims: Record<string, unknown>, options: IssueTokenOptions = {}): Promise<string> =>
    bearer(sandboxOf(), claims, options);
  const refused = (
    name: string,
    authorization: () => Promise<string>,
    status = 401,
    challenge: RegExp | null = INVALID_TOKEN,
  ): RefusalCase => ({
    name,
    status,
    vault: 'none',
    ...(challenge ? { challenge } : {}),
    send: async () => send(await authorization()),
  });
  return [
    refused('bearer: alg none', () => token(callerClaims(), { alg: 'none' })),
    refused('bearer: HS256 keyed with the public key (algorithm confusion)', () =>
      token(callerClaims(), { alg: 'HS256' }),
    ),
    refused('bearer: signed with a foreign key under the published kid', () =>
      token(callerClaims(), { signWith: 'foreign' }),
    ),
    refused('bearer: wrong audience', () => token(callerClaims({ aud: 'api://some-other-api' }))),
    // A good token whose tenant may not call here: authenticated, not allowed.
    refused(
      'bearer: tenant not in ENTRA_ALLOWED_TENANTS',
      () => token(callerClaims({ tid: randomUUID() })),
      403,
      /^Bearer error="insufficient_scope"/,
    ),
    refused('bearer: expired', () => token(callerClaims(), { expiresInSeconds: -SKEW_SECONDS })),
    refused('bearer: nbf in the future', () =>
      token(callerClaims(), { notBefore: nowSeconds() + SKEW_SECONDS }),
    ),
    refused('bearer: not a JWT', async () => 'Bearer not-a-token'),
    refused(
      'bearer: valid token, caller not in ENTRA_ALLOWED_CALLERS',
      () => token(callerClaims({ oid: randomUUID(), azp: randomUUID(), sub: randomUUID() })),
      403,
      null,
    ),
  ];
}

/** The headers without one of them. */
export function omit(headers: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));
}

/** POST with exactly these headers (the host helper's default content type is replaced, not merged). */
export function post(
  app: TestHost,
  route: RouteName,
  body: string | Uint8Array,
  headers: Record<string, string>,
  query = '',
): Promise<TestResponse> {
  return app.post(`${ROUTES[route]}${query}`, body, headers);
}

// ---------------------------------------------------------------------------------------------- webhook routes

/** What the Standard Webhooks refusal table needs to know about a route (generic or ServiceNow). */
export interface WebhookRoute {
  route: 'generic' | 'servicenow';
  sandbox: () => Sandbox;
  app: () => TestHost;
  /** This route's secret value. */
  secret: () => string;
  /** The other webhook route's secret: valid in the vault, but not for this route. */
  otherRouteSecret: () => string;
  /** A valid payload deciding a seeded Pending connection (fresh ids each call). */
  payload: (extra?: Record<string, unknown>) => string;
  /** A different valid payload, for tampering. */
  otherPayload: () => string;
}

export interface SignedOptions {
  secret?: string;
  webhookId?: string;
  timestamp?: number;
  headers?: Record<string, string>;
  host?: TestHost;
}

/** A JSON POST signed with the route's own secret unless `secret` says otherwise; `headers` win. */
export function signedPost(
  r: WebhookRoute,
  body: string | Uint8Array,
  options: SignedOptions = {},
): Promise<TestResponse> {
  const signing: WebhookSigning = { secret: options.secret ?? r.secret() };
  if (options.webhookId !== undefined) signing.webhookId = options.webhookId;
  if (options.timestamp !== undefined) signing.timestamp = options.timestamp;
  return post(options.host ?? r.app(), r.route, body, {
    'content-type': JSON_TYPE,
    ...webhookHeaders(body, signing),
    ...options.headers,
  });
}

/**
 * The Standard Webhooks rows every webhook route must refuse: absent credentials and envelope problems with
 * no Key Vault read; signature, timestamp and replay failures reading only the route's own secret; malformed
 * bodies (400) only once authenticated.
 */
export function webhookRefusals(r: WebhookRoute): RefusalCase[] {
  const signed = (body: string | Uint8Array, options: SignedOptions = {}): Promise<TestResponse> =>
    signedPost(r, body, options);
  const without = (header: string): Promise<TestResponse> => {
    const body = r.payload();
    const headers = { 'content-type': JSON_TYPE, ...webhookHeaders(body, { secret: r.secret() }) };
    return post(r.app(), r.route, body, omit(headers, header));
  };
  const withType = (contentType: string): Promise<TestResponse> =>
    signed(r.payload(), { headers: { 'content-type': contentType } });

  const replayUnderAnotherKey = (): RefusalCase => {
    const webhookId = `msg_${randomUUID()}`;
    let body = '';
    return {
      name: 'replayed webhook-id under a different Idempotency-Key',
      status: 401,
      vault: 'own',
      setup: async () => {
        body = r.payload();
        const first = await signed(body, { webhookId, timestamp: nowSeconds() - 5 });
        expect(first.status, first.text).toBe(200);
      },
      send: () => signed(body, { webhookId, headers: { 'idempotency-key': `other-${randomUUID()}` } }),
    };
  };
  const capturedReplay = (): RefusalCase => {
    let body = '';
    let captured: Record<string, string> = {};
    return {
      name: 'captured replay (same webhook-id, timestamp and signature, sent again)',
      status: 401,
      vault: 'own',
      setup: async () => {
        body = r.payload();
        captured = { 'content-type': JSON_TYPE, ...webhookHeaders(body, { secret: r.secret() }) };
        const first = await post(r.app(), r.route, body, captured);
        expect(first.status, first.text).toBe(200);
      },
      send: () => post(r.app(), r.route, body, captured),
    };
  };

  const dryRunReplayedForReal = (): RefusalCase => {
    let body = '';
    let captured: Record<string, string> = {};
    return {
      name: 'captured dry run replayed without ?dryRun (the query is not signed)',
      status: 401,
      vault: 'own',
      setup: async () => {
        body = r.payload();
        captured = { 'content-type': JSON_TYPE, ...webhookHeaders(body, { secret: r.secret() }) };
        const first = await post(r.app(), r.route, body, captured, '?dryRun=true');
        expect(first.status, first.text).toBe(200);
      },
      send: () => post(r.app(), r.route, body, captured),
    };
  };

  return [
    {
      name: 'no credentials at all',
      status: 401,
      vault: 'none',
      challenge: /^Bearer/,
      send: () => post(r.app(), r.route, r.payload(), { 'content-type': JSON_TYPE }),
    },
    {
      name: 'Authorization: Basic (neither bearer nor signature)',
      status: 401,
      vault: 'none',
      send: () =>
        post(r.app(), r.route, r.payload(), {
          'content-type': JSON_TYPE,
          authorization: 'Basic dXNlcjpwYXNz',
        }),
    },
    {
      name: 'webhook-signature missing',
      status: 401,
      vault: 'none',
      send: () => without('webhook-signature'),
    },
    { name: 'webhook-id missing', status: 401, vault: 'none', send: () => without('webhook-id') },
    {
      name: 'webhook-timestamp missing',
      status: 401,
      vault: 'none',
      send: () => without('webhook-timestamp'),
    },
    {
      name: 'body over 64 KiB (413)',
      status: 413,
      vault: 'none',
      send: () => signed(r.payload({ padding: 'x'.repeat(70_000) })),
    },
    { name: 'text/plain (415)', status: 415, vault: 'none', send: () => withType('text/plain') },
    { name: 'form content type (415)', status: 415, vault: 'none', send: () => withType(FORM_TYPE) },
    {
      name: 'JSON in a charset other than UTF-8 (415)',
      status: 415,
      vault: 'none',
      send: () => withType('application/json; charset=iso-8859-1'),
      detail: /"application\/json; charset=iso-8859-1" must be application\/json in UTF-8/,
    },
    {
      name: 'no content type (415)',
      status: 415,
      vault: 'none',
      send: () => {
        const body = r.payload();
        return post(r.app(), r.route, body, webhookHeaders(body, { secret: r.secret() }));
      },
    },
    {
      name: 'bad signature',
      status: 401,
      vault: 'own',
      send: () => signed(r.payload(), { headers: { 'webhook-signature': `v1,${randomSignatureBase64()}` } }),
    },
    {
      name: 'malformed signature',
      status: 401,
      vault: 'own',
      send: () => signed(r.payload(), { headers: { 'webhook-signature': 'v1,not base64!' } }),
    },
    {
      name: "wrong secret (a stranger's)",
      status: 401,
      vault: 'own',
      send: () => signed(r.payload(), { secret: strangerWebhookSecret() }),
    },
    {
      name: "wrong secret (the other webhook route's)",
      status: 401,
      vault: 'own',
      send: () => signed(r.payload(), { secret: r.otherRouteSecret() }),
    },
    {
      name: 'stale timestamp (-6 min)',
      status: 401,
      vault: 'own',
      send: () => signed(r.payload(), { timestamp: nowSeconds() - SKEW_SECONDS }),
    },
    {
      name: 'future timestamp (+6 min)',
      status: 401,
      vault: 'own',
      send: () => signed(r.payload(), { timestamp: nowSeconds() + SKEW_SECONDS }),
    },
    {
      name: 'timestamp not epoch seconds',
      status: 401,
      vault: 'own',
      send: () => signed(r.payload(), { headers: { 'webhook-timestamp': new Date().toISOString() } }),
    },
    {
      name: 'tampered body (signature over another body)',
      status: 401,
      vault: 'own',
      send: () => {
        const headers = webhookHeaders(r.payload(), { secret: r.secret() });
        return post(r.app(), r.route, r.otherPayload(), { 'content-type': JSON_TYPE, ...headers });
      },
    },
    {
      name: 'webhook-id changed after signing',
      status: 401,
      vault: 'own',
      send: () => signed(r.payload(), { webhookId: 'msg_signed', headers: { 'webhook-id': 'msg_sent' } }),
    },
    replayUnderAnotherKey(),
    capturedReplay(),
    dryRunReplayedForReal(),
    { name: 'malformed JSON (400)', status: 400, vault: 'own', send: () => signed('{"a": ') },
    {
      name: 'invalid UTF-8 (400)',
      status: 400,
      vault: 'own',
      send: () => signed(new Uint8Array([0x7b, 0xff, 0x7d])),
    },
    { name: 'a JSON array (400)', status: 400, vault: 'own', send: () => signed('[]') },
  ];
}
