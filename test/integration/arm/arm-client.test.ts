import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArmError, ArmUnavailableError } from '../../../src/arm/arm-errors.js';
import { parseConnectionId } from '../../../src/model/resource-id.js';
import type { ArmClient } from '../../../src/arm/arm-client.js';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import { callContext, EXAMPLE_ID, PENDING_2, REJECTED_ID, sandboxArmClient, SUB } from '../../support/arm.js';

let sandbox: Sandbox;
let arm: ArmClient;

beforeAll(async () => {
  sandbox = await startSandbox();
  arm = sandboxArmClient(sandbox);
});
afterAll(async () => sandbox?.close());
beforeEach(() => sandbox.reset());

const example = parseConnectionId(EXAMPLE_ID);

describe('ARM client against the sandbox over HTTPS with the managed identity', () => {
  it('GETs the connection in the spec shape, keeping the odd-cased id ARM returns', async () => {
    const result = await arm.getConnection(example, callContext());
    expect(result.status).toBe(200);
    expect(result.value).toMatchObject({
      name: 'privateendpointconnection1',
      status: 'Pending',
      privateEndpointId:
        '/subscriptions/subid2/resourceGroups/rg2/providers/Microsoft.Network/privateEndpoints/pe2',
    });
    expect(result.value.id.toLowerCase()).toContain('/resourcegroups/rg1/');
    expect(result.armRequestId).toBeTruthy();
  });

  it('PUTs exactly the spec example body at the spec path and api-version', async () => {
    const result = await arm.updateConnectionState(example, { status: 'Approved' }, callContext());
    expect(result.status).toBe(200);
    expect(result.value.status).toBe('Approved');
    const puts = sandbox.requests().filter((r) => r.method === 'PUT');
    expect(puts).toHaveLength(1);
    const put = puts[0]!;
    expect(put.path).toBe(
      `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/privateendpointconnection1`,
    );
    expect(put.query).toEqual({ 'api-version': '2025-01-01' });
    expect(JSON.parse(put.body ?? '')).toEqual({
      properties: { privateLinkServiceConnectionState: { status: 'Approved' } },
    });
    expect(sandbox.connection(EXAMPLE_ID)?.status).toBe('Approved');
  });

  it('adds the description when one is given, and sends our request and correlation ids', async () => {
    await arm.updateConnectionState(
      example,
      { status: 'Rejected', description: 'CHG0031234 rejected by bob' },
      callContext(10_000, 'our-request-id'),
    );
    const put = sandbox.requests().find((r) => r.method === 'PUT')!;
    expect(JSON.parse(put.body ?? '')).toEqual({
      properties: {
        privateLinkServiceConnectionState: { status: 'Rejected', description: 'CHG0031234 rejected by bob' },
      },
    });
    expect(put.headers['x-ms-client-request-id']).toBe('our-request-id');
    expect(put.headers['x-ms-correlation-request-id']).toBe('corr-our-request-id');
    expect(put.headers.authorization).toBe('[redacted]');
  });

  it('accepts 201 Created', async () => {
    sandbox.faults.add({ method: 'PUT', kind: 'status', status: 201 });
    const result = await arm.updateConnectionState(
      parseConnectionId(PENDING_2),
      { status: 'Approved' },
      callContext(),
    );
    expect(result.status).toBe(201);
    expect(result.value.status).toBe('Approved');
  });

  it('maps a missing connection to ArmError 404 with ARM code and request id, without retrying', async () => {
    const missing = parseConnectionId(EXAMPLE_ID.replace('privateendpointconnection1', 'nope'));
    const error = await arm.getConnection(missing, callContext()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmError);
    expect((error as ArmError).status).toBe(404);
    expect((error as ArmError).code).toBe('ResourceNotFound');
    expect((error as ArmError).armRequestId).toBeTruthy();
    expect(sandbox.counts().arm.GET).toBe(1);
  });

  it('reads a GET answered 204 No Content (how Key Vault says a connection is not there) as a 404', async () => {
    sandbox.faults.add({ method: 'GET', kind: 'status', status: 204 });
    const error = await arm
      .getConnection(parseConnectionId(EXAMPLE_ID), callContext())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmError);
    expect((error as ArmError).status).toBe(404);
    expect((error as ArmError).code).toBe('PrivateEndpointConnectionNotFound');
    expect(sandbox.counts().arm.GET).toBe(1);
  });

  it('maps a missing cluster to ParentResourceNotFound', async () => {
    const missing = parseConnectionId(EXAMPLE_ID.replace('clustername1', 'nocluster'));
    const error = (await arm.getConnection(missing, callContext()).catch((e: unknown) => e)) as ArmError;
    expect(error.code).toBe('ParentResourceNotFound');
  });

  it('does not retry a 409 conflict', async () => {
    sandbox.faults.add({ method: 'PUT', kind: 'status', status: 409, code: 'OperationNotAllowed', times: 5 });
    const error = (await arm
      .updateConnectionState(example, { status: 'Approved' }, callContext())
      .catch((e: unknown) => e)) as ArmError;
    expect(error).toBeInstanceOf(ArmError);
    expect(error.status).toBe(409);
    expect(error.code).toBe('OperationNotAllowed');
    expect(sandbox.counts().arm.PUT).toBe(1);
  });

  it.each([
    ['AnotherOperationInProgress', false],
    ['OperationInterrupted', true],
  ] as const)(
    'takes a 409 %s (another operation on the resource) as not done yet: unavailable with its Retry-After (may have applied: %s)',
    async (code, mayHaveApplied) => {
      sandbox.faults.add({ method: 'PUT', kind: 'status', status: 409, code, retryAfter: '7', times: 5 });
      const error = (await arm
        .updateConnectionState(example, { status: 'Approved' }, callContext())
        .catch((e: unknown) => e)) as ArmUnavailableError;
      expect(error).toBeInstanceOf(ArmUnavailableError);
      expect(error).toMatchObject({ lastStatus: 409, retryAfterSeconds: 7, mayHaveApplied });
      expect(error.cloudError?.code).toBe(code);
      expect(sandbox.counts().arm.PUT).toBe(1);
    },
  );

  it('surfaces ARM refusing Rejected → Approved', async () => {
    const error = (await arm
      .updateConnectionState(parseConnectionId(REJECTED_ID), { status: 'Approved' }, callContext())
      .catch((e: unknown) => e)) as ArmError;
    expect(error).toBeInstanceOf(ArmError);
    expect(error.status).toBe(400);
  });

  it('retries 429 with Retry-After, then succeeds', async () => {
    sandbox.faults.add({ method: 'PUT', kind: 'status', status: 429, retryAfter: '1' });
    const started = Date.now();
    const result = await arm.updateConnectionState(example, { status: 'Approved' }, callContext());
    expect(result.status).toBe(200);
    expect(sandbox.counts().arm.PUT).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950); // honoured the server's wait, not our 20 ms base
  });

  it('retries 429 without Retry-After using backoff', async () => {
    sandbox.faults.add({ method: 'GET', kind: 'status', status: 429, times: 2 });
    const result = await arm.getConnection(example, callContext());
    expect(result.status).toBe(200);
    expect(sandbox.counts().arm.GET).toBe(3);
  });

  it('retries 503 then succeeds, and 408 and 500 too', async () => {
    sandbox.faults.add([
      { method: 'GET', kind: 'status', status: 503 },
      { method: 'GET', kind: 'status', status: 408 },
      { method: 'GET', kind: 'status', status: 500 },
    ]);
    const result = await arm.getConnection(example, callContext());
    expect(result.status).toBe(200);
    expect(sandbox.counts().arm.GET).toBe(4);
  });

  it('retries a dropped GET, but never sends a PUT again that may have been applied', async () => {
    sandbox.faults.add({ method: 'GET', kind: 'drop' });
    expect((await arm.getConnection(example, callContext())).status).toBe(200);
    expect(sandbox.counts().arm.GET).toBe(2);

    sandbox.faults.add({ method: 'PUT', kind: 'drop' });
    const dropped = await arm
      .updateConnectionState(example, { status: 'Approved' }, callContext())
      .catch((e: unknown) => e);
    expect(dropped).toBeInstanceOf(ArmUnavailableError);
    expect((dropped as ArmUnavailableError).mayHaveApplied).toBe(true);
    expect((dropped as ArmUnavailableError).message).toMatch(/PUT may have been applied, so it is read back/);
    expect(sandbox.counts().arm.PUT).toBe(1);

    // A 5xx to a PUT may have been applied too; a throttled one (429) was refused before any work, so it is retried.
    sandbox.faults.add({ method: 'PUT', kind: 'status', status: 500 });
    expect(
      await arm
        .updateConnectionState(example, { status: 'Approved' }, callContext())
        .catch((e: unknown) => e),
    ).toBeInstanceOf(ArmUnavailableError);
    expect(sandbox.counts().arm.PUT).toBe(2);
    sandbox.faults.add({ method: 'PUT', kind: 'status', status: 429, retryAfter: '0' });
    const throttled = await arm.updateConnectionState(example, { status: 'Approved' }, callContext());
    expect(throttled.value.status).toBe('Approved');
    expect(sandbox.counts().arm.PUT).toBe(4);
  });

  it('never sends a PUT again after a 503 (it may come after the provider took the write), even with Retry-After', async () => {
    for (const retryAfter of [undefined, '0']) {
      const before = sandbox.counts().arm.PUT;
      sandbox.faults.add({
        method: 'PUT',
        kind: 'status',
        status: 503,
        ...(retryAfter ? { retryAfter } : {}),
      });
      const error = await arm
        .updateConnectionState(example, { status: 'Approved' }, callContext())
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ArmUnavailableError);
      expect((error as ArmUnavailableError).mayHaveApplied).toBe(true);
      expect(sandbox.counts().arm.PUT - before).toBe(1);
    }
  });

  it("keeps a PUT's 503 Retry-After for the attempt after it, though the PUT is not sent again here", async () => {
    sandbox.faults.add({ method: 'PUT', kind: 'status', status: 503, retryAfter: '60' });
    const error = (await arm
      .updateConnectionState(example, { status: 'Approved' }, callContext())
      .catch((e: unknown) => e)) as ArmUnavailableError;
    expect(error).toBeInstanceOf(ArmUnavailableError);
    expect(error.retryAfterSeconds).toBe(60);
    expect(sandbox.counts().arm.PUT).toBe(1);
  });

  it('a PUT refused only as throttled (429) past the deadline was not applied, and says so', async () => {
    sandbox.faults.add({ method: 'PUT', kind: 'status', status: 429, retryAfter: '30' });
    const error = (await arm
      .updateConnectionState(example, { status: 'Approved' }, callContext(2000))
      .catch((e: unknown) => e)) as ArmUnavailableError;
    expect(error).toBeInstanceOf(ArmUnavailableError);
    expect(error.mayHaveApplied).toBe(false);
    expect(sandbox.counts().arm.PUT).toBe(1);
  });

  it('gives up after the retry budget with ArmUnavailableError and a Retry-After hint', async () => {
    sandbox.faults.add({ method: 'GET', kind: 'status', status: 503, times: Infinity });
    const error = (await arm
      .getConnection(example, callContext())
      .catch((e: unknown) => e)) as ArmUnavailableError;
    expect(error).toBeInstanceOf(ArmUnavailableError);
    expect(error.lastStatus).toBe(503);
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(sandbox.counts().arm.GET).toBe(5);
  });

  it('stops at the deadline: a slow ARM is abandoned, not waited for', async () => {
    sandbox.faults.add({ method: 'GET', kind: 'latency', latencyMs: 3000, times: Infinity });
    const started = Date.now();
    const error = await arm.getConnection(example, callContext(400)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmUnavailableError);
    expect((error as Error).message).toContain('deadline');
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('does not wait for a Retry-After that ends past the deadline', async () => {
    sandbox.faults.add({ method: 'GET', kind: 'status', status: 429, retryAfter: '30' });
    const error = (await arm
      .getConnection(example, callContext(2000))
      .catch((e: unknown) => e)) as ArmUnavailableError;
    expect(error).toBeInstanceOf(ArmUnavailableError);
    expect(error.retryAfterSeconds).toBe(30);
    expect(sandbox.counts().arm.GET).toBe(1);
  });
});
