import { request } from 'node:https';
import { Agent } from 'node:https';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManagedIdentityCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { startSandbox } from '../../../dev/sandbox/index.js';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { KEY_VAULT_RESOURCE, startKeyVaultStandIn } from '../../../dev/sandbox/key-vault.js';
import type { KeyVaultStandIn } from '../../../dev/sandbox/key-vault.js';
import { SANDBOX_TENANT_ID } from '../../../dev/sandbox/tokens.js';

/**
 * The Key Vault stand-in over real HTTPS: its wire behaviour with a plain client, then the real SecretClient and
 * ManagedIdentityCredential against it.
 */

const API = 'api-version=7.6';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
}

let sandbox: Sandbox;
let vault: KeyVaultStandIn;
let agent: Agent;
let savedEnv: { IDENTITY_ENDPOINT?: string; IDENTITY_HEADER?: string };
let nowMs = Date.now();

function send(path: string, init: { token?: string; method?: string; body?: unknown } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const body = init.body === undefined ? undefined : JSON.stringify(init.body);
    const req = request(
      new URL(path, vault.vaultUrl),
      {
        method: init.method ?? 'GET',
        agent,
        headers: {
          ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: text === '' ? undefined : JSON.parse(text),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const vaultToken = (): string => sandbox.issueToken(KEY_VAULT_RESOURCE);

beforeAll(async () => {
  sandbox = await startSandbox();
  vault = await startKeyVaultStandIn({
    tls: sandbox.tls,
    verifyToken: sandbox.verifyToken,
    authorizationUri: 'https://login.microsoftonline.com',
    now: () => nowMs,
  });
  agent = new Agent({ ca: sandbox.caCertPem, keepAlive: false });
  savedEnv = {
    IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT,
    IDENTITY_HEADER: process.env.IDENTITY_HEADER,
  };
  process.env.IDENTITY_ENDPOINT = sandbox.identityEndpoint;
  process.env.IDENTITY_HEADER = sandbox.identityHeader;
});

afterAll(async () => {
  if (savedEnv.IDENTITY_ENDPOINT === undefined) delete process.env.IDENTITY_ENDPOINT;
  else process.env.IDENTITY_ENDPOINT = savedEnv.IDENTITY_ENDPOINT;
  if (savedEnv.IDENTITY_HEADER === undefined) delete process.env.IDENTITY_HEADER;
  else process.env.IDENTITY_HEADER = savedEnv.IDENTITY_HEADER;
  agent.destroy();
  await vault.close();
  await sandbox.close();
});

beforeEach(() => {
  vault.reset();
  nowMs = Date.now();
});

describe('Key Vault stand-in on the wire', () => {
  it('challenges a request without a token the way the SDK parses it', async () => {
    vault.setSecret('s1', 'value-1');
    const reply = await send(`/secrets/s1/?${API}`);
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toBe(
      `Bearer authorization="https://login.microsoftonline.com/${SANDBOX_TENANT_ID}", resource="https://vault.azure.net"`,
    );
    expect(reply.json).toMatchObject({ error: { code: 'Unauthorized' } });
    expect(vault.counts()).toEqual({ get: {}, list: {}, total: 1 });
  });

  it('refuses a token minted for another audience', async () => {
    const reply = await send(`/secrets/s1/?${API}`, {
      token: sandbox.issueToken('https://management.azure.com'),
    });
    expect(reply.status).toBe(401);
    expect(reply.headers['www-authenticate']).toContain('resource="https://vault.azure.net"');
  });

  it('answers a secret bundle with Unix-second attributes and a full id', async () => {
    nowMs = Date.UTC(2025, 0, 2, 3, 4, 5);
    const expiresOn = new Date(Date.UTC(2026, 0, 1));
    const version = vault.setSecret('Webhook-Secret', 'value-1', { expiresOn });
    const reply = await send(`/secrets/webhook-secret/${version}?${API}`, { token: vaultToken() });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({
      value: 'value-1',
      id: `${vault.vaultUrl}/secrets/Webhook-Secret/${version}`,
      attributes: {
        enabled: true,
        exp: expiresOn.getTime() / 1000,
        created: nowMs / 1000,
        updated: nowMs / 1000,
        recoveryLevel: 'Recoverable+Purgeable',
        recoverableDays: 90,
      },
      tags: {},
    });
    expect(version).toMatch(/^[0-9a-f]{32}$/);
    expect(vault.counts().get).toEqual({ 'Webhook-Secret': 1 });
  });

  it('answers the most recently created version for an unversioned get, with or without the trailing slash', async () => {
    vault.setSecret('s1', 'old');
    nowMs += 5_000;
    const latest = vault.setSecret('s1', 'new');
    for (const path of [`/secrets/s1/?${API}`, `/secrets/s1?${API}`]) {
      const reply = await send(path, { token: vaultToken() });
      expect(reply.status).toBe(200);
      expect(reply.json).toMatchObject({ value: 'new', id: `${vault.vaultUrl}/secrets/s1/${latest}` });
    }
  });

  it('refuses to get a disabled version with 403 SecretDisabled', async () => {
    const version = vault.setSecret('s1', 'v', { enabled: false });
    const reply = await send(`/secrets/s1/${version}?${API}`, { token: vaultToken() });
    expect(reply.status).toBe(403);
    expect(reply.json).toEqual({
      error: {
        code: 'Forbidden',
        message: 'Operation get is not allowed on a disabled secret.',
        innererror: { code: 'SecretDisabled' },
      },
    });
  });

  it('answers SecretNotFound for an unknown secret or version, and an empty page for its versions', async () => {
    const missing = await send(`/secrets/nope/?${API}`, { token: vaultToken() });
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ error: { code: 'SecretNotFound' } });
    vault.setSecret('s1', 'v');
    const wrongVersion = await send(`/secrets/s1/${'0'.repeat(32)}?${API}`, { token: vaultToken() });
    expect(wrongVersion.status).toBe(404);
    const list = await send(`/secrets/nope/versions?${API}`, { token: vaultToken() });
    expect(list).toMatchObject({ status: 200, json: { value: [], nextLink: null } });
  });

  it('pages the versions list through nextLink, without values', async () => {
    for (let i = 0; i < 5; i += 1) vault.setSecret('s1', `value-${i}`);
    const seen: unknown[] = [];
    let next: string | null = `/secrets/s1/versions?${API}`;
    let pages = 0;
    while (next !== null) {
      const reply = await send(next, { token: vaultToken() });
      expect(reply.status).toBe(200);
      const body = reply.json as { value: Record<string, unknown>[]; nextLink: string | null };
      expect(body.value.length).toBeLessThanOrEqual(2);
      for (const item of body.value) expect(item).not.toHaveProperty('value');
      seen.push(...body.value);
      next = body.nextLink;
      if (next !== null) expect(next.startsWith(`${vault.vaultUrl}/secrets/s1/versions?`)).toBe(true);
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(new Set(seen.map((item) => (item as { id: string }).id)).size).toBe(5);
    expect(vault.counts().list).toEqual({ s1: 3 });
  });

  it('requires a known api-version', async () => {
    const none = await send('/secrets/s1/', { token: vaultToken() });
    expect(none.status).toBe(400);
    expect(none.json).toMatchObject({ error: { code: 'BadParameter' } });
    const unknown = await send('/secrets/s1/?api-version=1999-01-01', { token: vaultToken() });
    expect(unknown.status).toBe(400);
  });

  it('injects 503, 403 and dropped connections', async () => {
    vault.setSecret('s1', 'v');
    vault.faults.unavailable = true;
    const unavailable = await send(`/secrets/s1/?${API}`, { token: vaultToken() });
    expect(unavailable).toMatchObject({ status: 503, json: { error: { code: 'ServiceUnavailable' } } });
    vault.faults.unavailableMode = 'drop';
    await expect(send(`/secrets/s1/?${API}`, { token: vaultToken() })).rejects.toThrow();
    vault.faults.unavailable = false;
    vault.faults.forbidden = true;
    const forbidden = await send(`/secrets/s1/?${API}`, { token: vaultToken() });
    expect(forbidden).toMatchObject({ status: 403, json: { error: { code: 'Forbidden' } } });
    vault.reset();
    expect(vault.faults).toEqual({ unavailable: false, unavailableMode: 'status', forbidden: false });
  });
});

describe('Key Vault stand-in with the real SecretClient and ManagedIdentityCredential', () => {
  const client = (): SecretClient =>
    new SecretClient(vault.vaultUrl, new ManagedIdentityCredential(), {
      disableChallengeResourceVerification: true,
      tlsOptions: { ca: sandbox.caCertPem },
      retryOptions: { maxRetries: 0 },
    });

  it('sets, gets, lists and updates secrets', async () => {
    const kv = client();
    const first = await kv.setSecret('roundtrip', 'one');
    nowMs += 2_000;
    const second = await kv.setSecret('roundtrip', 'two', { expiresOn: new Date(nowMs + 3_600_000) });
    expect((await kv.getSecret('roundtrip')).value).toBe('two');
    expect((await kv.getSecret('roundtrip', { version: first.properties.version })).value).toBe('one');

    const updated = await kv.updateSecretProperties('roundtrip', second.properties.version ?? '', {
      enabled: false,
    });
    expect(updated.enabled).toBe(false);
    await expect(kv.getSecret('roundtrip')).rejects.toMatchObject({ statusCode: 403, code: 'Forbidden' });

    for (let i = 0; i < 3; i += 1) vault.setSecret('roundtrip', `extra-${i}`);
    const versions = [];
    for await (const p of kv.listPropertiesOfSecretVersions('roundtrip')) versions.push(p);
    expect(versions).toHaveLength(5);
    expect(versions.find((p) => p.version === second.properties.version)).toMatchObject({
      enabled: false,
      name: 'roundtrip',
    });
    expect(versions.every((p) => p.createdOn instanceof Date)).toBe(true);
    expect(vault.counts().list.roundtrip).toBe(3);

    await expect(kv.getSecret('absent')).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });

  it('is refused by the SDK when challenge resource verification stays on (why the provider turns it off on loopback)', async () => {
    vault.setSecret('s1', 'v');
    const strict = new SecretClient(vault.vaultUrl, new ManagedIdentityCredential(), {
      tlsOptions: { ca: sandbox.caCertPem },
      retryOptions: { maxRetries: 0 },
    });
    await expect(strict.getSecret('s1')).rejects.toThrow(/does not match the requested domain/);
  });
});
