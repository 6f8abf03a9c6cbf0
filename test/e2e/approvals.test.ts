import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { APPROVED_ID, EXAMPLE_ID, PENDING_2, REJECTED_ID, SUB } from '../support/arm.js';
import type { TestHost } from '../support/host.js';
import { AUDIENCE, LOGIC_APP_OID } from '../support/host.js';
import { standardWebhookHeaders } from '../../src/auth/standard-webhooks.js';
import { randomUUID } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { startTestHost } from '../support/host.js';
import { send } from '../../bench/http-client.js';
import { eventually } from '../support/eventually.js';

let sandbox: Sandbox;
let app: TestHost;

beforeAll(async () => {
  sandbox = await startSandbox();
  app = await startTestHost(sandbox);
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});
beforeEach(() => sandbox.reset());

const post = (body: unknown, path = '/api/approvals') => app.signedPost(path, body);
const armCalls = () => sandbox.counts().arm.total;

describe('POST /api/approvals', () => {
  it('approves the spec example: one GET, one PUT of exactly the spec body, documented response shape', async () => {
    const res = await post({ connectionId: EXAMPLE_ID, decision: 'Approved' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      outcome: 'approved',
      connection: {
        name: 'privateendpointconnection1',
        status: 'Approved',
        previousStatus: 'Pending',
        provisioningState: 'Succeeded',
        privateEndpointId:
          '/subscriptions/subid2/resourceGroups/rg2/providers/Microsoft.Network/privateEndpoints/pe2',
      },
      policy: { allowed: true },
      arm: { status: 200 },
    });
    const id = res.json.id as string;
    expect(res.headers.get('x-request-id')).toBe(id);
    const puts = sandbox.requests().filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(1);
    expect(puts[0]!.path).toBe(EXAMPLE_ID);
    expect(puts[0]!.query['api-version']).toBe('2025-01-01');
    expect(JSON.parse(puts[0]!.body!)).toEqual({
      properties: { privateLinkServiceConnectionState: { status: 'Approved' } },
    });
    expect(puts[0]!.headers['x-ms-client-request-id']).toBe(id);
    const gets = sandbox.requests().filter((r) => r.method === 'GET');
    expect(gets).toHaveLength(1);
    // One correlation id for the whole approval, reported back to the caller.
    expect(gets[0]!.headers['x-ms-correlation-request-id']).toBe(
      puts[0]!.headers['x-ms-correlation-request-id'],
    );
    expect((res.json.arm as { correlationId: string }).correlationId).toBe(
      puts[0]!.headers['x-ms-correlation-request-id'],
    );
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
  });

  it('writes the description when given', async () => {
    const res = await post({
      connectionId: PENDING_2,
      decision: 'Rejected',
      description: 'CHG0031234 rejected by bob',
    });
    expect(res.status).toBe(200);
    expect(res.json.outcome).toBe('rejected');
    const put = sandbox.requests().find((r) => r.method === 'PUT')!;
    expect(JSON.parse(put.body!)).toEqual({
      properties: {
        privateLinkServiceConnectionState: { status: 'Rejected', description: 'CHG0031234 rejected by bob' },
      },
    });
    // The consumer's request message, which the provider no longer holds, is kept in the audit record.
    expect(sandbox.connection(PENDING_2)?.description).toBe('CHG0031234 rejected by bob');
    const record = await app.signedGet(`/api/approvals/${res.json.id as string}`);
    expect(record.json).toMatchObject({
      previousStatus: 'Pending',
      previousDescription: 'Requested by team-a',
    });
  });

  it('answers unchanged without a PUT when already in the asked state (ids in any casing)', async () => {
    const res = await post({
      connectionId: APPROVED_ID.toLowerCase().replace(SUB.toLowerCase(), SUB),
      decision: 'Approved',
    });
    expect(res.status).toBe(200);
    expect(res.json.outcome).toBe('unchanged');
    expect(sandbox.counts().arm.PUT).toBe(0);
  });

  it('dry run: everything but the PUT, and says what would happen', async () => {
    const res = await post({ connectionId: EXAMPLE_ID, decision: 'Approved' }, '/api/approvals?dryRun=true');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      outcome: 'dry-run',
      connection: { status: 'Pending', previousStatus: 'Pending' },
      plan: { write: true, status: 'Approved' },
    });
    expect(sandbox.counts().arm.PUT).toBe(0);
    expect(sandbox.counts().arm.GET).toBe(1);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Pending');
  });

  it('maps ARM 404 to 404 problem+json carrying the ARM code', async () => {
    const res = await post({
      connectionId: EXAMPLE_ID.replace('privateendpointconnection1', 'gone'),
      decision: 'Approved',
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.json.detail).toContain('ResourceNotFound');
    expect(res.json.instance).toBe(res.headers.get('x-request-id'));
  });

  it('accepts with 202, Location and Retry-After when ARM keeps throttling, and finishes once it recovers', async () => {
    sandbox.faults.add({ kind: 'status', status: 429, retryAfter: '1', times: Infinity });
    const res = await post({ connectionId: EXAMPLE_ID, decision: 'Approved' });
    expect(res.status).toBe(202);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const location = res.headers.get('location')!;
    expect(location).toContain(`/api/approvals/${res.json.id as string}/outcome`);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Pending');
    const running = await app.signedGet(new URL(location).pathname);
    expect(running.status).toBe(202);
    expect(running.json.outcome).toBe('in-progress');
    sandbox.faults.clear();
    const done = await app.followOutcome(location);
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ id: res.json.id, outcome: 'approved' });
    expect(sandbox.counts().arm.PUT).toBe(1);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
  });

  it("answers 502 arm-conflict when ARM reports a conflict (409 is for this API's own conflicts)", async () => {
    sandbox.faults.add({ method: 'PUT', kind: 'status', status: 409, code: 'OperationNotAllowed' });
    const res = await post({ connectionId: EXAMPLE_ID, decision: 'Approved' });
    expect(res.status).toBe(502);
    expect(res.json.type).toMatch(/arm-conflict$/);
    expect(res.json.detail).toContain('OperationNotAllowed');
  });
});

