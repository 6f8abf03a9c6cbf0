import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AuthDeps } from '../../../src/auth/authenticate.js';
import { authenticateDiscoveryRunner, authenticatePoller } from '../../../src/auth/authenticate.js';
import { standardWebhookHeaders } from '../../../src/auth/standard-webhooks.js';
import type { RouteRequest } from '../../../src/http/route-types.js';
import { Refusal } from '../../../src/model/refusal.js';
import { SecretNotFoundError, SecretsUnavailableError } from '../../../src/secrets/errors.js';
import type { SecretProvider } from '../../../src/secrets/secret-provider.js';

/**
 * Whoever polls a `Location` proves they are the caller that started the work: the generic route's secret, or —
 * when the signature matches no generic secret, or no generic secret is configured, and only then — ServiceNow's.
 * Both cached secrets are tried before either is read afresh. Any other failure stands as it is.
 */

const GENERIC = 'webhook-secret';
const SERVICENOW = 'servicenow-webhook-secret';
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const secret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

/** Secrets by name, and every read the poller makes. */
class RecordingSecrets implements SecretProvider {
  readonly reads: string[] = [];
  constructor(private readonly values: Record<string, readonly string[] | Error>) {}
  getSecretValues(name: string): Promise<readonly string[]> {
    this.reads.push(`get ${name}`);
    return this.answer(name);
  }
  refreshAfterMiss(name: string): Promise<readonly string[] | undefined> {
    this.reads.push(`refresh ${name}`);
    return this.answer(name);
  }
  private answer(name: string): Promise<readonly string[]> {
    const value = this.values[name];
    if (value === undefined) return Promise.reject(new SecretNotFoundError(name, 'missing'));
    return value instanceof Error ? Promise.reject(value) : Promise.resolve(value);
  }
}

function deps(secrets: SecretProvider | undefined): AuthDeps {
  return {
    ...(secrets ? { secrets } : {}),
    secretNames: { generic: GENERIC, servicenow: SERVICENOW, teams: 'teams-token', slack: 'slack-secret' },
    now: () => NOW,
  };
}

function poll(headers: Record<string, string>): RouteRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    method: 'GET',
    url: new URL('https://approver.example/api/approvals/0b7e1c2a-7c1e-4f7a-9d3e-1a2b3c4d5e6f/outcome'),
    header: (name) => lower[name.toLowerCase()],
    body: new Uint8Array(0),
    bodyTooLarge: false,
    params: { id: '0b7e1c2a-7c1e-4f7a-9d3e-1a2b3c4d5e6f' },
  };
}

function signed(key: string, options: { timestamp?: number; webhookId?: string } = {}): RouteRequest {
  return poll(
    standardWebhookHeaders({
      secret: key,
      webhookId: options.webhookId ?? `msg_${randomBytes(6).toString('hex')}`,
      timestamp: options.timestamp ?? NOW / 1000,
      body: new Uint8Array(0),
    }),
  );
}

async function refusalOf(promise: Promise<unknown>): Promise<Refusal> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Refusal);
  return error as Refusal;
}

