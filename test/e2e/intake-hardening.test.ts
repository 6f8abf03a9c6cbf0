import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { EXAMPLE_ID, PENDING_2 } from '../support/arm.js';
import {
  bearer,
  discoveryRunner,
  expectProblem,
  JSON_TYPE,
  serviceNowChange,
  teamsActivity,
  teamsHeaders,
  webhookHeaders,
} from '../support/callers.js';
import type { TestHost, TestResponse } from '../support/host.js';
import { startTestHost } from '../support/host.js';

/**
 * What a careless or hostile caller sends before anything is decided: misspelt flags, duplicate keys, invisible
 * characters, huge declared lengths, broken paths, unsigned fields. Each is refused with a problem and no ARM call.
 */

let sandbox: Sandbox;
let app: TestHost;
const lines: string[] = [];

beforeAll(async () => {
  sandbox = await startSandbox();
  app = await startTestHost(
    sandbox,
    { POLICY_PATH: resolve('policy/examples/sandbox.yaml') },
    { logSink: (_level, line) => lines.push(line) },
  );
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});
beforeEach(() => {
  sandbox.reset();
  lines.length = 0;
});

const signed = (path: string, body: string, headers: Record<string, string> = {}): Promise<TestResponse> =>
  app.post(path, body, {
    'content-type': JSON_TYPE,
    ...webhookHeaders(body, { secret: sandbox.devSecrets.generic }),
    ...headers,
  });

const approve = (connectionId = EXAMPLE_ID): string => JSON.stringify({ connectionId, decision: 'Approved' });

describe('query parameters are a closed set', () => {
  it.each([
    '?dryrun=true',
    '?DryRun=true',
    '?dry_run=1',
    '?dryRun=1',
    '?dryRun=yes',
    '?dryRun=',
    '?dryRun=true&dryRun=true',
    '?dryRun=true&verbose=1',
    '?DRYRUN=TRUE',
  ])('%s is refused with 400 naming dryRun, and nothing is applied', async (query) => {
    const res = await signed(`/api/approvals${query}`, approve());
    expectProblem(res, 400);
    expect(res.json.detail).toContain('dryRun');
    expect(sandbox.counts().arm.total).toBe(0);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Pending');
  });

  it('is checked before authentication: an unsigned request with a misspelt flag is a 400 too', async () => {
    const res = await app.post('/api/approvals?dryrun=true', approve(), { 'content-type': JSON_TYPE });
    expectProblem(res, 400);
    expect(sandbox.keyVault.counts().get).toEqual({});
  });

  it('applies to every route, chat routes and reads included', async () => {
    for (const [path, type] of [
      ['/api/approvals/servicenow?dry_run=true', JSON_TYPE],
      ['/api/approvals/teams?DryRun=true', JSON_TYPE],
      ['/api/approvals/slack?dryrun=1', 'application/x-www-form-urlencoded'],
    ] as const) {
      const res = await app.post(path, '{}', { 'content-type': type });
      expectProblem(res, 400);
    }
    const read = await app.get(`/api/approvals/${randomUUID()}?debug=1`);
    expectProblem(read, 400);
  });

  it('accepts dryRun=true / false and the function key `code`', async () => {
    const dry = await signed('/api/approvals?dryRun=true&code=abc', approve());
    expect(dry.status, dry.text).toBe(200);
    expect(dry.json.outcome).toBe('dry-run');
    const real = await signed('/api/approvals?dryRun=false', approve());
    expect(real.status, real.text).toBe(200);
    expect(real.json.outcome).toBe('approved');
  });
});

