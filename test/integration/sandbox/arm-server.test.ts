import { readFileSync } from 'node:fs';
import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { connectionKey, parseConnectionId, startSandbox } from '../../../dev/sandbox/index.js';
import type { HttpResult, RequestInput } from './support.js';
import {
  API,
  CLUSTER1,
  CONN1,
  SUB0,
  SUB1,
  errorCode,
  errorMessage,
  makeClient,
  withIdentityEnv,
} from './support.js';

const example = (
  name: string,
): { parameters: Record<string, unknown>; responses: Record<string, { body?: unknown }> } =>
  JSON.parse(readFileSync(new URL(`../../fixtures/aks-2025-01-01/${name}`, import.meta.url), 'utf8')) as {
    parameters: Record<string, unknown>;
    responses: Record<string, { body?: unknown }>;
  };

let sandbox: Sandbox;
let token: string;
let send: (input: RequestInput) => Promise<HttpResult>;

beforeAll(async () => {
  sandbox = await startSandbox();
  send = makeClient(sandbox).send;
  // The real credential, once: msal-node binds its managed identity source for the whole process.
  const accessToken = await withIdentityEnv(sandbox, () =>
    new ManagedIdentityCredential().getToken('https://management.azure.com/.default'),
  );
  token = accessToken.token;
});
afterAll(async () => {
  await sandbox?.close();
});
beforeEach(() => {
  sandbox.reset();
});

const get = (path: string, extra: Partial<RequestInput> = {}): Promise<HttpResult> =>
  send({ path, token, ...extra });
const put = (path: string, body: unknown, extra: Partial<RequestInput> = {}): Promise<HttpResult> =>
  send({ method: 'PUT', path, token, body: body as object, ...extra });

describe('spec example shapes', () => {
  it('PUT of the Update example approves the Pending connection and answers the example body', async () => {
    const update = example('PrivateEndpointConnectionsUpdate.json');
    expect(sandbox.connection(CONN1)?.status).toBe('Pending');
    const res = await put(`${CONN1}?${API}`, update.parameters.parameters);
    expect(res.status).toBe(200);
    expect(res.json).toEqual(update.responses['200']?.body);
    expect(sandbox.connection(CONN1)).toMatchObject({ status: 'Approved', provisioningState: 'Succeeded' });
  });

  it('GET and List then match their examples exactly', async () => {
    await put(`${CONN1}?${API}`, {
      properties: { privateLinkServiceConnectionState: { status: 'Approved' } },
    });
    const one = await get(`${CONN1}?${API}`);
    expect(one.status).toBe(200);
    expect(one.json).toEqual(example('PrivateEndpointConnectionsGet.json').responses['200']?.body);
    const list = await get(`${CLUSTER1}/privateEndpointConnections?${API}`);
    expect(list.status).toBe(200);
    const value = (list.json as { value: Array<{ name: string }> }).value;
    const expected = (
      example('PrivateEndpointConnectionsList.json').responses['200']?.body as { value: unknown[] }
    ).value[0];
    expect(value.find((c) => c.name === 'privateendpointconnection1')).toEqual(expected);
    expect(value.length).toBeGreaterThanOrEqual(5);
    expect(Object.keys(list.json as object)).toEqual(['value']);
  });

  it('keeps the description and carries the unknown extensible status through', async () => {
    const id = `${CLUSTER1}/privateEndpointConnections/pe-approved.6b1a3f1e-2c1d-4c55-9a51-3b2f0e0a0001`;
    const res = await get(`${id}?${API}`);
    expect(res.json).toMatchObject({
      properties: {
        privateLinkServiceConnectionState: {
          status: 'Approved',
          description: 'CHG0030001 approved by carol@contoso.com',
        },
      },
    });
    const odd = await get(
      `${CLUSTER1}/privateEndpointConnections/pe-provisioning.6b1a3f1e-2c1d-4c55-9a51-3b2f0e0a0004?${API}`,
    );
    expect(odd.json).toMatchObject({
      properties: {
        privateLinkServiceConnectionState: { status: 'Provisioning' },
        provisioningState: 'Creating',
      },
    });
  });

  it('matches fixed segments and names case-insensitively and answers with the stored casing', async () => {
    const path =
      `/SUBSCRIPTIONS/${SUB0}/RESOURCEGROUPS/RG1/PROVIDERS/microsoft.containerservice/MANAGEDCLUSTERS/CLUSTERNAME1` +
      `/PRIVATEENDPOINTCONNECTIONS/pe-pending-3.mixedcase?${API}`;
    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      name: 'PE-Pending-3.MixedCase',
      id: `/subscriptions/${SUB0}/resourcegroups/rg1/providers/Microsoft.ContainerService/managedCluster/clustername1/privateEndpointConnections/PE-Pending-3.MixedCase`,
    });
  });

  it('serves the second subscription, including names with _ - and .', async () => {
    const res = await get(
      `/subscriptions/${SUB1}/resourceGroups/rg-aks.prod_weu/providers/Microsoft.ContainerService/managedClusters/aks-prod_01/privateEndpointConnections?${API}`,
    );
    expect(res.status).toBe(200);
    expect((res.json as { value: unknown[] }).value.length).toBeGreaterThanOrEqual(6);
  });
});

