import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { ARM_AUDIENCES, startSandbox } from '../../../dev/sandbox/index.js';
import { withIdentityEnv } from './support.js';

// msal-node keeps the managed identity source (endpoint + header) and its token cache in statics, so this file
// uses one sandbox for every credential it builds.
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});

async function raw(
  query: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${sandbox.identityEndpoint}${query}`, { method, headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('managed identity endpoint with the real ManagedIdentityCredential', () => {
  it('issues a Resource Manager token that the sandbox accepts, and counts the request', async () => {
    const before = sandbox.counts().token;
    const token = await withIdentityEnv(sandbox, async () => {
      const credential = new ManagedIdentityCredential();
      return credential.getToken('https://management.azure.com/.default');
    });
    expect(token.token.split('.')).toHaveLength(3);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3000 * 1000);
    const verified = sandbox.verifyToken(token.token, ARM_AUDIENCES);
    expect(verified.ok).toBe(true);
    if (verified.ok) {
      expect(verified.claims.aud).toBe('https://management.azure.com');
      expect(verified.claims.appid).toBe(sandbox.managedIdentityClientId);
      expect(verified.claims.oid).toBe(sandbox.managedIdentityClientId);
    }
    expect(sandbox.counts().token).toBe(before + 1);
  });

  it('serves a user-assigned identity requested by its client id', async () => {
    const token = await withIdentityEnv(sandbox, () =>
      new ManagedIdentityCredential({ clientId: sandbox.managedIdentityClientId }).getToken(
        'https://vault.azure.net/.default',
      ),
    );
    const verified = sandbox.verifyToken(token.token, ['https://vault.azure.net']);
    expect(verified.ok).toBe(true);
  });

  it('refuses an identity that is not assigned', async () => {
    await expect(
      withIdentityEnv(sandbox, () =>
        new ManagedIdentityCredential({ clientId: '99999999-9999-4999-8999-999999999999' }).getToken(
          'https://management.azure.com/.default',
        ),
      ),
    ).rejects.toThrow(/Managed Identity/);
  });
});

describe('managed identity endpoint protocol (2019-08-01)', () => {
  it('answers the App Service token shape', async () => {
    const { status, body } = await raw(
      `?api-version=2019-08-01&resource=${encodeURIComponent('https://management.azure.com')}`,
      { 'X-IDENTITY-HEADER': sandbox.identityHeader },
    );
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual([
      'access_token',
      'client_id',
      'expires_on',
      'resource',
      'token_type',
    ]);
    expect(body.token_type).toBe('Bearer');
    expect(body.resource).toBe('https://management.azure.com');
    expect(body.client_id).toBe(sandbox.managedIdentityClientId);
    expect(body.expires_on).toMatch(/^\d+$/);
    const expiresOn = Number(body.expires_on);
    expect(expiresOn - Math.floor(Date.now() / 1000)).toBeGreaterThan(3500);
    expect(expiresOn - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(3600);
  });

  it('rejects a missing identity header with 400 and a wrong one with 401', async () => {
    const query = '?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com';
    const missing = await raw(query);
    expect(missing.status).toBe(400);
    expect(String(missing.body.message)).toMatch(/X-IDENTITY-HEADER/);
    const wrong = await raw(query, { 'X-IDENTITY-HEADER': 'not-the-secret' });
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain(sandbox.identityHeader);
  });

  it('requires the api-version and the resource', async () => {
    const h = { 'X-IDENTITY-HEADER': sandbox.identityHeader };
    expect((await raw('?resource=https%3A%2F%2Fmanagement.azure.com', h)).status).toBe(400);
    expect((await raw('?api-version=2017-09-01&resource=https%3A%2F%2Fmanagement.azure.com', h)).status).toBe(
      400,
    );
    expect((await raw('?api-version=2019-08-01', h)).status).toBe(400);
  });

  it('accepts the assigned client id and refuses other methods and paths', async () => {
    const h = { 'X-IDENTITY-HEADER': sandbox.identityHeader };
    const ok = await raw(
      `?api-version=2019-08-01&resource=x&client_id=${sandbox.managedIdentityClientId.toUpperCase()}`,
      h,
    );
    expect(ok.status).toBe(200);
    expect((await raw('?api-version=2019-08-01&resource=x', h, 'POST')).status).toBe(405);
    const other = await fetch(sandbox.identityEndpoint.replace('/msi/token', '/other'));
    expect(other.status).toBe(404);
  });

  it("answers the path as Microsoft's samples spell it too: any case, a trailing slash", async () => {
    for (const path of ['/MSI/token', '/msi/token/']) {
      const url = `${sandbox.identityEndpoint.replace('/msi/token', path)}?api-version=2019-08-01&resource=x`;
      const res = await fetch(url, { headers: { 'X-IDENTITY-HEADER': sandbox.identityHeader } });
      expect(res.status, path).toBe(200);
    }
  });

  it('counts every token request, failures included, until reset', async () => {
    sandbox.reset();
    await raw('?api-version=2019-08-01&resource=x');
    await raw('?api-version=2019-08-01&resource=x', { 'X-IDENTITY-HEADER': sandbox.identityHeader });
    expect(sandbox.counts().token).toBe(2);
    sandbox.reset();
    expect(sandbox.counts().token).toBe(0);
  });
});

describe('configured lifetime and client id', () => {
  it('uses tokenLifetimeSeconds and managedIdentityClientId', async () => {
    const clock = { now: 1_800_000_000_000 };
    const other = await startSandbox({
      tokenLifetimeSeconds: 120,
      managedIdentityClientId: '12345678-1234-4234-8234-123456789012',
      now: () => clock.now,
    });
    try {
      const res = await fetch(
        `${other.identityEndpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fmanagement.azure.com`,
        {
          headers: { 'X-IDENTITY-HEADER': other.identityHeader },
        },
      );
      const body = (await res.json()) as { expires_on: string; client_id: string; access_token: string };
      expect(body.expires_on).toBe(String(1_800_000_000 + 120));
      expect(body.client_id).toBe('12345678-1234-4234-8234-123456789012');
      expect(other.verifyToken(body.access_token, ARM_AUDIENCES).ok).toBe(true);
      clock.now += 120_000;
      expect(other.verifyToken(body.access_token, ARM_AUDIENCES)).toMatchObject({
        ok: false,
        reason: 'expired',
      });
      // Tokens are bound to the instance that signed them.
      expect(sandbox.verifyToken(body.access_token, ARM_AUDIENCES)).toMatchObject({
        ok: false,
        reason: 'bad-signature',
      });
    } finally {
      await other.close();
    }
  });
});
