import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { providerConnectionId } from '../../dev/sandbox/seed.js';
import { AKS, PROVIDERS } from '../../src/model/provider-registry.js';
import type { TestHost } from '../support/host.js';
import { startTestHost } from '../support/host.js';

/**
 * Every registry type, approved and rejected through the generic route against the sandbox, which serves each
 * type from the registry itself (its api-version, its PUT's completion, its quirks): synchronous types in one
 * round trip, long-running ones by polling their operation, exactly one PUT each.
 */

let sandbox: Sandbox;
let app: TestHost;

beforeAll(async () => {
  sandbox = await startSandbox();
  app = await startTestHost(sandbox, { ARM_POLL_INTERVAL_MS: '20' });
});
afterAll(async () => {
  await app?.host.close();
  await sandbox?.close();
});
beforeEach(() => sandbox.reset());

const puts = (id: string) =>
  sandbox.requests().filter((r) => r.method === 'PUT' && r.path.toLowerCase() === id.toLowerCase());

describe.each(PROVIDERS.map((p) => [p.type, p] as const))('%s', (type, provider) => {
  it('approves a Pending connection, and rejects another, each with one PUT of its own api-version', async () => {
    const approveId = providerConnectionId(type, 'pe-pending');
    const rejectId = providerConnectionId(type, 'pe-pending-2');
    const approved = await app.signedPost('/api/approvals', {
      connectionId: approveId,
      decision: 'Approved',
    });
    expect(approved.status, approved.text).toBe(200);
    expect(approved.json).toMatchObject({
      outcome: 'approved',
      connection: { status: 'Approved', previousStatus: 'Pending' },
    });
    const rejected = await app.signedPost('/api/approvals', {
      connectionId: rejectId,
      decision: 'Rejected',
      description: 'not an approved consumer',
    });
    expect(rejected.status, rejected.text).toBe(200);
    expect(rejected.json).toMatchObject({ outcome: 'rejected', connection: { status: 'Rejected' } });

    for (const id of [approveId, rejectId]) {
      const sent = puts(id);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.query['api-version']).toBe(provider.apiVersion);
      const body = JSON.parse(sent[0]!.body!) as {
        etag?: unknown;
        properties: { privateLinkServiceConnectionState: { description?: string } };
      };
      expect(body.etag).toBeUndefined();
      if (provider.quirks.includes('description-required')) {
        expect(body.properties.privateLinkServiceConnectionState.description).toBeTruthy();
      }
    }
    expect(sandbox.counts().arm.POLL > 0).toBe(
      provider.completion !== 'sync' && provider.completion !== 'accepted',
    );
  });
});

describe('quirks and long-running operations', () => {
  const sql = 'Microsoft.Sql/servers';
  const storage = 'Microsoft.Storage/storageAccounts';
  const registry = 'Microsoft.ContainerRegistry/registries';

  it('Storage answering 400 to a write that had landed is read back and reported as approved', async () => {
    const id = providerConnectionId(storage);
    sandbox.faults.add({
      method: 'PUT',
      kind: 'status',
      status: 400,
      code: 'InvalidValuesForRequestParameters',
      afterApply: true,
    });
    const res = await app.signedPost('/api/approvals', { connectionId: id, decision: 'Approved' });
    expect(res.status, res.text).toBe(200);
    expect(res.json.outcome).toBe('approved');
    expect(puts(id)).toHaveLength(1);
  });

  it('SQL decides only Pending connections: rejecting an approved one is refused before any write (409)', async () => {
    const res = await app.signedPost('/api/approvals', {
      connectionId: providerConnectionId(sql, 'pe-approved'),
      decision: 'Rejected',
    });
    expect(res.status, res.text).toBe(409);
    expect(JSON.stringify(res.json)).toContain('decides only Pending');
    expect(sandbox.counts().arm.PUT).toBe(0);
  });

  it('a role that may not read the operation: the connection itself tells when the change landed (one PUT)', async () => {
    sandbox.operations.settings.refusePolls = true;
    const id = providerConnectionId(registry);
    const res = await app.signedPost('/api/approvals', { connectionId: id, decision: 'Approved' });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ outcome: 'approved', connection: { status: 'Approved' } });
    expect(puts(id)).toHaveLength(1);
  });

  it('a long-running operation that ends Failed answers 502 with the provider error code', async () => {
    sandbox.operations.failNext('PrivateEndpointConnectionUpdateFailed');
    const res = await app.signedPost('/api/approvals', {
      connectionId: providerConnectionId(registry),
      decision: 'Approved',
    });
    expect(res.status, res.text).toBe(502);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.json.detail).toContain('PrivateEndpointConnectionUpdateFailed');
    expect(sandbox.counts().arm.PUT).toBe(1);
  });

  it('one that outlives the synchronous budget continues from the queue and ends at its Location: one PUT', async () => {
    const slow = await startTestHost(sandbox, { ARM_POLL_INTERVAL_MS: '100', SYNC_BUDGET_MS: '600' });
    try {
      sandbox.operations.settings.pollsBeforeDone = 12;
      const id = providerConnectionId(sql);
      const res = await slow.signedPost('/api/approvals', { connectionId: id, decision: 'Approved' });
      expect(res.status, res.text).toBe(202);
      const done = await slow.followOutcome(res.headers.get('location')!);
      expect(done.status, done.text).toBe(200);
      expect(done.json).toMatchObject({
        outcome: 'approved',
        connection: { status: 'Approved', previousStatus: 'Pending' },
      });
      expect(puts(id)).toHaveLength(1);
    } finally {
      await slow.host.close();
    }
  });
});

describe('ids the app refuses before any call', () => {
  it('an unknown type: 400 naming the supported types and how to add one', async () => {
    const id = providerConnectionId(AKS.type).replace(
      'Microsoft.ContainerService/managedClusters',
      'Microsoft.Contoso/widgets',
    );
    const res = await app.signedPost('/api/approvals', { connectionId: id, decision: 'Approved' });
    expect(res.status).toBe(400);
    expect(res.json.detail).toContain('provider-registry');
    expect(res.json.supportedTypes).toEqual(PROVIDERS.map((p) => p.type));
    expect(sandbox.counts().arm.total).toBe(0);
  });

  it('a known type with a malformed name: 400 with a pointer', async () => {
    const id = providerConnectionId(AKS.type).replace(/managedClusters\/[^/]+\//, 'managedClusters/-bad-/');
    const res = await app.signedPost('/api/approvals', { connectionId: id, decision: 'Approved' });
    expect(res.status).toBe(400);
    expect(res.json.errors).toEqual([expect.objectContaining({ pointer: '/connectionId' })]);
    expect(sandbox.counts().arm.total).toBe(0);
  });

  it('a type this deployment did not enable: 403 saying how to enable it', async () => {
    const aksOnly = await startTestHost(sandbox, { ENABLED_RESOURCE_TYPES: AKS.type });
    try {
      const res = await aksOnly.signedPost('/api/approvals', {
        connectionId: providerConnectionId('Microsoft.KeyVault/vaults'),
        decision: 'Approved',
      });
      expect(res.status).toBe(403);
      expect(res.json.detail).toContain('ENABLED_RESOURCE_TYPES');
      expect(res.json.supportedTypes).toEqual([AKS.type]);
      expect(sandbox.counts().arm.total).toBe(0);
    } finally {
      await aksOnly.host.close();
    }
  });
});
