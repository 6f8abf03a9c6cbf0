import { randomUUID } from 'node:crypto';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { loadConfig } from '../../src/config.js';
import { createStores } from '../../src/store/create-stores.js';
import { EXAMPLE_ID, PENDING_2, SUB } from '../support/arm.js';
import type { TestHost } from '../support/host.js';
import { hostEnv, startTestHost } from '../support/host.js';

/**
 * The order of the claim around the other writes. A key is bound to its body before the policy gate refuses it,
 * so it keeps that body (same key, other body: 422). A completed claim (a stored answer) is written only with the
 * record, in its transaction: while the record's write hangs, a retry is told the request is in flight rather
 * than handed an answer that no record backs.
 */

const UNCOVERED = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/other/privateEndpointConnections/pe-x`;

/**
 * While set, the Audit table's record transactions (those creating a chained record, which carries `prevHash`)
 * never get an answer (storage hangs mid-record); the claim and lease's transaction goes through.
 */
let hangRecords = false;
const hang: PipelinePolicy = {
  name: 'test-hang-audit-batch',
  sendRequest: (request, next) => {
    const body = typeof request.body === 'string' ? request.body : '';
    if (hangRecords && request.url.endsWith('$batch') && /Audit/.test(body) && /prevHash/.test(body))
      return new Promise(() => undefined);
    return next(request);
  },
};

let sandbox: Sandbox;
let app: TestHost;
/** The same tables under a policy that lists no rule for this caller: the gate refuses all it sends. */
let strict: TestHost;
const prefix = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
let audit: ReturnType<typeof createStores>['audit'];

beforeAll(async () => {
  sandbox = await startSandbox();
  const env = { TABLE_PREFIX: prefix, POLICY_PATH: 'test/fixtures/policy/one-cluster.yaml' };
  const stores = createStores(
    loadConfig(hostEnv(sandbox, prefix, env)).storage,
    { getToken: () => Promise.resolve(null) },
    { clock: Date.now, tuning: { policies: [hang] } },
  );
  audit = stores.audit;
  app = await startTestHost(sandbox, env, { stores });
  strict = await startTestHost(sandbox, {
    TABLE_PREFIX: prefix,
    POLICY_PATH: 'test/fixtures/policy/full.yaml',
  });
});
afterAll(async () => {
  hangRecords = false;
  await app?.host.close();
  await strict?.host.close();
  await sandbox?.close();
});

const post = (body: unknown, key: string) =>
  app.signedPost('/api/approvals', body, { headers: { 'idempotency-key': key } });

describe('a key refused by the policy gate keeps its body', () => {
  it('refused (403), then another body under the same key: 422, nothing written to Azure', async () => {
    const key = randomUUID();
    expect((await post({ connectionId: UNCOVERED, decision: 'Approved' }, key)).status).toBe(403);
    const second = await post({ connectionId: EXAMPLE_ID, decision: 'Rejected' }, key);
    expect(second.status, second.text).toBe(422);
    expect(sandbox.counts().arm.PUT).toBe(0);
  });

  it('approved (200), then a body the gate refuses under the same key: 422', async () => {
    const key = randomUUID();
    expect((await post({ connectionId: EXAMPLE_ID, decision: 'Approved' }, key)).status).toBe(200);
    const second = await post({ connectionId: UNCOVERED, decision: 'Approved' }, key);
    expect(second.status, second.text).toBe(422);
  });
});

describe('a repeat the policy gate refuses now', () => {
  it('is answered from the stored answer like any repeat; a new key is refused', async () => {
    const key = randomUUID();
    const body = { connectionId: PENDING_2, decision: 'Approved' };
    const first = await post(body, key);
    expect(first.status, first.text).toBe(200);
    const repeat = await strict.signedPost('/api/approvals', body, { headers: { 'idempotency-key': key } });
    expect(repeat.status, repeat.text).toBe(200);
    expect(repeat.headers.get('idempotent-replayed')).toBe('true');
    expect(repeat.json).toEqual(first.json);
    const fresh = await strict.signedPost('/api/approvals', body, {
      headers: { 'idempotency-key': randomUUID() },
    });
    expect(fresh.status, fresh.text).toBe(403);
  });
});

describe('the stored answer waits for the record', () => {
  it('while the record hangs, a retry is not handed the answer; the record lands once storage answers', async () => {
    sandbox.reset();
    const key = randomUUID();
    const body = { connectionId: EXAMPLE_ID, decision: 'Rejected' };
    hangRecords = true;
    void post(body, key).catch(() => undefined);
    // Until the PUT is made, there is nothing to race.
    for (let i = 0; i < 100 && sandbox.counts().arm.PUT === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(sandbox.counts().arm.PUT).toBe(1);
    const retry = await post(body, key);
    expect(retry.status, retry.text).not.toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(sandbox.counts().arm.PUT).toBe(1);
    hangRecords = false;
    expect((await audit.verify(EXAMPLE_ID)).ok).toBe(true);
  });
});