describe('bad input gets a problem and causes no ARM call', () => {
  const cases: [
    string,
    () => Promise<{ status: number; json: Record<string, unknown>; headers: Headers }>,
    number,
  ][] = [
    ['malformed JSON', () => app.signedPost('/api/approvals', '{"connectionId": '), 400],
    ['invalid UTF-8', () => app.signedPost('/api/approvals', new Uint8Array([0x7b, 0xff, 0x7d])), 400],
    ['a JSON array', () => app.signedPost('/api/approvals', '[]'), 400],
    ['a schema violation', () => post({ decision: 'maybe', extra: true }), 400],
    [
      'a hostile connection id',
      () => post({ connectionId: `${EXAMPLE_ID}/../../x`, decision: 'Approved' }),
      400,
    ],
    [
      'a URL as connection id',
      () => post({ connectionId: `https://evil.example${EXAMPLE_ID}`, decision: 'Approved' }),
      400,
    ],
    [
      'an encoded slash',
      () =>
        post({
          connectionId: EXAMPLE_ID.replace('privateendpointconnection1', 'a%2Fb'),
          decision: 'Approved',
        }),
      400,
    ],
    [
      'a body over 64 KiB',
      () => post({ connectionId: EXAMPLE_ID, decision: 'Approved', description: 'x'.repeat(70_000) }),
      413,
    ],
    [
      'text/plain',
      () =>
        app.post('/api/approvals', JSON.stringify({ connectionId: EXAMPLE_ID, decision: 'Approved' }), {
          'content-type': 'text/plain',
        }),
      415,
    ],
    [
      'no content type',
      () =>
        app.post('/api/approvals', JSON.stringify({ connectionId: EXAMPLE_ID, decision: 'Approved' }), {}),
      415,
    ],
    [
      'a form body',
      () =>
        app.post('/api/approvals', 'connectionId=x', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
    ],
    [
      'a bad dryRun value',
      () => post({ connectionId: EXAMPLE_ID, decision: 'Approved' }, '/api/approvals?dryRun=yes'),
      400,
    ],
  ];

  it.each(cases)('%s', async (_label, send, status) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.json).toMatchObject({ status, type: expect.stringContaining('problem:') as string });
    expect(typeof res.json.title).toBe('string');
    expect(typeof res.json.detail).toBe('string');
    expect(res.json.instance).toBe(res.headers.get('x-request-id'));
    expect(armCalls()).toBe(0);
  });

  it('lists every schema error as a JSON pointer', async () => {
    const res = await post({ decision: 'maybe', extra: true });
    const pointers = (res.json.errors as { pointer: string }[]).map((e) => e.pointer).sort();
    expect(pointers).toEqual(['/connectionId', '/decision', '/extra']);
  });

  it('points at the connection id when it is malformed', async () => {
    const res = await post({ connectionId: '/subscriptions/not-a-uuid', decision: 'Approved' });
    expect(res.json.errors).toEqual([{ pointer: '/connectionId', message: expect.any(String) as string }]);
  });
});

