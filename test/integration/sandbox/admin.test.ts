import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import type { HttpResult, RequestInput } from './support.js';
import { API, CONN1, makeClient } from './support.js';

let sandbox: Sandbox;
let token: string;
let send: (input: RequestInput) => Promise<HttpResult>;

beforeAll(async () => {
  sandbox = await startSandbox();
  send = makeClient(sandbox).send;
  token = sandbox.issueToken('https://management.azure.com');
});
afterAll(async () => {
  await sandbox?.close();
});

const approve = { properties: { privateLinkServiceConnectionState: { status: 'Approved' } } };

describe('admin endpoint /_sandbox/', () => {
  it('reports counts, requests and connections without a token, and is not counted itself', async () => {
    sandbox.reset();
    await send({ method: 'PUT', path: `${CONN1}?${API}`, token, body: approve });
    const counts = await send({ path: '/_sandbox/counts' });
    expect(counts.status).toBe(200);
    expect(counts.json).toEqual(sandbox.counts());
    expect(counts.json).toMatchObject({ token: 0, arm: { total: 1, GET: 0, PUT: 1, LIST: 0 } });
    const requests = await send({ path: '/_sandbox/requests' });
    const value = (requests.json as { value: Array<Record<string, unknown>> }).value;
    expect(value).toHaveLength(1);
    expect(value[0]).toMatchObject({
      method: 'PUT',
      status: 200,
      body: JSON.stringify(approve),
      headers: { authorization: '[redacted]' },
    });
    const connections = await send({ path: '/_sandbox/connections' });
    const stored = (connections.json as { value: Array<{ name: string; status: string }> }).value;
    expect(stored.find((c) => c.name === 'privateendpointconnection1')?.status).toBe('Approved');
    expect(sandbox.counts().arm.total).toBe(1);
  });

  it('adds, lists and clears faults', async () => {
    sandbox.reset();
    const one = await send({
      method: 'POST',
      path: '/_sandbox/faults',
      body: { kind: 'status', status: 429, retryAfter: '2', method: 'GET' },
    });
    expect(one.status).toBe(201);
    const many = await send({
      method: 'POST',
      path: '/_sandbox/faults',
      body: [
        { kind: 'latency', latencyMs: 1, times: 'Infinity' },
        { kind: 'drop', pathIncludes: 'nothing-matches-this' },
      ],
    });
    expect(many.json).toMatchObject({ added: 2 });
    const listed = await send({ path: '/_sandbox/faults' });
    expect(
      (listed.json as { value: Array<{ kind: string; times: unknown }> }).value.map((r) => [r.kind, r.times]),
    ).toEqual([
      ['status', 1],
      ['latency', 'Infinity'],
      ['drop', 1],
    ]);
    const throttled = await send({ path: `${CONN1}?${API}`, token });
    expect([throttled.status, throttled.headers['retry-after']]).toEqual([429, '2']);
    expect((await send({ method: 'DELETE', path: '/_sandbox/faults' })).status).toBe(204);
    expect(sandbox.faults.list()).toEqual([]);
    expect((await send({ path: `${CONN1}?${API}`, token })).status).toBe(200);
  });

  it('rejects bad fault rules and unknown admin paths', async () => {
    const bad = await send({ method: 'POST', path: '/_sandbox/faults', body: { kind: 'explode' } });
    expect(bad.status).toBe(400);
    expect((bad.json as { error: { code: string } }).error.code).toBe('InvalidFaultRule');
    const notJson = await send({ method: 'POST', path: '/_sandbox/faults', body: '{' });
    expect(notJson.status).toBe(400);
    expect((await send({ path: '/_sandbox/nope' })).status).toBe(404);
    expect((await send({ method: 'PUT', path: '/_sandbox/counts' })).status).toBe(405);
  });

  it('reset reloads the seed and zeroes counters and requests', async () => {
    await send({ method: 'PUT', path: `${CONN1}?${API}`, token, body: approve });
    sandbox.faults.add({ kind: 'status', status: 500, times: Infinity, pathIncludes: '/never' });
    expect(sandbox.connection(CONN1)?.status).toBe('Approved');
    expect((await send({ method: 'POST', path: '/_sandbox/reset' })).status).toBe(204);
    expect(sandbox.connection(CONN1)?.status).toBe('Pending');
    expect(sandbox.counts()).toEqual({
      token: 0,
      arm: { total: 0, GET: 0, PUT: 0, LIST: 0, POLL: 0 },
      byConnection: {},
      keyVault: { get: {}, list: {}, total: 0 },
    });
    expect(sandbox.requests()).toEqual([]);
    expect(sandbox.faults.list()).toEqual([]);
  });
});

describe('env() for a child process', () => {
  it('lets a child trust the sandbox through NODE_EXTRA_CA_CERTS', async () => {
    const env = sandbox.env();
    expect(Object.keys(env).sort()).toEqual([
      'ARM_ENDPOINT',
      'ENTRA_AUTHORITY_HOST',
      'ENTRA_TENANT_ID',
      'IDENTITY_ENDPOINT',
      'IDENTITY_HEADER',
      'KEY_VAULT_URL',
      'NODE_EXTRA_CA_CERTS',
      'SERVICENOW_INSTANCE_URL',
      'SLACK_API_URL',
      'SLACK_RESPONSE_URL_HOSTS',
    ]);
    const script =
      "require('node:https').get(process.env.ARM_ENDPOINT + '/_sandbox/counts', (r) => { let b=''; r.on('data', (c) => b += c); r.on('end', () => console.log(r.statusCode, b)); }).on('error', (e) => { console.error(e.code); process.exit(3); });";
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 5000,
    });
    expect(stdout.trim()).toMatch(/^200 \{/);
    // And without it the certificate is not trusted: verification stays on.
    const { NODE_EXTRA_CA_CERTS: _unused, ...withoutCa } = env;
    await expect(
      promisify(execFile)(process.execPath, ['-e', script], {
        env: { PATH: process.env.PATH ?? '', ...withoutCa },
        timeout: 5000,
      }),
    ).rejects.toMatchObject({ code: 3 });
  });
});
