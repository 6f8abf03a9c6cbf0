import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { EXAMPLE_ID, PENDING_2 } from '../support/arm.js';
import type { RefusalCase, SignedOptions, WebhookRoute } from '../support/callers.js';
import {
  bearer,
  bearerRefusals,
  callerClaims,
  expectRefusal,
  JSON_TYPE,
  nowSeconds,
  observe,
  post,
  signedPost,
  startCallerHost,
  webhookRefusals,
} from '../support/callers.js';
import type { TestHost, TestResponse } from '../support/host.js';

/** `POST /api/approvals` as Logic Apps, bots and scripts call it: Standard Webhooks or an Entra bearer token. */

const ROLE = 'Approvals.Write';

let sandbox: Sandbox;
/** Secret cache off, so every secret read reaches the Key Vault stand-in and shows in its counts. */
let app: TestHost;
/** Same, but bearer callers must carry ROLE. */
let roleApp: TestHost;

beforeAll(async () => {
  sandbox = await startSandbox();
  app = await startCallerHost(sandbox, { SECRET_CACHE_TTL_SECONDS: '0' });
  roleApp = await startCallerHost(sandbox, { SECRET_CACHE_TTL_SECONDS: '0', ENTRA_REQUIRED_ROLE: ROLE });
});
afterAll(async () => {
  await app?.host.close();
  await roleApp?.host.close();
  await sandbox?.close();
});
beforeEach(() => sandbox.reset());

const approval = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ connectionId: EXAMPLE_ID, decision: 'Approved', ...extra });

const route: WebhookRoute = {
  route: 'generic',
  sandbox: () => sandbox,
  app: () => app,
  secret: () => sandbox.devSecrets.generic,
  otherRouteSecret: () => sandbox.devSecrets.servicenow,
  payload: approval,
  otherPayload: () => approval({ connectionId: PENDING_2 }),
};

const signed = (body: string | Uint8Array, options: SignedOptions = {}): Promise<TestResponse> =>
  signedPost(route, body, options);

const refusals: RefusalCase[] = [
  ...webhookRefusals(route),
  {
    name: 'schema violation (400)',
    status: 400,
    vault: 'own',
    send: () => signed(JSON.stringify({ connectionId: EXAMPLE_ID, decision: 'Maybe' })),
  },
  ...bearerRefusals(
    () => sandbox,
    (authorization) =>
      post(app, 'generic', approval(), {
        'content-type': JSON_TYPE,
        authorization,
        'idempotency-key': randomUUID(),
      }),
  ),
  {
    name: 'bearer: valid token without the required app role',
    status: 403,
    vault: 'none',
    send: async () =>
      post(roleApp, 'generic', approval(), {
        'content-type': JSON_TYPE,
        authorization: await bearer(sandbox, callerClaims({ roles: ['Approvals.Read'] })),
        'idempotency-key': randomUUID(),
      }),
  },
];

describe('POST /api/approvals refuses', () => {
  it.each(refusals.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    await expectRefusal(sandbox, 'generic', row);
  });
});

describe('POST /api/approvals accepts', () => {
  it('a Standard Webhooks signed approval: JSON answer, one PUT', async () => {
    const res = await signed(approval());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.json).toMatchObject({
      outcome: 'approved',
      connection: { name: 'privateendpointconnection1', status: 'Approved', previousStatus: 'Pending' },
      arm: { status: 200 },
    });
    expect(res.json.id).toBe(res.headers.get('x-request-id'));
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(sandbox.counts().arm.PUT).toBe(1);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
  });

  it('an Entra bearer rejection from an allowed caller', async () => {
    const res = await post(
      app,
      'generic',
      JSON.stringify({ connectionId: PENDING_2, decision: 'Rejected', description: 'not ours' }),
      { 'content-type': JSON_TYPE, authorization: await bearer(sandbox), 'idempotency-key': randomUUID() },
    );
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({
      outcome: 'rejected',
      connection: { status: 'Rejected', previousStatus: 'Pending', description: 'not ours' },
    });
    expect(sandbox.connection(PENDING_2)?.status).toBe('Rejected');
  });

  it('a bearer token that carries the required app role', async () => {
    const res = await post(roleApp, 'generic', approval(), {
      'content-type': JSON_TYPE,
      authorization: await bearer(sandbox, callerClaims({ roles: [ROLE] })),
      'idempotency-key': randomUUID(),
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.outcome).toBe('approved');
  });
});

describe('POST /api/approvals retries and idempotency', () => {
  it.each([
    ['without an Idempotency-Key', undefined],
    ['with the same Idempotency-Key', 'same-key'],
  ])('a retry (same webhook-id and body, re-signed fresh) %s gets the stored answer', async (_label, key) => {
    const webhookId = `msg_${randomUUID()}`;
    const body = approval();
    const headers: Record<string, string> = key ? { 'idempotency-key': `${key}-${randomUUID()}` } : {};
    const first = await signed(body, { webhookId, timestamp: nowSeconds() - 30, headers });
    expect(first.status).toBe(200);
    const before = observe(sandbox);

    const retry = await signed(body, { webhookId, timestamp: nowSeconds(), headers });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.json).toEqual(first.json);
    expect(retry.headers.get('x-request-id')).toBeTruthy();
    expect(sandbox.counts().arm.total).toBe(before.arm);
    expect(sandbox.counts().arm.PUT).toBe(1);
  });

  it('a retry while ARM is unavailable gets the same 202 and Location; once it ended, the stored answer', async () => {
    sandbox.faults.add({ kind: 'status', status: 503, code: 'ServiceUnavailable', times: Infinity });
    const webhookId = `msg_${randomUUID()}`;
    const body = approval();
    const first = await signed(body, { webhookId, timestamp: nowSeconds() - 30 });
    expect(first.status, first.text).toBe(202);
    const location = first.headers.get('location')!;
    const again = await signed(body, { webhookId, timestamp: nowSeconds() });
    expect(again.status, again.text).toBe(202);
    expect(again.headers.get('location')).toBe(location);
    sandbox.faults.clear();

    const done = await app.followOutcome(location, { secret: sandbox.devSecrets.generic });
    expect(done.status, done.text).toBe(200);
    expect(done.json.outcome).toBe('approved');
    const retry = await signed(body, { webhookId, timestamp: nowSeconds() });
    expect(retry.status, retry.text).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.json).toEqual(done.json);
    expect(sandbox.counts().arm.PUT).toBe(1);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
  });

  it('the same Idempotency-Key with a different payload is 422, with no ARM call', async () => {
    const key = randomUUID();
    const first = await signed(approval(), { headers: { 'idempotency-key': key } });
    expect(first.status).toBe(200);
    const before = observe(sandbox);
    const second = await signed(approval({ description: 'something else' }), {
      headers: { 'idempotency-key': key },
    });
    expect(second.status).toBe(422);
    expect(second.headers.get('content-type')).toBe('application/problem+json');
    expect(second.json.instance).toBe(second.headers.get('x-request-id'));
    expect(sandbox.counts().arm.total).toBe(before.arm);
  });
});