describe('authenticatePoller', () => {
  const generic = secret();
  const servicenow = secret();

  it('takes a poll signed with the generic secret as the generic caller, and reads nothing else', async () => {
    const secrets = new RecordingSecrets({ [GENERIC]: [generic], [SERVICENOW]: [servicenow] });
    const { caller, marks } = await authenticatePoller(
      deps(secrets),
      signed(generic, { webhookId: 'msg_g1' }),
    );
    expect(caller).toEqual({
      source: 'generic',
      scheme: 'standard-webhooks',
      id: GENERIC,
      deliveryId: 'msg_g1',
    });
    expect(marks.delivery).toMatchObject({ scope: 'generic:webhook-id', id: 'msg_g1' });
    expect(secrets.reads).toEqual([`get ${GENERIC}`]);
  });

  it("takes a poll signed with ServiceNow's secret as the ServiceNow caller, reading no secret afresh", async () => {
    const secrets = new RecordingSecrets({ [GENERIC]: [generic], [SERVICENOW]: [servicenow] });
    const { caller, marks } = await authenticatePoller(
      deps(secrets),
      signed(servicenow, { webhookId: 'msg_s1' }),
    );
    expect(caller).toEqual({
      source: 'servicenow',
      scheme: 'standard-webhooks',
      id: SERVICENOW,
      deliveryId: 'msg_s1',
    });
    expect(marks.delivery).toMatchObject({ scope: 'servicenow:webhook-id', id: 'msg_s1' });
    // The generic secret's cached versions missed, and it is not read again: this poll is ServiceNow's.
    expect(secrets.reads).toEqual([`get ${GENERIC}`, `get ${SERVICENOW}`]);
  });

  it("takes ServiceNow's poll while the generic secret holds a version that is no valid key", async () => {
    const secrets = new RecordingSecrets({
      [GENERIC]: ['whsec_not base64!', generic],
      [SERVICENOW]: [servicenow],
    });
    const { caller } = await authenticatePoller(deps(secrets), signed(servicenow));
    expect(caller.id).toBe(SERVICENOW);
    // Matching neither, the refusal says which stored versions are unusable, beside the usual reason.
    const refusal = await refusalOf(authenticatePoller(deps(secrets), signed(secret())));
    expect(refusal.details).toMatchObject({ reason: 'no-matching-signature', unusableSecrets: [0] });
  });

  it('accepts a generic secret rotated in since the cache was filled, without asking ServiceNow', async () => {
    const rotated = secret();
    let refreshed = false;
    const secrets: SecretProvider = {
      getSecretValues: (name) => Promise.resolve(name === GENERIC ? [generic] : [servicenow]),
      refreshAfterMiss: (name) => {
        refreshed = true;
        return Promise.resolve(name === GENERIC ? [rotated, generic] : undefined);
      },
    };
    const { caller } = await authenticatePoller(deps(secrets), signed(rotated));
    expect(refreshed).toBe(true);
    expect(caller.id).toBe(GENERIC);
  });

  it('refuses a signature that matches neither secret, as unauthenticated', async () => {
    const secrets = new RecordingSecrets({ [GENERIC]: [generic], [SERVICENOW]: [servicenow] });
    const refusal = await refusalOf(authenticatePoller(deps(secrets), signed(secret())));
    expect(refusal.kind).toBe('unauthenticated');
    expect(refusal.details.reason).toBe('no-matching-signature');
    expect(refusal.message).not.toContain(generic);
    expect(refusal.message).not.toContain(servicenow);
  });

  it('does not try ServiceNow for a stale timestamp, even when ServiceNow signed it', async () => {
    const secrets = new RecordingSecrets({ [GENERIC]: [generic], [SERVICENOW]: [servicenow] });
    const refusal = await refusalOf(
      authenticatePoller(deps(secrets), signed(servicenow, { timestamp: NOW / 1000 - 3_600 })),
    );
    expect(refusal.kind).toBe('unauthenticated');
    expect(refusal.details.reason).toBe('stale-timestamp');
    expect(secrets.reads).not.toContain(`get ${SERVICENOW}`);
  });

  it('does not try ServiceNow for a malformed signature', async () => {
    const secrets = new RecordingSecrets({ [GENERIC]: [generic], [SERVICENOW]: [servicenow] });
    const request = poll({
      'webhook-id': 'msg_x',
      'webhook-timestamp': String(NOW / 1000),
      'webhook-signature': 'v1,not-base64!',
    });
    const refusal = await refusalOf(authenticatePoller(deps(secrets), request));
    expect(refusal.details.reason).toBe('malformed-signature');
    expect(secrets.reads).toEqual([`get ${GENERIC}`]);
  });

  it('refuses a poll without the signature headers before any secret is read', async () => {
    const secrets = new RecordingSecrets({ [GENERIC]: [generic], [SERVICENOW]: [servicenow] });
    const incomplete = await refusalOf(authenticatePoller(deps(secrets), poll({ 'webhook-id': 'msg_1' })));
    expect(incomplete.kind).toBe('unauthenticated');
    expect(incomplete.details.reason).toBe('missing-header');
    const none = await refusalOf(authenticatePoller(deps(secrets), poll({})));
    expect(none.details.reason).toBe('no-credentials');
    expect(secrets.reads).toEqual([]);
  });

  it('answers unavailable when Key Vault cannot be read, without falling back to the ServiceNow secret', async () => {
    const down = new SecretsUnavailableError('Key Vault unreachable', {
      secretName: GENERIC,
      retryAfterSeconds: 7,
      code: 'ECONNREFUSED',
    });
    const secrets = new RecordingSecrets({ [GENERIC]: down, [SERVICENOW]: [servicenow] });
    const refusal = await refusalOf(authenticatePoller(deps(secrets), signed(servicenow)));
    expect(refusal.kind).toBe('unavailable');
    expect(refusal.details.retryAfterSeconds).toBe(7);
    expect(secrets.reads).toEqual([`get ${GENERIC}`]);
  });

  it('refuses as unauthenticated a signature that matches the only secret there is, not as not configured', async () => {
    const secrets = new RecordingSecrets({ [GENERIC]: [generic] });
    const refusal = await refusalOf(authenticatePoller(deps(secrets), signed(servicenow)));
    expect(refusal.kind).toBe('unauthenticated');
    expect(refusal.details.reason).toBe('no-matching-signature');
    // Only the secret that missed is read again, and only once both cached ones were tried.
    expect(secrets.reads).toEqual([
      `get ${GENERIC}`,
      `get ${SERVICENOW}`,
      `get ${GENERIC}`,
      `refresh ${GENERIC}`,
    ]);
  });

  it('falls back to the ServiceNow secret when no generic secret is configured (a ServiceNow-only deployment)', async () => {
    const secrets = new RecordingSecrets({ [SERVICENOW]: [servicenow] });
    const { caller } = await authenticatePoller(deps(secrets), signed(servicenow, { webhookId: 'msg_s2' }));
    expect(caller).toEqual({
      source: 'servicenow',
      scheme: 'standard-webhooks',
      id: SERVICENOW,
      deliveryId: 'msg_s2',
    });
    expect(secrets.reads).toEqual([`get ${GENERIC}`, `get ${SERVICENOW}`]);
  });

  it('refuses, as the ServiceNow route would, a signature that matches no secret when only ServiceNow has one', async () => {
    const secrets = new RecordingSecrets({ [SERVICENOW]: [servicenow] });
    const refusal = await refusalOf(authenticatePoller(deps(secrets), signed(secret())));
    expect(refusal.kind).toBe('unauthenticated');
    expect(refusal.details.reason).toBe('no-matching-signature');
    expect(secrets.reads).toEqual([
      `get ${GENERIC}`,
      `get ${SERVICENOW}`,
      `get ${SERVICENOW}`,
      `refresh ${SERVICENOW}`,
    ]);
  });

  it('refuses as not configured when neither secret exists', async () => {
    const secrets = new RecordingSecrets({});
    const refusal = await refusalOf(authenticatePoller(deps(secrets), signed(generic)));
    expect(refusal.kind).toBe('not-configured');
    expect(secrets.reads).toEqual([`get ${GENERIC}`, `get ${SERVICENOW}`]);
  });

  it("refuses as not configured when the stored secrets are too short, and the log's reason says so", async () => {
    const short = `whsec_${randomBytes(16).toString('base64')}`;
    const secrets = new RecordingSecrets({ [GENERIC]: [short], [SERVICENOW]: [short] });
    const refusal = await refusalOf(authenticatePoller(deps(secrets), signed(secret())));
    expect(refusal.kind).toBe('not-configured');
    expect(refusal.details.reason).toMatch(/InvalidSecretError: .*#0 decodes to 16 bytes/);
    expect(refusal.details.reason).not.toContain(short.slice('whsec_'.length));
  });

  it('refuses a signed poll when no Key Vault is configured', async () => {
    const refusal = await refusalOf(authenticatePoller(deps(undefined), signed(generic)));
    expect(refusal.kind).toBe('not-configured');
    expect(refusal.details.reason).toBe('no-key-vault');
  });

  it('refuses a bearer token when Entra ID is not configured, without reading any secret', async () => {
    const secrets = new RecordingSecrets({ [GENERIC]: [generic], [SERVICENOW]: [servicenow] });
    const refusal = await refusalOf(
      authenticatePoller(deps(secrets), poll({ authorization: 'Bearer abc.def.ghi' })),
    );
    expect(refusal.kind).toBe('unauthenticated');
    expect(refusal.details.reason).toBe('entra-not-configured');
    expect(secrets.reads).toEqual([]);
  });

  it('tells a discovery runner without Entra ID to ask the operator, not to sign with a secret that route refuses', async () => {
    const refusal = await refusalOf(
      authenticateDiscoveryRunner(deps(undefined), poll({ authorization: 'Bearer abc.def.ghi' })),
    );
    expect(refusal.details.reason).toBe('entra-not-configured');
    expect(refusal.message).toContain('ask the operator to set them');
    expect(refusal.message).not.toContain('webhook secret');
  });
});
