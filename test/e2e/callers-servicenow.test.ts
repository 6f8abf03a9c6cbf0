import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { EXAMPLE_ID, PENDING_2 } from '../support/arm.js';
import type { RefusalCase, SignedOptions, WebhookRoute } from '../support/callers.js';
import {
  bearer,
  bearerRefusals,
  expectProblem,
  expectRefusal,
  JSON_TYPE,
  nowSeconds,
  observe,
  post,
  serviceNowChange,
  signedPost,
  startCallerHost,
  strangerWebhookSecret,
  webhookHeaders,
  webhookRefusals,
} from '../support/callers.js';
import type { TestHost, TestResponse } from '../support/host.js';

/** `POST /api/approvals/servicenow` as a business rule or Flow REST step calls it. */

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

const change = (extra: Record<string, unknown> = {}): string =>
  JSON.stringify(serviceNowChange(EXAMPLE_ID, extra));

const route: WebhookRoute = {
  route: 'servicenow',
  sandbox: () => sandbox,
  app: () => app,
  secret: () => sandbox.devSecrets.servicenow,
  otherRouteSecret: () => sandbox.devSecrets.generic,
  payload: change,
  otherPayload: () => change({ u_private_endpoint_connection_id: PENDING_2 }),
};

const signed = (body: string | Uint8Array, options: SignedOptions = {}): Promise<TestResponse> =>
  signedPost(route, body, options);

const refusals: RefusalCase[] = [
  ...webhookRefusals(route),
  {
    name: 'schema violation (400)',
    status: 400,
    vault: 'own',
    send: () => signed(change({ approval: 'maybe', sys_id: 'not-a-sys-id' })),
  },
  {
    name: 'the canonical payload with a schema violation (400)',
    status: 400,
    vault: 'own',
    send: () => signed(JSON.stringify({ connectionId: EXAMPLE_ID, decision: 'approve' })),
  },
  ...bearerRefusals(
    () => sandbox,
    (authorization) => post(app, 'servicenow', change(), { 'content-type': JSON_TYPE, authorization }),
  ),
];

describe('POST /api/approvals/servicenow refuses', () => {
  it.each(refusals.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    await expectRefusal(sandbox, 'servicenow', row);
  });

  it('a malformed connection id after authentication: 400 with a work note, no ARM call', async () => {
    const before = observe(sandbox);
    const res = await signed(change({ u_private_endpoint_connection_id: `${EXAMPLE_ID}/../x` }));
    expectProblem(res, 400);
    expect(res.json.work_note).toEqual(expect.stringContaining(res.json.instance as string));
    expect(sandbox.counts().arm.total).toBe(before.arm);
  });
});

describe('POST /api/approvals/servicenow accepts', () => {
  it('an approved change: JSON answer with a work note, one PUT', async () => {
    const body = serviceNowChange(EXAMPLE_ID, { number: 'CHG0031234', reason: 'CHG0031234 approved by bob' });
    const res = await signed(JSON.stringify(body));
    expect(res.status, res.text).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.json).toMatchObject({
      outcome: 'approved',
      connection: {
        name: 'privateendpointconnection1',
        status: 'Approved',
        previousStatus: 'Pending',
        description: 'CHG0031234 approved by bob',
      },
    });
    expect(res.json.work_note).toEqual(expect.stringContaining('Pending → Approved'));
    expect(res.json.work_note).toEqual(expect.stringContaining(res.json.id as string));
    expect(sandbox.counts().arm.PUT).toBe(1);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
  });

  it('a rejected change', async () => {
    const res = await signed(
      JSON.stringify(
        serviceNowChange(PENDING_2, { approval: 'rejected', reason: 'Not an approved consumer' }),
      ),
    );
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ outcome: 'rejected', connection: { status: 'Rejected' } });
    expect(typeof res.json.work_note).toBe('string');
    expect(sandbox.connection(PENDING_2)?.status).toBe('Rejected');
  });

  it('the canonical ApprovalRequest too (Flow Designer REST steps), with a work note', async () => {
    const res = await signed(
      JSON.stringify({
        connectionId: PENDING_2,
        decision: 'Rejected',
        ticket: { system: 'servicenow', id: 'CHG0031299', state: 'implement' },
      }),
    );
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ outcome: 'rejected', connection: { status: 'Rejected' } });
    expect(typeof res.json.work_note).toBe('string');
  });

  it('an Entra bearer token from an allowed caller', async () => {
    const res = await post(app, 'servicenow', change(), {
      'content-type': JSON_TYPE,
      authorization: await bearer(sandbox),
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.outcome).toBe('approved');
    expect(typeof res.json.work_note).toBe('string');
  });
});

