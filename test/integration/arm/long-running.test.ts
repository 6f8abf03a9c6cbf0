import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArmClient } from '../../../src/arm/arm-client.js';
import { createArmClient } from '../../../src/arm/arm-client.js';
import { ArmOperationFailedError, ArmOperationRunningError } from '../../../src/arm/arm-errors.js';
import type { Completion, ProviderType } from '../../../src/model/provider-registry.js';
import { PROVIDERS, restingStateOf } from '../../../src/model/provider-registry.js';
import { parseConnectionId } from '../../../src/model/resource-id.js';
import type { RecordedRequest, Sandbox } from '../../../dev/sandbox/index.js';
import { startSandbox } from '../../../dev/sandbox/index.js';
import { providerConnectionId } from '../../../dev/sandbox/seed.js';
import { callContext, useSandboxIdentity } from '../../support/arm.js';
import type { StandIn } from '../../support/https-stand-in.js';
import { answerJson, startHttpsStandIn } from '../../support/https-stand-in.js';

/**
 * The real ARM client against the sandbox's long-running PUTs, one registry type per completion mode: the
 * operation is waited for to its end (Retry-After honoured), the connection is read after it, a deadline hands
 * back a token that resumes the same operation without a second PUT, and a failed operation is a typed failure.
 */

let sandbox: Sandbox;
const standIns: StandIn[] = [];

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => sandbox?.close());
beforeEach(() => sandbox.reset());
afterEach(async () => {
  await Promise.all(standIns.splice(0).map((s) => s.close()));
});

/** A client like the app's, polling every `pollIntervalMs` when Resource Manager names no Retry-After. */
function armClient(pollIntervalMs: number, endpoint = sandbox.armEndpoint): ArmClient {
  return createArmClient({
    endpoint,
    scope: 'https://management.azure.com/.default',
    credential: useSandboxIdentity(sandbox),
    retry: { maxRetries: 2, baseDelayMs: 20, maxDelayMs: 100 },
    tls: { ca: sandbox.caCertPem },
    now: Date.now,
    pollIntervalMs,
  });
}

/** The first registry type of a completion mode without quirks (so a bare status PUT is enough). */
function typeOf(completion: Exclude<Completion, 'sync'>): ProviderType {
  const provider = PROVIDERS.find((p) => p.completion === completion && p.quirks.length === 0);
  if (provider === undefined) throw new Error(`no registry type completes ${completion}`);
  return provider;
}

const ASYNC = typeOf('azure-async-operation');
const LOCATION = typeOf('location');
const ACCEPTED = typeOf('accepted');
const WITH_HEADER = [ASYNC, LOCATION];
const LONG_RUNNING = [ASYNC, LOCATION, ACCEPTED];

const pendingOf = (provider: ProviderType) => parseConnectionId(providerConnectionId(provider.type));
const stored = (provider: ProviderType) => sandbox.connection(providerConnectionId(provider.type));
const isPoll = (r: RecordedRequest): boolean => /\/operation(Statuses|Results)\//i.test(r.path);

/** What the client asked while waiting: operation polls, or (for a bare 202) GETs of the connection itself. */
function pollsOf(provider: ProviderType): RecordedRequest[] {
  const connectionPath = new URL(providerConnectionId(provider.type), 'https://x').pathname.toLowerCase();
  return sandbox
    .requests()
    .filter((r) =>
      provider.completion === 'accepted'
        ? r.method === 'GET' && r.path.toLowerCase() === connectionPath
        : isPoll(r),
    );
}

/** A connection of `provider` as a fake Resource Manager shows it. */
function connectionBody(provider: ProviderType, status: string, provisioningState: string): object {
  return {
    id: providerConnectionId(provider.type),
    name: pendingOf(provider).connection,
    properties: {
      privateEndpoint: {
        id: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/privateEndpoints/z',
      },
      privateLinkServiceConnectionState: { status },
      provisioningState,
    },
  };
}