describe('duplicate JSON keys are refused on every JSON route', () => {
  const duplicated = `{"connectionId":"${EXAMPLE_ID}","decision":"Rejected","decision":"Approved"}`;

  it('generic route', async () => {
    const res = await signed('/api/approvals', duplicated);
    expectProblem(res, 400);
    expect(res.json.detail).toMatch(/decision/);
    expect(sandbox.counts().arm.total).toBe(0);
  });

  it('a duplicate hidden by an escape, or nested, is still a duplicate', async () => {
    for (const body of [
      `{"connectionId":"${EXAMPLE_ID}","decision":"Rejected","\\u0064ecision":"Approved"}`,
      `{"connectionId":"${EXAMPLE_ID}","decision":"Approved","ticket":{"system":"a","id":"1","id":"2"}}`,
    ]) {
      const res = await signed('/api/approvals', body);
      expectProblem(res, 400);
    }
    expect(sandbox.counts().arm.total).toBe(0);
  });

  it('ServiceNow route', async () => {
    const change = JSON.stringify(serviceNowChange(EXAMPLE_ID));
    const body = change.replace('"approval":"approved"', '"approval":"rejected","approval":"approved"');
    const res = await app.post('/api/approvals/servicenow', body, {
      'content-type': JSON_TYPE,
      ...webhookHeaders(body, { secret: sandbox.devSecrets.servicenow }),
    });
    expectProblem(res, 400);
    expect(sandbox.counts().arm.total).toBe(0);
  });

  it('Teams route', async () => {
    const activity = JSON.stringify(teamsActivity(`approve ${EXAMPLE_ID}`));
    const body = activity.replace('"type":"message"', '"type":"message","type":"message"');
    const res = await app.post('/api/approvals/teams', body, {
      'content-type': JSON_TYPE,
      ...teamsHeaders(body, sandbox.devSecrets.teams),
    });
    expectProblem(res, 400);
    expect(sandbox.counts().arm.total).toBe(0);
  });
});

describe('invisible, bidirectional and look-alike characters in ids', () => {
  it.each([
    ['right-to-left override', 'evil\u202e1noitcennoc'],
    ['zero-width space', 'pe\u200bpending'],
    ['fullwidth solidus', 'pe\uff0fpending'],
    ['division slash', 'pe\u2215pending'],
    ['left-to-right mark', 'pe\u200epending'],
  ])('%s in a connection name is a 400 whose body shows no raw control', async (_name, connection) => {
    const res = await signed(
      '/api/approvals',
      approve(EXAMPLE_ID.replace('privateendpointconnection1', connection)),
    );
    expectProblem(res, 400);
    expect(res.json.type).toMatch(/invalid-resource-id$/);
    expect(res.text).not.toMatch(/[\u200b-\u200f\u202a-\u202e\u2066-\u2069\uff0f\u2215]/);
    expect(sandbox.counts().arm.total).toBe(0);
  });

  it('caller text echoed in a chat answer is neutralised', async () => {
    const body = JSON.stringify(teamsActivity('launch \u202eevil'));
    const res = await app.post('/api/approvals/teams', body, {
      'content-type': JSON_TYPE,
      ...teamsHeaders(body, sandbox.devSecrets.teams),
    });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('\u202e');
  });
});

describe('Teams activities need an id and a timestamp to act', () => {
  it.each([
    ['without id', { id: undefined }],
    ['without timestamp', { timestamp: undefined }],
    ['without either', { id: undefined, timestamp: undefined }],
  ])('%s: an approval is refused (401) and nothing is applied', async (_name, extra) => {
    const body = JSON.stringify(teamsActivity(`approve ${EXAMPLE_ID}`, extra));
    const res = await app.post('/api/approvals/teams', body, {
      'content-type': JSON_TYPE,
      ...teamsHeaders(body, sandbox.devSecrets.teams),
    });
    expectProblem(res, 401);
    expect(res.json.detail).toMatch(/id and timestamp/);
    expect(sandbox.counts().arm.total).toBe(0);
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Pending');
  });
});

describe('idempotency keys belong to the caller who sent them', () => {
  it("a bearer caller cannot block a ServiceNow change's signed delivery by posting its sys_id first", async () => {
    const victim = serviceNowChange(PENDING_2);
    // The attacker knows the change's sys_id and posts it first, aimed at some other connection.
    const squat = JSON.stringify({
      ...victim,
      u_private_endpoint_connection_id: EXAMPLE_ID.replace('privateendpointconnection1', 'nothing-here'),
    });
    const first = await app.post('/api/approvals/servicenow', squat, {
      'content-type': JSON_TYPE,
      authorization: await bearer(sandbox),
    });
    expect(first.status).toBe(404);

    const genuine = JSON.stringify(victim);
    const res = await app.post('/api/approvals/servicenow', genuine, {
      'content-type': JSON_TYPE,
      ...webhookHeaders(genuine, { secret: sandbox.devSecrets.servicenow }),
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.outcome).toBe('approved');
    expect(sandbox.connection(PENDING_2)?.status).toBe('Approved');
  });

  it('the same Idempotency-Key from two callers is two requests', async () => {
    const key = randomUUID();
    const a = await signed('/api/approvals', approve(PENDING_2), { 'idempotency-key': key });
    expect(a.status).toBe(200);
    const b = await app.post('/api/approvals', approve(EXAMPLE_ID), {
      'content-type': JSON_TYPE,
      authorization: await bearer(sandbox),
      'idempotency-key': key,
    });
    expect(b.status, b.text).toBe(200);
    expect(b.json.outcome).toBe('approved');
  });
});

/** One request written as raw bytes (headers Node's client would not send), and the whole answer as text. */
function raw(head: string, body = ''): Promise<string> {
  const { port } = new URL(app.host.url);
  return new Promise<string>((done, fail) => {
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.write(`${head}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`),
    );
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('close', () => done(text));
    socket.on('error', fail);
  });
}

