import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FaultRuleError } from '../../../dev/sandbox/faults.js';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import type { HttpResult, RequestInput } from './support.js';
import { API, CLUSTER1, CONN1, errorCode, makeClient } from './support.js';

let sandbox: Sandbox;
let token: string;
let send: (input: RequestInput) => Promise<HttpResult>;

const approve = {
  properties: { privateLinkServiceConnectionState: { status: 'Approved', description: 'by test' } },
};
const putConn1 = (): Promise<HttpResult> =>
  send({ method: 'PUT', path: `${CONN1}?${API}`, token, body: approve });
const getConn1 = (): Promise<HttpResult> => send({ path: `${CONN1}?${API}`, token });

beforeAll(async () => {
  sandbox = await startSandbox();
  send = makeClient(sandbox).send;
  token = sandbox.issueToken('https://management.azure.com');
});
afterAll(async () => {
  await sandbox?.close();
});
beforeEach(() => {
  sandbox.reset();
});

describe('fault kinds', () => {
  it('latency delays, then handles the request normally', async () => {
    sandbox.faults.add({ kind: 'latency', latencyMs: 50, method: 'PUT' });
    const res = await putConn1();
    expect(res.status).toBe(200);
    expect(sandbox.connection(CONN1)?.status).toBe('Approved');
    expect(sandbox.requests()[0]).toMatchObject({ fault: 'latency', status: 200 });
  });

  it('429 answers TooManyRequests with Retry-After and does not apply', async () => {
    sandbox.faults.add({ kind: 'status', status: 429, retryAfter: '1', method: 'PUT' });
    const res = await putConn1();
    expect(res.status).toBe(429);
    expect(errorCode(res)).toBe('TooManyRequests');
    expect(res.headers['retry-after']).toBe('1');
    expect(res.headers['x-ms-request-id']).toBeDefined();
    expect(sandbox.connection(CONN1)?.status).toBe('Pending');
    // Used up: the next PUT goes through.
    expect((await putConn1()).status).toBe(200);
  });

  it('5xx and 409 get Resource Manager codes, or the ones given', async () => {
    sandbox.faults.add([
      { kind: 'status', status: 500 },
      { kind: 'status', status: 503, retryAfter: 'Wed, 21 Oct 2026 07:28:00 GMT' },
      { kind: 'status', status: 409 },
      { kind: 'status', status: 502, code: 'GatewayBroke', message: 'custom' },
    ]);
    const a = await getConn1();
    const b = await getConn1();
    const c = await getConn1();
    const d = await getConn1();
    expect([a.status, errorCode(a)]).toEqual([500, 'InternalServerError']);
    expect([b.status, errorCode(b), b.headers['retry-after']]).toEqual([
      503,
      'ServiceUnavailable',
      'Wed, 21 Oct 2026 07:28:00 GMT',
    ]);
    expect(a.headers['retry-after']).toBeUndefined();
    expect([c.status, errorCode(c)]).toEqual([409, 'Conflict']);
    expect([d.status, d.json]).toEqual([502, { error: { code: 'GatewayBroke', message: 'custom' } }]);
    expect((await getConn1()).status).toBe(200);
  });

  it('a 2xx status applies the PUT and answers with that status', async () => {
    sandbox.faults.add({ kind: 'status', status: 201, method: 'PUT' });
    const res = await putConn1();
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({
      name: 'privateendpointconnection1',
      properties: { privateLinkServiceConnectionState: { status: 'Approved' } },
    });
    expect(sandbox.connection(CONN1)?.status).toBe('Approved');
  });

  it('an error status with afterApply lands the write, then fails', async () => {
    sandbox.faults.add({ kind: 'status', status: 500, afterApply: true, method: 'PUT' });
    expect((await putConn1()).status).toBe(500);
    expect(sandbox.connection(CONN1)?.status).toBe('Approved');
  });

  it('drop destroys the socket without applying', async () => {
    sandbox.faults.add({ kind: 'drop', method: 'PUT' });
    await expect(putConn1()).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|EPIPE/) });
    expect(sandbox.connection(CONN1)?.status).toBe('Pending');
    expect(sandbox.requests()[0]).toMatchObject({ method: 'PUT', status: 0, fault: 'drop' });
    expect(sandbox.counts().arm.PUT).toBe(1);
  });

  it('drop with afterApply applies the PUT, then destroys the socket', async () => {
    sandbox.faults.add({ kind: 'drop', method: 'PUT', afterApply: true });
    await expect(putConn1()).rejects.toThrow();
    expect(sandbox.connection(CONN1)).toMatchObject({ status: 'Approved', description: 'by test' });
  });
});

describe('fault matching', () => {
  it('matches method and path, in order, counting down times', async () => {
    sandbox.faults.add([
      { kind: 'status', status: 503, method: 'GET', pathIncludes: 'PRIVATEENDPOINTCONNECTION1', times: 2 },
      { kind: 'status', status: 500, method: 'GET' },
    ]);
    expect(
      (await send({ path: `${CLUSTER1}/privateEndpointConnections/pe-pending-2?${API}`, token })).status,
    ).toBe(500);
    expect((await getConn1()).status).toBe(503);
    expect((await getConn1()).status).toBe(503);
    expect((await getConn1()).status).toBe(200);
    expect((await putConn1()).status).toBe(200);
    expect(sandbox.faults.list()).toEqual([]);
  });

  it('Infinity keeps firing until cleared', async () => {
    sandbox.faults.add({ kind: 'status', status: 429, times: Infinity });
    for (let i = 0; i < 3; i += 1) expect((await getConn1()).status).toBe(429);
    expect(sandbox.faults.list()).toHaveLength(1);
    sandbox.faults.clear();
    expect((await getConn1()).status).toBe(200);
  });

  it('injected errors fire before authentication, like a front door', async () => {
    sandbox.faults.add({ kind: 'status', status: 503 });
    expect((await send({ path: `${CONN1}?${API}` })).status).toBe(503);
  });

  it('rejects malformed rules and leaves the set unchanged', () => {
    expect(() => sandbox.faults.add({ kind: 'status' })).toThrow(FaultRuleError);
    expect(() => sandbox.faults.add({ kind: 'latency' })).toThrow(FaultRuleError);
    expect(() => sandbox.faults.add([{ kind: 'drop' }, { kind: 'status', status: 99 }])).toThrow(
      FaultRuleError,
    );
    expect(() => sandbox.faults.add({ kind: 'status', status: 429, retryAfter: '1\r\nx: y' })).toThrow(
      FaultRuleError,
    );
    expect(() => sandbox.faults.add({ kind: 'drop', times: 0 })).toThrow(FaultRuleError);
    expect(sandbox.faults.list()).toEqual([]);
  });

  it('reset clears faults', async () => {
    sandbox.faults.add({ kind: 'status', status: 500, times: Infinity });
    sandbox.reset();
    expect((await getConn1()).status).toBe(200);
  });
});