/** Approves the seeded Pending connection of `provider` through a fake Resource Manager. */
function approveThrough(fakeArm: StandIn, provider: ProviderType) {
  return armClient(10, fakeArm.url('')).updateConnectionState(
    pendingOf(provider),
    { status: 'Approved' },
    callContext(),
  );
}

describe('a long-running PUT is waited for to its end, then the connection is read', () => {
  it.each(LONG_RUNNING.map((p) => [p.completion, p.type, p] as const))(
    '%s (%s)',
    async (_completion, _type, provider) => {
      sandbox.operations.settings.pollsBeforeDone = 2;
      const arm = armClient(10);
      const result = await arm.updateConnectionState(
        pendingOf(provider),
        { status: 'Approved', description: 'approved by the long-running test' },
        callContext(),
      );

      // The change is visible in what the client answers, and it landed in the sandbox.
      expect(result.value.status).toBe('Approved');
      expect(result.value.description).toBe('approved by the long-running test');
      expect(result.status).toBe(provider.completion === 'azure-async-operation' ? 201 : 202);
      expect(result.armRequestId).toBeTruthy();
      expect(stored(provider)).toMatchObject({ status: 'Approved', provisioningState: 'Succeeded' });
      expect(sandbox.operations.running()).toBe(0);

      const counts = sandbox.counts().arm;
      expect(counts.PUT).toBe(1);
      if (provider.completion === 'accepted') {
        // No operation to poll: the connection itself is read until it settles, then once more for the answer.
        expect(counts.POLL).toBe(0);
        expect(counts.GET).toBe(2 + 1 + 1);
      } else {
        // "still running" twice, then the end; one GET of the connection after it.
        expect(counts.POLL).toBe(3);
        expect(counts.GET).toBe(1);
        const polls = sandbox.requests().filter(isPoll);
        // An Azure-AsyncOperation status answers 200 with a status; a Location poll answers 202 until the end.
        expect(polls.map((r) => r.status)).toEqual(
          provider.completion === 'azure-async-operation' ? [200, 200, 200] : [202, 202, 200],
        );
        expect(polls.every((r) => r.headers.authorization === '[redacted]')).toBe(true);
        expect(polls.every((r) => r.headers['x-ms-correlation-request-id'] === 'corr-req-1')).toBe(true);
      }
      // The read after the operation comes after its last poll.
      const requests = sandbox.requests();
      expect(requests.at(-1)).toMatchObject({ method: 'GET', status: 200 });
      expect(requests.at(-1)?.path).not.toMatch(/operation(Statuses|Results)/i);
    },
  );

  it.each(PROVIDERS.filter((p) => p.completion !== 'sync').map((p) => [p.type, p.completion, p] as const))(
    'every long-running type of the registry completes: %s (%s)',
    async (_type, _completion, provider) => {
      const arm = armClient(10);
      const result = await arm.updateConnectionState(
        pendingOf(provider),
        { status: 'Rejected', description: 'rejected by the long-running test' },
        callContext(),
      );
      expect(result.value.status).toBe('Rejected');
      expect(stored(provider)?.status).toBe('Rejected');
      expect(sandbox.counts().arm.PUT).toBe(1);
      const put = sandbox.requests().find((r) => r.method === 'PUT');
      expect(put?.query).toEqual({ 'api-version': provider.apiVersion });
    },
  );
});

