import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { startSandbox } from '../../dev/sandbox/index.js';
import { EXAMPLE_ID } from '../support/arm.js';
import type { RouteName } from '../support/callers.js';
import {
  expectProblem,
  FORM_TYPE,
  JSON_TYPE,
  observe,
  post,
  serviceNowChange,
  slackForm,
  slackHeaders,
  startCallerHost,
  strangerWebhookSecret,
  teamsActivity,
  teamsHeaders,
  webhookHeaders,
} from '../support/callers.js';
import type { TestHost, TestResponse } from '../support/host.js';

/** Webhook secrets as callers meet them: rotation in Key Vault, and Key Vault being down. */

/** Longer than SECRET_CACHE_TTL_SECONDS=1, so the next request reloads. */
const PAST_CACHE_MS = 1_200;

const ROTATED = `rotation-${randomUUID().slice(0, 8)}`;

let sandbox: Sandbox;
/** Verifies the generic route with ROTATED, cached for one second. */
let rotating: TestHost;
/** Default cache; nothing is sent to it before the outage, so its cache is cold. */
let cold: TestHost;
/** Default secret names, cached for one second. */
let expiring: TestHost;

beforeAll(async () => {
  sandbox = await startSandbox();
  rotating = await startCallerHost(sandbox, { WEBHOOK_SECRET_NAME: ROTATED, SECRET_CACHE_TTL_SECONDS: '1' });
  cold = await startCallerHost(sandbox);
  expiring = await startCallerHost(sandbox, { SECRET_CACHE_TTL_SECONDS: '1' });
});
afterAll(async () => {
  await Promise.all([rotating, cold, expiring].map((app) => app?.host.close()));
  await sandbox?.close();
});
beforeEach(() => sandbox.reset());

const approval = (): string => JSON.stringify({ connectionId: EXAMPLE_ID, decision: 'Approved' });

function generic(app: TestHost, secret: string): Promise<TestResponse> {
  const body = approval();
  return post(app, 'generic', body, { 'content-type': JSON_TYPE, ...webhookHeaders(body, { secret }) });
}

/** A request each route would accept, signed with the sandbox's secrets. */
const validRequest: Record<RouteName, (app: TestHost) => Promise<TestResponse>> = {
  generic: (app) => generic(app, sandbox.devSecrets.generic),
  servicenow: (app) => {
    const body = JSON.stringify(serviceNowChange(EXAMPLE_ID));
    return post(app, 'servicenow', body, {
      'content-type': JSON_TYPE,
      ...webhookHeaders(body, { secret: sandbox.devSecrets.servicenow }),
    });
  },
  teams: (app) => {
    const body = JSON.stringify(teamsActivity(`approve ${EXAMPLE_ID}`));
    return post(app, 'teams', body, {
      'content-type': JSON_TYPE,
      ...teamsHeaders(body, sandbox.devSecrets.teams),
    });
  },
  slack: (app) => {
    const body = slackForm(`approve ${EXAMPLE_ID}`);
    return post(app, 'slack', body, {
      'content-type': FORM_TYPE,
      ...slackHeaders(body, sandbox.devSecrets.slack),
    });
  },
};

describe('rotating the generic webhook secret', () => {
  it('new version accepted at once, old one until it is disabled and the cache has expired', async () => {
    const oldSecret = strangerWebhookSecret();
    const newSecret = strangerWebhookSecret();
    const oldVersion = sandbox.keyVault.setSecret(ROTATED, oldSecret);

    expect((await generic(rotating, oldSecret)).status).toBe(200);

    sandbox.keyVault.setSecret(ROTATED, newSecret);
    const beforeNew = observe(sandbox);
    const signedNew = await generic(rotating, newSecret);
    expect(signedNew.status, signedNew.text).toBe(200);
    // At most one refresh: a single page of the versions list (two versions fit one page).
    expect(
      (sandbox.keyVault.counts().list[ROTATED] ?? 0) - (beforeNew.kvList[ROTATED] ?? 0),
    ).toBeLessThanOrEqual(1);

    const stillOld = await generic(rotating, oldSecret);
    expect(stillOld.status, stillOld.text).toBe(200);

    sandbox.keyVault.updateVersion(ROTATED, oldVersion, { enabled: false });
    await sleep(PAST_CACHE_MS);
    const before = observe(sandbox);
    const refused = await generic(rotating, oldSecret);
    expectProblem(refused, 401);
    expect(sandbox.counts().arm.total).toBe(before.arm);

    expect((await generic(rotating, newSecret)).status).toBe(200);
  });

  it('the default secret is not accepted by a host configured for another name', async () => {
    sandbox.keyVault.setSecret(ROTATED, strangerWebhookSecret());
    const res = await generic(rotating, sandbox.devSecrets.generic);
    expectProblem(res, 401);
  });
});

describe('Key Vault unavailable', () => {
  it.each(['generic', 'servicenow', 'teams', 'slack'] as const)(
    '%s, cold cache: 503 with Retry-After, no ARM call',
    async (route) => {
      sandbox.keyVault.faults.unavailable = true;
      const before = observe(sandbox);
      const res = await validRequest[route](cold);
      expectProblem(res, 503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(sandbox.counts().arm.total).toBe(before.arm);
    },
  );

  it('generic, cache expired: 503 with Retry-After, no ARM call', async () => {
    expect((await validRequest.generic(expiring)).status).toBe(200);
    await sleep(PAST_CACHE_MS);
    sandbox.keyVault.faults.unavailable = true;
    const before = observe(sandbox);
    const res = await validRequest.generic(expiring);
    expectProblem(res, 503);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(sandbox.counts().arm.total).toBe(before.arm);
  });

  it.each<[string, () => Promise<TestResponse>]>([
    ['generic, no credentials', () => post(cold, 'generic', approval(), { 'content-type': JSON_TYPE })],
    [
      'generic, webhook-id alone',
      () => post(cold, 'generic', approval(), { 'content-type': JSON_TYPE, 'webhook-id': 'msg_1' }),
    ],
    [
      'teams, no Authorization',
      () => post(cold, 'teams', JSON.stringify(teamsActivity('help')), { 'content-type': JSON_TYPE }),
    ],
    ['slack, no signature', () => post(cold, 'slack', slackForm('help'), { 'content-type': FORM_TYPE })],
  ])('%s: still 401 (an unsigned request is not worth a retry)', async (_label, send) => {
    sandbox.keyVault.faults.unavailable = true;
    const res = await send();
    expectProblem(res, 401);
  });
});