/** A HEAD over its own socket, counting what the socket carries after the head: a body sent anyway would show. */
function rawHead(url: string): Promise<{ status: number; headers: IncomingHttpHeaders; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'HEAD', agent: false }, (res) => {
      let bytes = 0;
      res.socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => {
        setTimeout(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }), 50);
      });
      res.resume();
    });
    req.on('error', reject);
    req.end();
  });
}

describe('host routes', () => {
  it('GET /api/health says the configuration loaded', async () => {
    const res = await app.get('/api/health');
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('ok');
  });
  it('GET /api/health takes ?dryRun=true as every route does (a read answers the same); a misspelling is 400', async () => {
    const res = await app.get('/api/health?dryRun=true');
    expect(res.status, res.text).toBe(200);
    expect(res.json.status).toBe('ok');
    expect((await app.get('/api/health?dryrun=true')).status).toBe(400);
  });
  it('answers HEAD on a read route as GET, without the body (RFC 9110)', async () => {
    const got = await app.get('/api/health');
    const head = await rawHead(`${app.host.url}/api/health`);
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe(got.headers.get('content-type'));
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(got.text)));
    expect(head.bytes).toBe(0);
    const post = await app.post('/api/health', '');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
  it('refuses other methods with 405 and Allow', async () => {
    const res = await app.get('/api/approvals');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });
  it('answers unknown paths with a 404 problem', async () => {
    const res = await app.get('/api/nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('policy', () => {
  it('a connection that was rejected cannot be approved: 409 with reasons, nothing written', async () => {
    const res = await post({ connectionId: REJECTED_ID, decision: 'Approved' });
    expect(res.status).toBe(409);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((res.json.reasons as { rule: string }[]).map((r) => r.rule)).toContain('transitions');
    expect(sandbox.counts().arm.PUT).toBe(0);
    expect(sandbox.connection(REJECTED_ID)?.status).toBe('Rejected');
  });

  it('the shipped default policy denies: 403 listing the reasons, and nothing written', async () => {
    const strict = await startTestHost(sandbox, { POLICY_PATH: 'policy/policy.yaml' });
    try {
      const res = await strict.signedPost('/api/approvals', {
        connectionId: EXAMPLE_ID,
        decision: 'Approved',
      });
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const reasons = res.json.reasons as { rule: string; message: string }[];
      expect(reasons.length).toBeGreaterThan(0);
      expect(reasons.every((r) => r.rule.length > 0 && r.message.length > 0)).toBe(true);
      expect(res.json.instance).toBe(res.headers.get('x-request-id'));
      // No rule lists the caller: refused before the GET, so the app's identity cannot be used to probe.
      expect(sandbox.counts().arm.total).toBe(0);
      expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Pending');
    } finally {
      await strict.host.close();
    }
  });

  it('dry-run answers carry the decision and reasons', async () => {
    const res = await post({ connectionId: EXAMPLE_ID, decision: 'Approved' }, '/api/approvals?dryRun=true');
    expect(res.json.policy).toMatchObject({ allowed: true, reasons: [{ rule: 'sandbox-seeded-clusters' }] });
  });
});

describe('an invalid policy stops writes and health says why', () => {
  it('answers 503 naming the file and where each problem is, never what the file says there', async () => {
    const broken = await startTestHost(sandbox, { POLICY_PATH: 'test/fixtures/policy/invalid-values.yaml' });
    try {
      const health = await broken.get('/api/health');
      expect(health.status).toBe(503);
      expect(health.headers.get('retry-after')).toBe('60');
      const policy = (health.json.checks as { policy: { ok: boolean; file: string; problems: unknown[] } })
        .policy;
      expect(policy.ok).toBe(false);
      expect(policy.file).toBe('invalid-values.yaml');
      expect(policy.problems).toEqual([
        { pointer: '/rules/0/tickets/idPattern', line: 17, column: 18 },
        { pointer: '/rules/0/changeWindows/0/timeZone', line: 19, column: 19 },
      ]);
      const res = await broken.signedPost('/api/approvals', {
        connectionId: EXAMPLE_ID,
        decision: 'Approved',
      });
      expect(res.status).toBe(503);
      expect(res.json.detail).toContain('invalid-values.yaml');
      expect(res.json.detail).toContain('/rules/0/changeWindows/0/timeZone (line 19:19)');
      // The unauthenticated surfaces quote nothing of the file: an operator reads the messages in the log.
      for (const text of [health.text, res.text]) {
        expect(text).not.toContain('Olympus');
        expect(text).not.toContain('CHG-internal');
      }
      expect(sandbox.counts().arm.total).toBe(0);
    } finally {
      await broken.host.close();
    }
  });
});

describe('review findings stay fixed', () => {
  const signed = (body: string, webhookId: string, timestamp = Math.floor(Date.now() / 1000)) =>
    standardWebhookHeaders({ secret: sandbox.devSecrets.generic, webhookId, timestamp, body });

  it('a replay with a re-spelled signature header is still a replay', async () => {
    const body = JSON.stringify({ connectionId: EXAMPLE_ID, decision: 'Approved' });
    const headers = signed(body, `msg_${randomUUID()}`);
    const dry = await app.post('/api/approvals?dryRun=true', body, {
      'content-type': 'application/json',
      ...headers,
    });
    expect(dry.status).toBe(200);
    const respelled = {
      'content-type': 'application/json',
      ...headers,
      'webhook-signature': `v1a,ignored ${headers['webhook-signature']}`,
    };
    const replay = await app.post('/api/approvals', body, respelled);
    expect(replay.status).toBe(401);
    expect(sandbox.counts().arm.PUT).toBe(0);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Pending');
  });

  it('a delivery first sent as a dry run cannot be retried as a real run', async () => {
    const body = JSON.stringify({ connectionId: EXAMPLE_ID, decision: 'Approved' });
    const id = `msg_${randomUUID()}`;
    const now = Math.floor(Date.now() / 1000);
    const dry = await app.post('/api/approvals?dryRun=true', body, {
      'content-type': 'application/json',
      ...signed(body, id, now),
    });
    expect(dry.status).toBe(200);
    const real = await app.post('/api/approvals', body, {
      'content-type': 'application/json',
      ...signed(body, id, now + 1),
    });
    expect(real.status).toBe(401);
    expect(sandbox.counts().arm.PUT).toBe(0);
  });

  it("a replay of a decision under a fresh idempotency key is refused by the claim's own transaction and binds nothing", async () => {
    const body = JSON.stringify({ connectionId: EXAMPLE_ID, decision: 'Approved' });
    const headers = { 'content-type': 'application/json', ...signed(body, `msg_${randomUUID()}`) };
    const fresh = randomUUID();
    const first = await app.post('/api/approvals', body, { ...headers, 'idempotency-key': randomUUID() });
    expect(first.status, first.text).toBe(200);
    const replay = await app.post('/api/approvals', body, { ...headers, 'idempotency-key': fresh });
    expect(replay.status, replay.text).toBe(401);
    expect(replay.json.detail).toContain('already received');
    expect(sandbox.counts().arm.total).toBe(2);
    // The replay's key was never bound to its body: a new message may use it for another request.
    const other = JSON.stringify({ connectionId: PENDING_2, decision: 'Approved' });
    const reused = await app.post('/api/approvals', other, {
      'content-type': 'application/json',
      ...signed(other, `msg_${randomUUID()}`),
      'idempotency-key': fresh,
    });
    expect(reused.status, reused.text).toBe(200);
    // Nothing of the replay was recorded: its request id has no record.
    const chain = await app.signedGet(`/api/approvals/${replay.headers.get('x-request-id')!}`);
    expect(chain.status).toBe(404);
  });

  it("a decision's signed bytes sent as a read are refused, not read: a read takes no body", async () => {
    const body = JSON.stringify({ connectionId: EXAMPLE_ID, decision: 'Approved' });
    const headers = { 'content-type': 'application/json', ...signed(body, `msg_${randomUUID()}`) };
    const first = await app.post('/api/approvals?dryRun=true', body, headers);
    expect(first.status, first.text).toBe(200);
    const id = first.json.id as string;
    for (const path of [`/api/approvals/${id}`, `/api/approvals/${id}/outcome`, '/api/discovery']) {
      const read = await send({ method: 'GET', url: `${app.host.url}${path}`, headers, body, agent: false });
      expect(read.status, `${path}: ${read.text}`).toBe(400);
      expect(read.text).toContain('takes no body');
    }
    const head = await send({
      method: 'HEAD',
      url: `${app.host.url}/api/approvals/${id}`,
      headers,
      body,
      agent: false,
    });
    expect(head.status).toBe(400);
  });

  it('a replay is refused at once while its connection is at work, not after the decision holding it', async () => {
    const body = JSON.stringify({ connectionId: EXAMPLE_ID, decision: 'Approved' });
    const headers = { 'content-type': 'application/json', ...signed(body, `msg_${randomUUID()}`) };
    expect((await app.post('/api/approvals', body, headers)).status).toBe(200);
    // A decision whose PUT takes long holds the connection's turn meanwhile.
    sandbox.faults.add({ method: 'PUT', kind: 'latency', latencyMs: 3_000, times: 1 });
    let slowEnded = false;
    const slow = post({ connectionId: EXAMPLE_ID, decision: 'Rejected' }).then((res) => {
      slowEnded = true;
      return res;
    });
    // Its read answered (the first approval made the other), it is at its PUT, holding the turn.
    const reads = () => sandbox.requests().filter((r) => r.method === 'GET').length;
    expect(await eventually(reads, (n) => n >= 2, 10_000, 10)).toBeGreaterThanOrEqual(2);
    const replay = await app.post('/api/approvals', body, { ...headers, 'idempotency-key': randomUUID() });
    expect(replay.status, replay.text).toBe(401);
    expect(slowEnded).toBe(false);
    expect((await slow).json.outcome).toBe('rejected');
  });

  it('a PUT whose answer is lost is read back from the queue, not sent again: approved, one PUT, audited with the attempt that may have applied', async () => {
    sandbox.faults.add({ method: 'PUT', kind: 'drop', afterApply: true, times: 1 });
    const res = await post({ connectionId: EXAMPLE_ID, decision: 'Approved', description: 'ours' });
    expect(res.status).toBe(202);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
    const done = await app.followOutcome(res.headers.get('location')!);
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ outcome: 'approved', connection: { previousStatus: 'Pending' } });
    expect(sandbox.counts().arm.PUT).toBe(1);
    const state = app.state;
    if (!state.ok) throw new Error('host not configured');
    const stored = await state.deps.stores.audit.get(res.json.id as string);
    expect(stored?.outcome).toBe('approved');
    expect(stored?.attempts?.some((a) => a.mayHaveApplied)).toBe(true);
    // The attempt that ended it read the connection as the lost PUT left it: that description is ours, not the
    // one this decision replaced, so it is not recorded as such.
    expect(stored?.previousDescription).toBeUndefined();
  });

  it('a bearer caller without a key is never told 422 for a changed description', async () => {
    const token = await sandbox.openId.issueToken({ aud: AUDIENCE, oid: LOGIC_APP_OID, azp: LOGIC_APP_OID });
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const first = await app.post(
      '/api/approvals',
      JSON.stringify({ connectionId: PENDING_2, decision: 'Rejected', description: 'a' }),
      auth,
    );
    expect(first.status).toBe(200);
    const second = await app.post(
      '/api/approvals',
      JSON.stringify({ connectionId: PENDING_2, decision: 'Rejected', description: 'b' }),
      auth,
    );
    expect(second.status).toBe(200);
    expect(sandbox.counts().arm.PUT).toBe(1);
  });
});