describe('a PUT answered before it has finished', () => {
  const settlingTypes = [
    PROVIDERS.find((p) => p.completion === 'sync' && p.quirks.length === 0 && p.settling.length > 0),
    // Its connections rest at Ready, not Succeeded.
    PROVIDERS.find((p) => p.type === 'Microsoft.Sql/servers'),
  ].map((p) => {
    if (p === undefined) throw new Error('a registry type this test needs is gone');
    return [p.type, p] as const;
  });

  it.each(settlingTypes)(
    '%s: a 200 showing the connection still settling is waited for on the connection, then read',
    async (_type, provider) => {
      sandbox.operations.settings.answerBeforeDone = true;
      sandbox.operations.settings.pollsBeforeDone = 2;
      const result = await armClient(10).updateConnectionState(
        pendingOf(provider),
        { status: 'Approved', description: 'answered early', from: 'Pending' },
        callContext(),
      );
      expect(result.status).toBe(200);
      expect(result.value).toMatchObject({ status: 'Approved', description: 'answered early' });
      expect(stored(provider)).toMatchObject({
        status: 'Approved',
        provisioningState: restingStateOf(provider, 'Approved'),
      });
      expect(sandbox.operations.running()).toBe(0);
      // The connection was read until it settled, then once more for the answer.
      expect(sandbox.counts().arm).toMatchObject({ PUT: 1, POLL: 0, GET: 2 + 1 + 1 });
    },
  );

  it('a read of the connection failing with a 500 and an error body while waiting is "not yet", not a failure', async () => {
    sandbox.faults.add({
      method: 'GET',
      pathIncludes: '/privateEndpointConnections/pe-pending',
      kind: 'status',
      status: 500,
      code: 'InternalServerError',
      times: 3,
    });
    const error = await armClient(10)
      .updateConnectionState(pendingOf(ACCEPTED), { status: 'Approved', from: 'Pending' }, callContext())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmOperationRunningError);
    expect(sandbox.counts().arm.PUT).toBe(1);
  });
});

describe('the deadline', () => {
  it.each(LONG_RUNNING.map((p) => [p.completion, p.type, p] as const))(
    '%s (%s): hands back a token; resuming it finishes the same operation without a second PUT',
    async (_completion, _type, provider) => {
      sandbox.operations.settings.pollsBeforeDone = 3;
      const id = pendingOf(provider);
      // Polls 2 s apart: an operation of three "still running" answers outlasts a 1 s deadline.
      const slow = armClient(2_000);
      await slow.getConnection(id, callContext()); // the token, fetched before the clock starts
      const started = Date.now();
      const error = await slow
        .updateConnectionState(id, { status: 'Approved', description: 'resumed' }, callContext(1_000))
        .catch((e: unknown) => e);
      // Given up at the deadline, not after the operation.
      expect(Date.now() - started).toBeLessThan(1_900);

      expect(error).toBeInstanceOf(ArmOperationRunningError);
      const running = error as ArmOperationRunningError;
      expect(running.resumeToken).toEqual(expect.any(String));
      expect(running.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(running.correlationId).toBe('corr-req-1');
      expect(stored(provider)?.status).toBe('Pending');
      expect(sandbox.operations.running()).toBe(1);
      expect(sandbox.counts().arm.PUT).toBe(1);

      // Another client instance (as on another worker): the token is all it needs.
      const resumed = await armClient(10).resumeUpdate(
        id,
        running.resumeToken,
        { status: 'Approved', from: 'Pending' },
        callContext(10_000, 'req-2'),
      );
      expect(resumed.value.status).toBe('Approved');
      expect(resumed.value.description).toBe('resumed');
      expect(stored(provider)).toMatchObject({ status: 'Approved', provisioningState: 'Succeeded' });
      expect(sandbox.operations.running()).toBe(0);
      expect(sandbox.counts().arm.PUT).toBe(1);
      // The resumed wait went on polling where the first one stopped, with its own request's ids.
      const polls = pollsOf(provider);
      expect(polls.length).toBeGreaterThanOrEqual(4);
      expect(polls.at(-1)?.headers['x-ms-correlation-request-id']).toBe('corr-req-2');
    },
  );

  it("says when to look again: Resource Manager's Retry-After, in seconds", async () => {
    sandbox.operations.settings.pollsBeforeDone = 5;
    sandbox.operations.settings.retryAfterSeconds = 7;
    const error = await armClient(10)
      .updateConnectionState(pendingOf(ASYNC), { status: 'Approved' }, callContext(1_000))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmOperationRunningError);
    expect((error as ArmOperationRunningError).retryAfterSeconds).toBe(7);
    // The PUT's Retry-After (7 s) outlasts the 1 s deadline: it is waited only so far that one poll is left.
    expect(pollsOf(ASYNC)).toHaveLength(1);
  });

  it('a poll still failing with 503 after the retries is "not yet": running, and resumable', async () => {
    const id = pendingOf(ASYNC);
    sandbox.faults.add({
      method: 'GET',
      pathIncludes: '/operationStatuses/',
      kind: 'status',
      status: 503,
      times: 3,
    });
    const arm = armClient(10);
    const error = await arm
      .updateConnectionState(id, { status: 'Approved' }, callContext())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmOperationRunningError);
    // One poll and its two retries, all answered 503.
    expect(sandbox.counts().arm.POLL).toBe(3);
    expect(stored(ASYNC)?.status).toBe('Pending');

    const resumed = await arm.resumeUpdate(
      id,
      (error as ArmOperationRunningError).resumeToken,
      { status: 'Approved', from: 'Pending' },
      callContext(),
    );
    expect(resumed.value.status).toBe('Approved');
    expect(sandbox.counts().arm.PUT).toBe(1);
  });

  it('a throttled poll (429 after the retries) is "not yet" too', async () => {
    sandbox.faults.add({
      method: 'GET',
      pathIncludes: '/operationResults/',
      kind: 'status',
      status: 429,
      times: 3,
    });
    const error = await armClient(10)
      .updateConnectionState(pendingOf(LOCATION), { status: 'Approved' }, callContext())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmOperationRunningError);
    expect(sandbox.counts().arm.PUT).toBe(1);
  });
});