describe('ARM headers', () => {
  it('sets a fresh x-ms-request-id, echoes correlation and client request ids, and answers JSON', async () => {
    const a = await get(`${CONN1}?${API}`, {
      headers: { 'x-ms-correlation-request-id': 'corr-1', 'x-ms-client-request-id': 'client-1' },
    });
    const b = await get(`${CONN1}?${API}`);
    expect(a.headers['x-ms-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.headers['x-ms-request-id']).not.toBe(a.headers['x-ms-request-id']);
    expect(a.headers['x-ms-correlation-request-id']).toBe('corr-1');
    expect(a.headers['x-ms-client-request-id']).toBe('client-1');
    expect(b.headers['x-ms-correlation-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.headers['x-ms-client-request-id']).toBeUndefined();
    expect(a.headers['content-type']).toBe('application/json; charset=utf-8');
    const err = await send({ path: `${CONN1}?${API}` });
    expect(err.headers['x-ms-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(err.headers['content-type']).toBe('application/json; charset=utf-8');
  });
});

describe('authentication', () => {
  const expect401 = (res: HttpResult, code: string): void => {
    expect(res.status).toBe(401);
    expect(errorCode(res)).toBe(code);
    expect(res.headers['www-authenticate']).toMatch(
      /^Bearer authorization_uri="[^"]+", error="invalid_token"/,
    );
  };

  it('rejects a missing Authorization header', async () => {
    const res = await send({ path: `${CONN1}?${API}` });
    expect401(res, 'AuthenticationFailed');
    expect(errorMessage(res)).toMatch(/'Authorization' header is missing/);
  });

  it('rejects a non-bearer scheme, a tampered token and a token for another audience', async () => {
    expect401(
      await send({ path: `${CONN1}?${API}`, headers: { authorization: `Basic ${token}` } }),
      'AuthenticationFailed',
    );
    const [h, p] = token.split('.');
    expect401(await send({ path: `${CONN1}?${API}`, token: `${h}.${p}.AAAA` }), 'InvalidAuthenticationToken');
    expect401(await send({ path: `${CONN1}?${API}`, token: 'garbage' }), 'InvalidAuthenticationToken');
    const vault = await send({
      path: `${CONN1}?${API}`,
      token: sandbox.issueToken('https://vault.azure.net'),
    });
    expect401(vault, 'InvalidAuthenticationTokenAudience');
    expect(errorMessage(vault)).toContain("'https://vault.azure.net'");
  });

  it('accepts every Resource Manager audience', async () => {
    for (const aud of ['https://management.azure.com/', 'https://management.core.windows.net/']) {
      expect((await send({ path: `${CONN1}?${API}`, token: sandbox.issueToken(aud) })).status).toBe(200);
    }
  });

  it('rejects an expired token', async () => {
    const clock = { now: Date.now() };
    const other = await startSandbox({ now: () => clock.now, tokenLifetimeSeconds: 60 });
    try {
      const client = makeClient(other);
      const short = other.issueToken('https://management.azure.com');
      expect((await client.send({ path: `${CONN1}?${API}`, token: short })).status).toBe(200);
      clock.now += 61_000;
      const res = await client.send({ path: `${CONN1}?${API}`, token: short });
      expect401(res, 'ExpiredAuthenticationToken');
      // Another instance's token is not this one's.
      expect401(await client.send({ path: `${CONN1}?${API}`, token }), 'InvalidAuthenticationToken');
    } finally {
      await other.close();
    }
  });
});

describe('ARM errors', () => {
  it('requires api-version 2025-01-01', async () => {
    const missing = await get(CONN1);
    expect(missing.status).toBe(400);
    expect(errorCode(missing)).toBe('MissingApiVersionParameter');
    const wrong = await get(`${CONN1}?api-version=2024-10-01`);
    expect(wrong.status).toBe(400);
    expect(errorCode(wrong)).toBe('InvalidApiVersionParameter');
    expect(errorMessage(wrong)).toContain('2025-01-01');
  });

  it('answers the 404 codes in Resource Manager order', async () => {
    const base = (sub: string, rg: string, cluster: string, conn: string): string =>
      `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.ContainerService/managedClusters/${cluster}/privateEndpointConnections/${conn}?${API}`;
    const cases: Array<[string, string]> = [
      [base('22222222-2222-2222-2222-222222222222', 'rg1', 'clustername1', 'x'), 'SubscriptionNotFound'],
      [base(SUB0, 'nope', 'clustername1', 'x'), 'ResourceGroupNotFound'],
      [base(SUB0, 'rg1', 'nope', 'x'), 'ParentResourceNotFound'],
      [base(SUB0, 'rg1', 'clustername1', 'nope'), 'ResourceNotFound'],
      [base(SUB0, 'rg-empty', 'clustername1', 'x'), 'ParentResourceNotFound'],
    ];
    for (const [path, code] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(errorCode(res), path).toBe(code);
    }
    const missing = await get(base(SUB0, 'rg1', 'clustername1', 'nope'));
    expect(errorMessage(missing)).toMatch(
      /^The Resource 'Microsoft\.ContainerService\/managedClusters\/clustername1\/privateEndpointConnections\/nope' under resource group 'rg1' was not found/,
    );
    const put404 = await put(base(SUB0, 'rg1', 'clustername1', 'nope'), {
      properties: { privateLinkServiceConnectionState: { status: 'Approved' } },
    });
    expect(put404.status).toBe(404);
    const list404 = await get(
      `/subscriptions/${SUB0}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/nope/privateEndpointConnections?${API}`,
    );
    expect(errorCode(list404)).toBe('ParentResourceNotFound');
  });

  it('answers unknown routes with 404 and unsupported methods with 405', async () => {
    const route = await get(`/subscriptions/${SUB0}/resourceGroups/rg1?${API}`);
    expect(route.status).toBe(404);
    expect(errorCode(route)).toBeDefined();
    const del = await send({ method: 'DELETE', path: `${CONN1}?${API}`, token });
    expect(del.status).toBe(405);
    expect(del.headers.allow).toBe('GET, PUT');
    const postList = await send({
      method: 'POST',
      path: `${CLUSTER1}/privateEndpointConnections?${API}`,
      token,
      body: {},
    });
    expect(postList.status).toBe(405);
  });
});

describe('PUT validation and transitions', () => {
  const state = (status: unknown, description?: unknown): unknown => ({
    properties: {
      privateLinkServiceConnectionState: { status, ...(description === undefined ? {} : { description }) },
    },
  });

  it('rejects bodies that are not JSON or lack the status', async () => {
    const notJson = await send({
      method: 'PUT',
      path: `${CONN1}?${API}`,
      token,
      body: '{nope',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(errorCode(notJson)).toBe('InvalidRequestContent');
    for (const body of [{}, { properties: {} }, state(5), state(''), { properties: 'x' }, []]) {
      const res = await put(`${CONN1}?${API}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(['InvalidRequestContent', 'BadRequest'], JSON.stringify(body)).toContain(errorCode(res));
    }
    expect((await put(`${CONN1}?${API}`, state('Maybe'))).status).toBe(400);
    const wrongType = await send({
      method: 'PUT',
      path: `${CONN1}?${API}`,
      token,
      body: '{}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(wrongType.status).toBe(415);
    expect(sandbox.connection(CONN1)?.status).toBe('Pending');
  });

  it('ignores read-only fields but records the raw body', async () => {
    const body = {
      id: '/subscriptions/x/other',
      name: 'renamed',
      type: 'Other/type',
      properties: {
        provisioningState: 'Failed',
        privateEndpoint: { id: '/elsewhere' },
        privateLinkServiceConnectionState: { status: 'Rejected', description: 'no thanks' },
      },
    };
    const res = await put(`${CONN1}?${API}`, body);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      name: 'privateendpointconnection1',
      type: 'Microsoft.Network/privateLinkServices/privateEndpointConnections',
      properties: {
        provisioningState: 'Succeeded',
        privateEndpoint: {
          id: '/subscriptions/subid2/resourceGroups/rg2/providers/Microsoft.Network/privateEndpoints/pe2',
        },
        privateLinkServiceConnectionState: { status: 'Rejected', description: 'no thanks' },
      },
    });
    const recorded = sandbox.requests().at(-1);
    expect(recorded?.body).toBe(JSON.stringify(body));
    expect(recorded?.headers.authorization).toBe('[redacted]');
    expect(recorded).toMatchObject({ method: 'PUT', status: 200, query: { 'api-version': '2025-01-01' } });
    expect(JSON.stringify(sandbox.requests())).not.toContain(token);
  });

  it('refuses to approve a Rejected connection and to change a Disconnected one', async () => {
    const rejected = `${CLUSTER1}/privateEndpointConnections/pe-rejected.6b1a3f1e-2c1d-4c55-9a51-3b2f0e0a0002`;
    const disconnected = `${CLUSTER1}/privateEndpointConnections/pe-disconnected.6b1a3f1e-2c1d-4c55-9a51-3b2f0e0a0003`;
    const a = await put(`${rejected}?${API}`, state('Approved'));
    expect(a.status).toBe(400);
    expect(errorCode(a)).toBe('PrivateEndpointConnectionStatusChangeNotAllowed');
    expect(sandbox.connection(rejected)?.status).toBe('Rejected');
    for (const status of ['Approved', 'Rejected', 'Pending']) {
      const res = await put(`${disconnected}?${API}`, state(status));
      expect(res.status).toBe(400);
      expect(errorCode(res)).toBe('PrivateEndpointConnectionStatusChangeNotAllowed');
    }
    expect(sandbox.connection(disconnected)?.status).toBe('Disconnected');
    // Re-stating the current Rejected state is not a change.
    expect((await put(`${rejected}?${API}`, state('Rejected', 'Not an approved consumer'))).status).toBe(200);
  });

  it('replaces the description on PUT', async () => {
    const id = `${CLUSTER1}/privateEndpointConnections/pe-pending-2`;
    await put(`${id}?${API}`, state('Approved'));
    expect(sandbox.connection(id)).toMatchObject({ status: 'Approved' });
    expect(sandbox.connection(id)?.description).toBeUndefined();
  });
});

describe('counters and recorded requests', () => {
  it('counts the most requests of one connection answered at once (peak)', async () => {
    sandbox.faults.add({ kind: 'latency', latencyMs: 40, method: 'GET', times: 3 });
    await Promise.all([1, 2, 3].map(() => get(`${CONN1}?${API}`)));
    await get(`${CONN1}?${API}`);
    const address = parseConnectionId(CONN1);
    if (address === undefined) throw new Error('CONN1 must parse');
    expect(sandbox.counts().byConnection[connectionKey(address)]).toEqual({ GET: 4, PUT: 0, peak: 3 });
  });

  it('counts GET, PUT and LIST, overall and per connection', async () => {
    await get(`${CONN1}?${API}`);
    await get(`${CONN1.toUpperCase().replace('SUBSCRIPTIONS', 'subscriptions')}?${API}`);
    await put(`${CONN1}?${API}`, {
      properties: { privateLinkServiceConnectionState: { status: 'Approved' } },
    });
    await get(`${CLUSTER1}/privateEndpointConnections?${API}`);
    await send({ path: `${CONN1}?${API}` });
    const counts = sandbox.counts();
    expect(counts.arm).toEqual({ total: 5, GET: 3, PUT: 1, LIST: 1, POLL: 0 });
    const address = parseConnectionId(CONN1);
    if (address === undefined) throw new Error('CONN1 must parse');
    const key = connectionKey(address);
    expect(key).toBe(CONN1.toLowerCase());
    expect(counts.byConnection).toEqual({ [key]: { GET: 3, PUT: 1, peak: 1 } });
    expect(sandbox.requests().map((r) => r.status)).toEqual([200, 200, 200, 200, 401]);
  });

  it('finds a connection by the id casing the spec example returns', () => {
    const odd = `/subscriptions/${SUB0}/resourcegroups/rg1/providers/Microsoft.ContainerService/managedCluster/clustername1/privateEndpointConnections/privateendpointconnection1`;
    expect(sandbox.connection(odd)?.name).toBe('privateendpointconnection1');
    expect(sandbox.connection('/not/an/id')).toBeUndefined();
    expect(sandbox.connections().filter((c) => c.status === 'Pending').length).toBeGreaterThanOrEqual(5);
  });
});