describe('repeated headers, as the Functions host hands them over (one value joined with ",")', () => {
  it('two Content-Type headers are one media type the route does not take: 415', async () => {
    const body = approve();
    const signing = Object.entries(webhookHeaders(body, { secret: sandbox.devSecrets.generic }))
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    const answer = await raw(
      `POST /api/approvals HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\n${signing}`,
      body,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 415 /);
    expect(sandbox.counts().arm.GET).toBe(0);
  });

  it('two Authorization headers are one malformed credential: 401', async () => {
    const token = await bearer(sandbox);
    const answer = await raw(
      `POST /api/approvals HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: ${token}\r\nAuthorization: Bearer x\r\n`,
      approve(),
    );
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(sandbox.counts().arm.GET).toBe(0);
  });

  // RFC 9112 §3.2: a request with more than one Host field is answered 400.
  it('two Host headers are one host name that is none: 400, nothing called', async () => {
    const answer = await raw(
      `POST /api/approvals HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: example.com\r\nContent-Type: application/json\r\n`,
      approve(),
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('application/problem+json');
    expect(sandbox.counts().arm.GET).toBe(0);
  });

  it('a Host that is not a host name is a 400 problem, not a 500', async () => {
    const answer = await raw('GET /api/health HTTP/1.1\r\nHost: a b\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain('application/problem+json');
  });
});

describe('the envelope', () => {
  it('a huge declared Content-Length is refused from the header, before the body arrives', async () => {
    const { port } = new URL(app.host.url);
    const answer = await new Promise<string>((done, fail) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          'POST /api/approvals HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
            `Content-Length: 999999999\r\n\r\n${approve().slice(0, 200)}`,
        );
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\r\n\r\n')) {
          socket.destroy();
          done(text);
        }
      });
      socket.on('error', fail);
      // Bounded: a host that waits for the declared body never answers.
      setTimeout(() => {
        socket.destroy();
        done(text);
      }, 5_000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('a chunked body (no Content-Length) that grows past 64 KiB is answered 413, and the connection closed', async () => {
    const { port } = new URL(app.host.url);
    const answer = await new Promise<string>((done, fail) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          'POST /api/approvals HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
            'Transfer-Encoding: chunked\r\n\r\n',
        );
        const chunk = 'x'.repeat(16 * 1024);
        // Five chunks of 16 KiB: over the limit, and the sender is still sending when the answer comes.
        for (let i = 0; i < 5; i++) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (data: string) => (text += data));
      socket.on('close', () => done(text));
      socket.on('error', (error: NodeJS.ErrnoException) =>
        error.code === 'ECONNRESET' || error.code === 'EPIPE' ? done(text) : fail(error),
      );
      setTimeout(() => {
        socket.destroy();
        done(text);
      }, 5_000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer).toContain('application/problem+json');
  });

  it('a compressed body is a 415 naming the accepted coding, before any secret is read or anything written', async () => {
    for (const coding of ['gzip', 'identity, br']) {
      const res = await signed('/api/approvals', approve(), { 'content-encoding': coding });
      expectProblem(res, 415);
      expect(res.headers.get('accept-encoding')).toBe('identity');
    }
    expect((await signed('/api/approvals', approve(), { 'content-encoding': 'identity' })).status).toBe(200);
    // Before authentication: an unsigned compressed body is a 415, not a 401.
    const unsigned = await app.post('/api/approvals', approve(), {
      'content-type': JSON_TYPE,
      'content-encoding': 'gzip',
    });
    expectProblem(unsigned, 415);
    sandbox.reset();
    await signed('/api/approvals', approve(PENDING_2), { 'content-encoding': 'gzip' });
    expect(sandbox.keyVault.counts().get).toEqual({});
    expect(sandbox.counts().arm).toMatchObject({ GET: 0, PUT: 0 });
  });

  it('a malformed percent-encoding in the path is a 400, not a 500', async () => {
    const res = await app.get('/api/approvals/%E0%A4%A');
    expectProblem(res, 400);
  });
});

describe('the description written to Resource Manager', () => {
  it("is the policy's cleaned rendering: a caller's text that cleans to nothing writes none, never the raw text", async () => {
    const body = JSON.stringify({
      connectionId: PENDING_2,
      decision: 'Approved',
      description: '\u202e\u0000',
    });
    const res = await signed('/api/approvals', body);
    expect(res.status, res.text).toBe(200);
    const put = sandbox.requests().find((r) => r.method === 'PUT');
    const state = (
      JSON.parse(put?.body ?? '{}') as { properties?: { privateLinkServiceConnectionState?: object } }
    ).properties?.privateLinkServiceConnectionState;
    expect(state).toEqual({ status: 'Approved' });
  });
});

describe('the scheme a 401 names', () => {
  it('is Bearer where Entra ID is configured, and the webhook signature where it is not', async () => {
    const unsigned = { 'content-type': JSON_TYPE };
    const withEntra = await app.post('/api/approvals', approve(), unsigned);
    expectProblem(withEntra, 401);
    expect(withEntra.headers.get('www-authenticate')).toBe('Bearer');

    const signatureOnly = await startTestHost(sandbox, {
      POLICY_PATH: resolve('policy/examples/sandbox.yaml'),
      ENTRA_TENANT_ID: '',
      ENTRA_AUDIENCE: '',
      ENTRA_ALLOWED_CALLERS: '',
    });
    try {
      for (const path of ['/api/approvals', '/api/approvals/servicenow']) {
        const refused = await signatureOnly.post(path, approve(), unsigned);
        expectProblem(refused, 401);
        expect(refused.headers.get('www-authenticate')).toBe('Webhook-Signature');
      }
      const bearerSent = await signatureOnly.post('/api/approvals', approve(), {
        ...unsigned,
        authorization: 'Bearer abc.def.ghi',
      });
      expectProblem(bearerSent, 401);
      expect(bearerSent.headers.get('www-authenticate')).toBe('Webhook-Signature');
    } finally {
      await signatureOnly.host.close();
    }
  });
});

describe('discovery off', () => {
  it('POST /api/discovery/run is a 503 not-configured with Retry-After', async () => {
    const res = await app.post('/api/discovery/run', '', { authorization: await discoveryRunner(sandbox) });
    expectProblem(res, 503);
    expect(res.headers.get('retry-after')).toBe('60');
    expect(res.text).toContain('Discovery is off');
  });
});

describe('health and logs', () => {
  it('anonymous health names the policy file and its hash, never where it is installed', async () => {
    const res = await app.get('/api/health');
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(resolve('policy'));
    expect(res.json).toMatchObject({ checks: { policy: { ok: true, file: 'sandbox.yaml' } } });
    expect((res.json.checks as { policy: { sha256: string } }).policy.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a refused request writes exactly one log line', async () => {
    const refusals = [
      () => app.post('/api/approvals', approve(), { 'content-type': JSON_TYPE }),
      () =>
        app.post('/api/approvals', approve(), {
          'content-type': JSON_TYPE,
          ...webhookHeaders(approve(EXAMPLE_ID.replace('1', '2')), { secret: sandbox.devSecrets.generic }),
        }),
      () => app.post('/api/approvals', approve(), { 'content-type': 'text/plain' }),
      () => signed('/api/approvals?dryrun=true', approve()),
    ];
    for (const send of refusals) {
      lines.length = 0;
      const res = await send();
      expect(res.status).toBeGreaterThanOrEqual(400);
      const id = res.headers.get('x-request-id')!;
      const mine = lines.filter((line) => line.includes(id));
      expect(mine, lines.join('\n')).toHaveLength(1);
      expect(mine[0]!.length).toBeLessThan(400);
    }
  });
});

describe('the audit chain, anchored outside its table', () => {
  it("logs each chained record's seq and hash, which match the stored record", async () => {
    const res = await signed('/api/approvals', approve(PENDING_2));
    expect(res.status, res.text).toBe(200);
    const id = String(res.json.id);
    const chained = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((entry) => entry.event === 'audit.chained' && entry.requestId === id);
    expect(chained).toMatchObject({ connectionId: PENDING_2, seq: expect.any(Number) });
    const stored = await app.signedGet(`/api/approvals/${id}`);
    expect(stored.json).toMatchObject({ seq: chained?.seq, hash: chained?.hash });
  });
});