describe('an operation that ends Failed', () => {
  it.each(WITH_HEADER.map((p) => [p.completion, p.type, p] as const))(
    '%s (%s): ArmOperationFailedError with the provider error code; the connection is not changed',
    async (_completion, _type, provider) => {
      sandbox.operations.failNext('PrivateEndpointConnectionUpdateFailed', 'The provider could not do it.');
      const error = await armClient(10)
        .updateConnectionState(pendingOf(provider), { status: 'Approved' }, callContext())
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ArmOperationFailedError);
      const failed = error as ArmOperationFailedError;
      expect(failed.status).toBe('failed');
      expect(failed.cloudError).toMatchObject({
        code: 'PrivateEndpointConnectionUpdateFailed',
        message: 'The provider could not do it.',
      });
      expect(failed.correlationId).toBe('corr-req-1');
      expect(failed.message).toContain('PrivateEndpointConnectionUpdateFailed');
      expect(stored(provider)).toMatchObject({ status: 'Pending', provisioningState: 'Failed' });
      // No read after a failed operation: there is nothing to report but the failure.
      expect(sandbox.counts().arm).toMatchObject({ PUT: 1, GET: 0 });
    },
  );

  it(`accepted (${ACCEPTED.type}): the connection's Failed provisioning state is the failure`, async () => {
    sandbox.operations.failNext('WhateverTheProviderSaid');
    const error = await armClient(10)
      .updateConnectionState(pendingOf(ACCEPTED), { status: 'Approved' }, callContext())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmOperationFailedError);
    expect((error as ArmOperationFailedError).status).toBe('failed');
    expect(stored(ACCEPTED)).toMatchObject({ status: 'Pending', provisioningState: 'Failed' });
    expect(sandbox.counts().arm.PUT).toBe(1);
  });

  it('fails only the next operation', async () => {
    sandbox.operations.failNext('Once');
    const arm = armClient(10);
    await expect(
      arm.updateConnectionState(pendingOf(ASYNC), { status: 'Approved' }, callContext()),
    ).rejects.toBeInstanceOf(ArmOperationFailedError);
    const second = parseConnectionId(providerConnectionId(ASYNC.type, 'pe-pending-2'));
    const result = await arm.updateConnectionState(second, { status: 'Approved' }, callContext());
    expect(result.value.status).toBe('Approved');
  });

  it.each([401, 403, 404])(
    'a poll answered %i says nothing about the operation: the connection is read until the change lands',
    async (status) => {
      sandbox.faults.add({ method: 'GET', pathIncludes: '/operationResults/', kind: 'status', status });
      const result = await armClient(10).updateConnectionState(
        pendingOf(LOCATION),
        { status: 'Approved', from: 'Pending' },
        callContext(),
      );
      expect(result.value.status).toBe('Approved');
      // Not retried, not polled again: the connection's own GETs told.
      expect(sandbox.counts().arm.POLL).toBe(1);
      expect(sandbox.counts().arm.PUT).toBe(1);
    },
  );

  it.each(WITH_HEADER.map((p) => [p.completion, p.type, p] as const))(
    '%s (%s), its status refused (403): the connection left Failed at its old status ends the wait as failed',
    async (_completion, _type, provider) => {
      sandbox.operations.settings.refusePolls = true;
      sandbox.operations.failNext('PrivateEndpointConnectionUpdateFailed');
      const error = await armClient(10)
        .updateConnectionState(pendingOf(provider), { status: 'Approved', from: 'Pending' }, callContext())
        .catch((e: unknown) => e);

      // Not ArmOperationRunningError: resumed from the queue, it would wait on until the work's age ran out.
      expect(error).toBeInstanceOf(ArmOperationFailedError);
      const failed = error as ArmOperationFailedError;
      expect(failed.status).toBe('failed');
      expect(failed.mayHaveApplied).toBe(false);
      expect(failed.message).toContain('still Pending and its provisioning state is Failed');
      expect(stored(provider)).toMatchObject({ status: 'Pending', provisioningState: 'Failed' });
      expect(sandbox.counts().arm.PUT).toBe(1);
    },
  );

  it('an Azure-AsyncOperation status that cannot be read (4xx) is no verdict: the connection tells', async () => {
    sandbox.faults.add({
      method: 'GET',
      pathIncludes: '/operationStatuses/',
      kind: 'status',
      status: 400,
      code: 'InvalidOperationId',
    });
    const result = await armClient(10).updateConnectionState(
      pendingOf(ASYNC),
      { status: 'Approved', from: 'Pending' },
      callContext(),
    );
    expect(result.value.status).toBe('Approved');
    expect(sandbox.counts().arm).toMatchObject({ PUT: 1, POLL: 1 });
  });

  it('an Azure-AsyncOperation status answered 200 without a status is "not yet", not success', async () => {
    const id = pendingOf(ASYNC);
    const pending = {
      id: providerConnectionId(ASYNC.type),
      name: id.connection,
      properties: { privateLinkServiceConnectionState: { status: 'Pending' }, provisioningState: 'Updating' },
    };
    const fakeArm = await startHttpsStandIn(sandbox.tls, (received, res) => {
      if (received.method === 'PUT') {
        answerJson(201, pending, { 'azure-asyncoperation': '/operations/1?api-version=x' })(received, res);
      } else if (received.path.startsWith('/operations/')) answerJson(200, {})(received, res);
      else answerJson(200, pending)(received, res);
    });
    standIns.push(fakeArm);
    const error = await armClient(10, fakeArm.url(''))
      .updateConnectionState(id, { status: 'Approved', from: 'Pending' }, callContext(300))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmOperationRunningError);
    // The wait did not end: the connection was never read as if the operation had.
    expect(
      fakeArm.received().filter((r) => r.method === 'GET' && !r.path.startsWith('/operations/')),
    ).toEqual([]);
  });

  it('an Azure-AsyncOperation status read failing with a 500 and an error body is "not yet", also when resumed', async () => {
    const id = pendingOf(ASYNC);
    const fault = {
      method: 'GET',
      pathIncludes: '/operationStatuses/',
      kind: 'status',
      status: 500,
    } as const;
    sandbox.faults.add({ ...fault, code: 'InternalServerError', times: 3 });
    const arm = armClient(10);
    const first = await arm
      .updateConnectionState(id, { status: 'Approved' }, callContext())
      .catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ArmOperationRunningError);
    sandbox.faults.add({ ...fault, code: 'InternalServerError', times: 3 });
    const token = (first as ArmOperationRunningError).resumeToken;
    const second = await arm
      .resumeUpdate(id, token, { status: 'Approved', from: 'Pending' }, callContext())
      .catch((e: unknown) => e);
    expect(second).toBeInstanceOf(ArmOperationRunningError);
    const resumed = await arm.resumeUpdate(id, token, { status: 'Approved', from: 'Pending' }, callContext());
    expect(resumed.value.status).toBe('Approved');
    expect(sandbox.counts().arm.PUT).toBe(1);
  });

  it('a Location operation that fails with a 500 and the provider error has failed (not "not yet" forever)', async () => {
    sandbox.faults.add({
      method: 'GET',
      pathIncludes: '/operationResults/',
      kind: 'status',
      status: 500,
      code: 'PrivateEndpointConnectionUpdateFailed',
      times: Infinity,
    });
    const error = await armClient(10)
      .updateConnectionState(pendingOf(LOCATION), { status: 'Approved', from: 'Pending' }, callContext())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArmOperationFailedError);
    expect((error as ArmOperationFailedError).cloudError.code).toBe('PrivateEndpointConnectionUpdateFailed');
  });
});