describe('POST /api/approvals/servicenow retries and idempotency', () => {
  it.each([
    ['without an Idempotency-Key', undefined],
    ['with the same Idempotency-Key', 'same-key'],
  ])('a retry (same webhook-id and body, re-signed fresh) %s gets the stored answer', async (_label, key) => {
    const webhookId = `msg_${randomUUID()}`;
    const body = change();
    const headers: Record<string, string> = key ? { 'idempotency-key': `${key}-${randomUUID()}` } : {};
    const first = await signed(body, { webhookId, timestamp: nowSeconds() - 30, headers });
    expect(first.status, first.text).toBe(200);
    const before = observe(sandbox);

    const retry = await signed(body, { webhookId, timestamp: nowSeconds(), headers });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.json).toEqual(first.json);
    expect(sandbox.counts().arm.total).toBe(before.arm);
    expect(sandbox.counts().arm.PUT).toBe(1);
  });

  it('a retry while ARM is unavailable gets the same 202 and Location; once it ended, the stored answer', async () => {
    sandbox.faults.add({ kind: 'status', status: 503, code: 'ServiceUnavailable', times: Infinity });
    const webhookId = `msg_${randomUUID()}`;
    const body = change();
    const first = await signed(body, { webhookId, timestamp: nowSeconds() - 30 });
    expect(first.status, first.text).toBe(202);
    const location = first.headers.get('location')!;
    const again = await signed(body, { webhookId, timestamp: nowSeconds() });
    expect(again.status, again.text).toBe(202);
    expect(again.headers.get('location')).toBe(location);
    // The same note as the first: the outcome goes to the record's work notes, not only to the Location.
    expect(first.json.work_note).toContain("written to this record's work notes");
    expect(again.json.work_note).toBe(first.json.work_note);
    sandbox.faults.clear();

    const done = await app.followOutcome(location, { secret: sandbox.devSecrets.servicenow });
    expect(done.status, done.text).toBe(200);
    expect(done.json.outcome).toBe('approved');
    expect(typeof done.json.work_note).toBe('string');
    const retry = await signed(body, { webhookId, timestamp: nowSeconds() });
    expect(retry.status, retry.text).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.json).toEqual(done.json);
    expect(sandbox.counts().arm.PUT).toBe(1);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
  });

  it('Prefer: respond-async without work-note write-back: 202 and a Location the rule can poll', async () => {
    const quiet = await startCallerHost(sandbox, { SERVICENOW_INSTANCE_URL: '' });
    try {
      const res = await signedPost({ ...route, app: () => quiet }, change(), {
        headers: { prefer: 'respond-async' },
      });
      expect(res.status, res.text).toBe(202);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      const done = await quiet.followOutcome(res.headers.get('location')!, {
        secret: sandbox.devSecrets.servicenow,
      });
      expect(done.status, done.text).toBe(200);
      expect(done.json.outcome).toBe('approved');
      expect(sandbox.counts().arm.PUT).toBe(1);
    } finally {
      await quiet.host.close();
    }
  });

  it('with the generic route on the same secret, the Location of ServiceNow work is still its to read', async () => {
    const shared = strangerWebhookSecret();
    const names = {
      generic: `shared-g-${randomUUID().slice(0, 8)}`,
      servicenow: `shared-s-${randomUUID().slice(0, 8)}`,
    };
    sandbox.keyVault.setSecret(names.generic, shared);
    sandbox.keyVault.setSecret(names.servicenow, shared);
    const both = await startCallerHost(sandbox, {
      WEBHOOK_SECRET_NAME: names.generic,
      SERVICENOW_SECRET_NAME: names.servicenow,
      SERVICENOW_INSTANCE_URL: '',
    });
    try {
      const body = change();
      const res = await post(both, 'servicenow', body, {
        'content-type': JSON_TYPE,
        prefer: 'respond-async',
        ...webhookHeaders(body, { secret: shared }),
      });
      expect(res.status, res.text).toBe(202);
      // The poll matches the generic secret first; the work is ServiceNow's, and the same signature proves that too.
      const done = await both.followOutcome(res.headers.get('location')!, { secret: shared });
      expect(done.status, done.text).toBe(200);
      expect(done.json.outcome).toBe('approved');
    } finally {
      await both.host.close();
    }
  });

  it('the same Idempotency-Key with a different payload is 422, with no ARM call', async () => {
    const key = randomUUID();
    const first = await signed(change(), { headers: { 'idempotency-key': key } });
    expect(first.status, first.text).toBe(200);
    const before = observe(sandbox);
    const second = await signed(change({ reason: 'something else' }), {
      headers: { 'idempotency-key': key },
    });
    expectProblem(second, 422);
    expect(sandbox.counts().arm.total).toBe(before.arm);
  });
});

describe('the generic and ServiceNow routes sharing one secret', () => {
  it('refuse on one route a message the other accepted: a captured dry run is no approval elsewhere', async () => {
    const shared = await startCallerHost(sandbox, { SERVICENOW_SECRET_NAME: 'webhook-secret' });
    try {
      const body = JSON.stringify({
        connectionId: PENDING_2,
        decision: 'Approved',
        approver: 'bob@contoso.com',
      });
      const headers = {
        'content-type': JSON_TYPE,
        ...webhookHeaders(body, { secret: sandbox.devSecrets.generic }),
      };
      const dry = await shared.post('/api/approvals?dryRun=true', body, headers);
      expect(dry.status, dry.text).toBe(200);
      // The signature covers neither path nor query: the same bytes sent to the other route are a replay.
      const replayed = await shared.post('/api/approvals/servicenow', body, headers);
      expectProblem(replayed, 401);
      expect(sandbox.counts().arm.PUT).toBe(0);
      expect(sandbox.connection(PENDING_2)?.status).toBe('Pending');
    } finally {
      await shared.host.close();
    }
  });
});