describe('Retry-After and the poll interval', () => {
  /** Gaps in ms between consecutive polls of the operation. */
  const gapsOf = (provider: ProviderType): number[] => {
    const at = pollsOf(provider).map((r) => r.receivedAt);
    return at.slice(1).map((t, i) => t - (at[i] ?? t));
  };

  it.each(WITH_HEADER.map((p) => [p.completion, p.type, p] as const))(
    "%s (%s): polls (the first one too) are spaced by Resource Manager's Retry-After, not the client's interval",
    async (_completion, _type, provider) => {
      sandbox.operations.settings.pollsBeforeDone = 2;
      sandbox.operations.settings.retryAfterSeconds = 1;
      const started = Date.now();
      const result = await armClient(10).updateConnectionState(
        pendingOf(provider),
        { status: 'Approved' },
        callContext(),
      );
      expect(result.value.status).toBe('Approved');
      const gaps = gapsOf(provider);
      expect(gaps).toHaveLength(2);
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900);
      // The PUT's own Retry-After is waited out before the first poll too.
      const put = sandbox.requests().find((r) => r.method === 'PUT');
      const firstPoll = pollsOf(provider)[0];
      expect((firstPoll?.receivedAt ?? 0) - (put?.receivedAt ?? Infinity)).toBeGreaterThanOrEqual(900);
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_700);
    },
  );

  it('without Retry-After, the configured interval spaces the polls', async () => {
    sandbox.operations.settings.pollsBeforeDone = 2;
    await armClient(300).updateConnectionState(pendingOf(ASYNC), { status: 'Approved' }, callContext());
    const gaps = gapsOf(ASYNC);
    expect(gaps).toHaveLength(2);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(250);
  });
});

describe('a poll URL off the Resource Manager endpoint', () => {
  it.each([
    ['Azure-AsyncOperation', 'azure-asyncoperation', ASYNC, 201],
    ['Location', 'location', LOCATION, 202],
  ] as const)(
    'named in %s is not fetched (the token stays with Resource Manager): the connection is read until the change shows',
    async (_name, header, provider, status) => {
      const elsewhere = await startHttpsStandIn(sandbox.tls, answerJson(200, { status: 'Succeeded' }));
      standIns.push(elsewhere);
      const operation = elsewhere.url(
        `/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Evil/locations/x/operationStatuses/1?api-version=${provider.apiVersion}`,
      );
      // A fake Resource Manager that accepts the PUT, names an operation on another origin, and then shows it done.
      const fakeArm = await startHttpsStandIn(sandbox.tls, (received, res) => {
        const done = received.method !== 'PUT';
        const body = connectionBody(provider, done ? 'Approved' : 'Pending', done ? 'Succeeded' : 'Updating');
        if (received.method === 'PUT') answerJson(status, body, { [header]: operation })(received, res);
        else answerJson(200, body)(received, res);
      });
      standIns.push(fakeArm);

      const result = await approveThrough(fakeArm, provider);

      expect(result.value.status).toBe('Approved');
      expect(elsewhere.received()).toEqual([]);
      expect(elsewhere.connections()).toBe(0);
      expect(fakeArm.received().map((r) => r.method)).toEqual(['PUT', 'GET']);
    },
  );

  it('an operation named on another origin is waited for on the connection when resumed after a deadline too', async () => {
    const id = pendingOf(ASYNC);
    const elsewhere = await startHttpsStandIn(sandbox.tls, answerJson(200, { status: 'Succeeded' }));
    standIns.push(elsewhere);
    const operation = elsewhere.url(
      `/subscriptions/${id.subscriptionId}/providers/Microsoft.Evil/locations/x/operationStatuses/1`,
    );
    let landed = false;
    const fakeArm = await startHttpsStandIn(sandbox.tls, (received, res) => {
      const body = connectionBody(ASYNC, landed ? 'Approved' : 'Pending', landed ? 'Succeeded' : 'Updating');
      if (received.method === 'PUT')
        answerJson(201, body, { 'azure-asyncoperation': operation })(received, res);
      else answerJson(200, body)(received, res);
    });
    standIns.push(fakeArm);

    const first = await armClient(10, fakeArm.url(''))
      .updateConnectionState(id, { status: 'Approved' }, callContext(300))
      .catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ArmOperationRunningError);
    landed = true;
    const resumed = await armClient(10, fakeArm.url('')).resumeUpdate(
      id,
      (first as ArmOperationRunningError).resumeToken,
      { status: 'Approved', from: 'Pending' },
      callContext(),
    );
    expect(resumed.value.status).toBe('Approved');
    expect(elsewhere.received()).toEqual([]);
    expect(fakeArm.received().filter((r) => r.method === 'PUT')).toHaveLength(1);
  });

  it('a relative poll URL is resolved against the endpoint and followed', async () => {
    const body = connectionBody(ASYNC, 'Approved', 'Succeeded');
    const fakeArm = await startHttpsStandIn(sandbox.tls, (received, res) => {
      if (received.method === 'PUT') {
        answerJson(201, body, { 'azure-asyncoperation': '/operations/1?api-version=x' })(received, res);
      } else if (received.path.startsWith('/operations/')) {
        answerJson(200, { status: 'Succeeded' })(received, res);
      } else answerJson(200, body)(received, res);
    });
    standIns.push(fakeArm);
    const result = await approveThrough(fakeArm, ASYNC);
    expect(result.value.status).toBe('Approved');
    expect(fakeArm.received().map((r) => `${r.method} ${r.path.split('?')[0] ?? ''}`)).toEqual([
      'PUT ' + new URL(providerConnectionId(ASYNC.type), 'https://x').pathname,
      'GET /operations/1',
      'GET ' + new URL(providerConnectionId(ASYNC.type), 'https://x').pathname,
    ]);
  });

  it('with both Azure-AsyncOperation and Operation-Location, follows Azure-AsyncOperation', async () => {
    const path = new URL(providerConnectionId(ASYNC.type), 'https://x').pathname;
    const body = connectionBody(ASYNC, 'Approved', 'Succeeded');
    const fakeArm = await startHttpsStandIn(sandbox.tls, (received, res) => {
      const operations = {
        'azure-asyncoperation': '/operations/arm',
        'operation-location': '/operations/other',
      };
      if (received.method === 'PUT') answerJson(201, body, operations)(received, res);
      else if (received.path.startsWith('/operations/arm'))
        answerJson(200, { status: 'Succeeded' })(received, res);
      else if (received.path.startsWith('/operations/other'))
        answerJson(200, { status: 'Failed', error: { code: 'NotThisOne' } })(received, res);
      else answerJson(200, body)(received, res);
    });
    standIns.push(fakeArm);
    const result = await approveThrough(fakeArm, ASYNC);
    expect(result.value.status).toBe('Approved');
    expect(fakeArm.received().map((r) => `${r.method} ${r.path}`)).toEqual([
      `PUT ${path}?api-version=${ASYNC.apiVersion}`,
      'GET /operations/arm',
      `GET ${path}?api-version=${ASYNC.apiVersion}`,
    ]);
  });
});
