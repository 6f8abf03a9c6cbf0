import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TokenCredential } from '@azure/core-auth';
import { ManagedIdentityCredential } from '@azure/identity';
import { startSandbox } from '../../../dev/sandbox/index.js';
import type { Sandbox } from '../../../dev/sandbox/index.js';
import { startKeyVaultStandIn } from '../../../dev/sandbox/key-vault.js';
import type { KeyVaultStandIn } from '../../../dev/sandbox/key-vault.js';
import { createLogger } from '../../../src/logger.js';
import { SecretNotFoundError, SecretsUnavailableError } from '../../../src/secrets/errors.js';
import { createKeyVaultSecretProvider } from '../../../src/secrets/key-vault-secret-provider.js';
import type { KeyVaultSecretProviderOptions } from '../../../src/secrets/key-vault-secret-provider.js';
import type { SecretProvider } from '../../../src/secrets/secret-provider.js';

/**
 * The Key Vault secret provider through the real SecretClient and the real ManagedIdentityCredential (App
 * Service protocol against the sandbox identity endpoint), over HTTPS to the Key Vault stand-in. One clock drives
 * the provider and the stand-in's `created` stamps, so cache expiry and rotation order are exact.
 */

const NAME = 'webhook-secret';
const TTL = 300;
const MIN_REFRESH = 60;

let sandbox: Sandbox;
let vault: KeyVaultStandIn;
let savedEnv: { IDENTITY_ENDPOINT?: string; IDENTITY_HEADER?: string };
let nowMs = 0;
const advance = (seconds: number): void => {
  nowMs += seconds * 1000;
};

function provider(overrides: Partial<KeyVaultSecretProviderOptions> = {}): SecretProvider {
  return createKeyVaultSecretProvider({
    vaultUrl: vault.vaultUrl,
    credential: new ManagedIdentityCredential(),
    cacheTtlSeconds: TTL,
    minRefreshIntervalSeconds: MIN_REFRESH,
    now: () => nowMs,
    tls: { ca: sandbox.caCertPem },
    ...overrides,
  });
}

const reads = (name = NAME): { get: number; list: number } => ({
  get: vault.counts().get[name] ?? 0,
  list: vault.counts().list[name] ?? 0,
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  sandbox = await startSandbox();
  vault = await startKeyVaultStandIn({
    tls: sandbox.tls,
    verifyToken: sandbox.verifyToken,
    authorizationUri: 'https://login.microsoftonline.com',
    now: () => nowMs,
  });
  // The real credential picks the App Service source from these (msal-node keeps it for the process).
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
  await vault.close();
  await sandbox.close();
});

beforeEach(() => {
  vault.reset();
  sandbox.reset();
  nowMs = Date.UTC(2025, 5, 1, 12, 0, 0);
});

describe('reading and caching', () => {
  it('returns the value of the only version', async () => {
    vault.setSecret(NAME, 'secret-one');
    await expect(provider().getSecretValues(NAME)).resolves.toEqual(['secret-one']);
  });

  it('serves repeated reads within the TTL from the cache', async () => {
    vault.setSecret(NAME, 'secret-one');
    const secrets = provider();
    await secrets.getSecretValues(NAME);
    expect(reads()).toEqual({ get: 1, list: 1 });
    advance(TTL - 1);
    for (let i = 0; i < 5; i += 1)
      await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['secret-one']);
    expect(reads()).toEqual({ get: 1, list: 1 });
  });

  it('reads Key Vault again once the TTL has passed', async () => {
    vault.setSecret(NAME, 'secret-one');
    const secrets = provider();
    await secrets.getSecretValues(NAME);
    advance(TTL);
    await secrets.getSecretValues(NAME);
    expect(reads()).toEqual({ get: 2, list: 2 });
  });

  it('shares one Key Vault round between concurrent callers of the same name', async () => {
    vault.setSecret(NAME, 'a');
    advance(1);
    vault.setSecret(NAME, 'b');
    const secrets = provider();
    const results = await Promise.all(Array.from({ length: 8 }, () => secrets.getSecretValues(NAME)));
    for (const values of results) expect(values).toEqual(['b', 'a']);
    expect(reads()).toEqual({ get: 2, list: 1 });
  });

  it('keeps names apart', async () => {
    vault.setSecret(NAME, 'generic');
    vault.setSecret('slack-signing-secret', 'slack');
    const secrets = provider();
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['generic']);
    await expect(secrets.getSecretValues('slack-signing-secret')).resolves.toEqual(['slack']);
    expect(reads('slack-signing-secret')).toEqual({ get: 1, list: 1 });
  });

  it('follows the paged versions list and keeps only enabled, currently valid versions, newest first', async () => {
    vault.setSecret(NAME, 'oldest');
    advance(10);
    vault.setSecret(NAME, 'disabled', { enabled: false });
    advance(10);
    vault.setSecret(NAME, 'not-yet', { notBefore: new Date(nowMs + 3_600_000) });
    advance(10);
    vault.setSecret(NAME, 'expired', { expiresOn: new Date(nowMs - 1_000) });
    advance(10);
    vault.setSecret(NAME, 'middle', {
      notBefore: new Date(nowMs - 1_000),
      expiresOn: new Date(nowMs + 3_600_000),
    });
    advance(10);
    vault.setSecret(NAME, 'newest');
    await expect(provider().getSecretValues(NAME)).resolves.toEqual(['newest', 'middle', 'oldest']);
    // Six versions at two per page; only the three usable ones are read.
    expect(reads()).toEqual({ get: 3, list: 3 });
  });

  it('stops returning a version at its expiry even while the cache is fresh', async () => {
    vault.setSecret(NAME, 'stays');
    advance(1);
    vault.setSecret(NAME, 'expiring', { expiresOn: new Date(nowMs + 60_000) });
    const secrets = provider();
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['expiring', 'stays']);
    advance(60);
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['stays']);
    expect(reads().list).toBe(1);
  });

  it('reads the vault again when every cached version has expired, though the cache is fresh', async () => {
    vault.setSecret(NAME, 'expiring', { expiresOn: new Date(nowMs + 60_000) });
    const secrets = provider();
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['expiring']);
    // Its replacement went in after the load, then the old one expired: the new one is used at once.
    advance(30);
    vault.setSecret(NAME, 'replacement');
    advance(31);
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['replacement']);
    expect(reads().list).toBe(2);
  });

  it('reads the five newest usable versions at most', async () => {
    for (const n of [1, 2, 3, 4, 5, 6, 7]) {
      vault.setSecret(NAME, `v${n}`);
      advance(1);
    }
    await expect(provider().getSecretValues(NAME)).resolves.toEqual(['v7', 'v6', 'v5', 'v4', 'v3']);
    expect(reads().get).toBe(5);
  });

  it('never treats an empty value as a key', async () => {
    vault.setSecret(NAME, 'real');
    advance(1);
    vault.setSecret(NAME, '');
    await expect(provider().getSecretValues(NAME)).resolves.toEqual(['real']);
  });
});

describe('rotation', () => {
  it('returns old and new during the overlap, and only the new once the old is disabled and the cache refreshed', async () => {
    const old = vault.setSecret(NAME, 'old-secret');
    const secrets = provider();
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['old-secret']);

    advance(30);
    vault.setSecret(NAME, 'new-secret');
    // Still cached: a sender already on the new secret misses, and the miss refresh picks it up.
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['old-secret']);
    await expect(secrets.refreshAfterMiss(NAME)).resolves.toEqual(['new-secret', 'old-secret']);
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['new-secret', 'old-secret']);

    advance(30);
    vault.updateVersion(NAME, old, { enabled: false });
    // Disabling takes effect at the next load, at most one TTL later.
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['new-secret', 'old-secret']);
    advance(TTL);
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['new-secret']);
  });

  it('picks up a new version at TTL expiry without any miss', async () => {
    vault.setSecret(NAME, 'old-secret');
    const secrets = provider();
    await secrets.getSecretValues(NAME);
    advance(5);
    vault.setSecret(NAME, 'new-secret');
    advance(TTL);
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['new-secret', 'old-secret']);
  });
});

describe('refreshAfterMiss', () => {
  it('refreshes at most once per interval per name', async () => {
    vault.setSecret(NAME, 'one');
    const secrets = provider();
    await secrets.getSecretValues(NAME);
    expect(reads().list).toBe(1);

    await expect(secrets.refreshAfterMiss(NAME)).resolves.toEqual(['one']);
    advance(MIN_REFRESH - 1);
    await expect(secrets.refreshAfterMiss(NAME)).resolves.toBeUndefined();
    expect(reads().list).toBe(2);

    advance(1);
    await expect(secrets.refreshAfterMiss(NAME)).resolves.toEqual(['one']);
    expect(reads().list).toBe(3);
  });

  it('lets concurrent misses share one refresh', async () => {
    vault.setSecret(NAME, 'one');
    const secrets = provider();
    await secrets.getSecretValues(NAME);
    const results = await Promise.all([
      secrets.refreshAfterMiss(NAME),
      secrets.refreshAfterMiss(NAME),
      secrets.refreshAfterMiss(NAME),
    ]);
    expect(results).toEqual([['one'], ['one'], ['one']]);
    expect(reads().list).toBe(2);
  });

  it('rate-limits each name on its own', async () => {
    vault.setSecret(NAME, 'one');
    vault.setSecret('teams-outgoing-webhook-token', 'two');
    const secrets = provider();
    await expect(secrets.refreshAfterMiss(NAME)).resolves.toEqual(['one']);
    await expect(secrets.refreshAfterMiss('teams-outgoing-webhook-token')).resolves.toEqual(['two']);
    await expect(secrets.refreshAfterMiss(NAME)).resolves.toBeUndefined();
  });
});

describe('failures', () => {
  it('fails fast with SecretsUnavailableError when nothing listens at the vault URL', async () => {
    const port = await closedPort();
    const secrets = provider({ vaultUrl: `https://127.0.0.1:${port}` });
    const error = await secrets.getSecretValues(NAME).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsUnavailableError);
    expect(error).toMatchObject({ secretName: NAME, retryAfterSeconds: 5, status: undefined });
  });

  it('maps a 503 to SecretsUnavailableError after one retry, then backs off without calling Key Vault', async () => {
    vault.setSecret(NAME, 'one');
    vault.faults.unavailable = true;
    const secrets = provider();
    await expect(secrets.getSecretValues(NAME)).rejects.toMatchObject({
      name: 'SecretsUnavailableError',
      status: 503,
      code: 'ServiceUnavailable',
    });
    expect(vault.counts().total).toBe(2);

    advance(2);
    const held = await secrets.getSecretValues(NAME).catch((e: unknown) => e);
    expect(held).toBeInstanceOf(SecretsUnavailableError);
    expect(held).toMatchObject({ retryAfterSeconds: 3 });
    await expect(secrets.refreshAfterMiss(NAME)).resolves.toBeUndefined();
    expect(vault.counts().total).toBe(2);

    vault.faults.unavailable = false;
    advance(3);
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['one']);
  });

  it("takes a throttled vault's Retry-After at once, without waiting it out, and holds the failure that long", async () => {
    vault.setSecret(NAME, 'one');
    vault.faults.unavailable = true;
    vault.faults.unavailableMode = 'throttle';
    const secrets = provider();
    const error = await secrets.getSecretValues(NAME).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsUnavailableError);
    expect(error).toMatchObject({ retryAfterSeconds: 30, status: 429 });
    // One request: the 429 was not retried (the SDK would have waited its 30 s, past the deadline).
    expect(vault.counts().total).toBe(1);
    advance(29);
    await expect(secrets.getSecretValues(NAME)).rejects.toMatchObject({ retryAfterSeconds: 1 });
    expect(vault.counts().total).toBe(1);
  });

  it('maps dropped connections to SecretsUnavailableError', async () => {
    vault.setSecret(NAME, 'one');
    vault.faults.unavailable = true;
    vault.faults.unavailableMode = 'drop';
    await expect(provider().getSecretValues(NAME)).rejects.toBeInstanceOf(SecretsUnavailableError);
  });

  it('gives up on a vault that never answers within its time budget', async () => {
    vault.setSecret(NAME, 'one');
    vault.faults.unavailable = true;
    vault.faults.unavailableMode = 'hang';
    const error = await provider({ timeoutMs: 300 })
      .getSecretValues(NAME)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsUnavailableError);
  });

  it('does not serve cached values once the TTL passed and Key Vault is down', async () => {
    vault.setSecret(NAME, 'one');
    const secrets = provider();
    await secrets.getSecretValues(NAME);
    vault.faults.unavailable = true;
    advance(TTL);
    await expect(secrets.getSecretValues(NAME)).rejects.toBeInstanceOf(SecretsUnavailableError);
  });

  it('maps 403 (no role assignment) to SecretsUnavailableError with the status', async () => {
    vault.setSecret(NAME, 'one');
    vault.faults.forbidden = true;
    await expect(provider().getSecretValues(NAME)).rejects.toMatchObject({
      name: 'SecretsUnavailableError',
      status: 403,
      code: 'Forbidden',
    });
  });

  it('throws SecretNotFoundError for a secret that does not exist', async () => {
    const error = await provider()
      .getSecretValues('no-such-secret')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretNotFoundError);
    expect(error).toMatchObject({ secretName: 'no-such-secret', reason: 'missing' });
  });

  it('throws SecretNotFoundError when no version is usable, and drops what was cached', async () => {
    const only = vault.setSecret(NAME, 'one');
    const secrets = provider();
    await secrets.getSecretValues(NAME);
    vault.updateVersion(NAME, only, { enabled: false });
    advance(MIN_REFRESH);
    await expect(secrets.refreshAfterMiss(NAME)).rejects.toMatchObject({
      name: 'SecretNotFoundError',
      reason: 'no-valid-version',
    });
    // The refresh said nothing is valid any more, so the still-fresh cache entry is gone too.
    await expect(secrets.getSecretValues(NAME)).rejects.toBeInstanceOf(SecretNotFoundError);
  });

  it('logs loads and failures without any secret value', async () => {
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      sink: (_level, line) => lines.push(line),
      now: () => nowMs,
    });
    vault.setSecret(NAME, 'super-secret-value-1');
    advance(1);
    vault.setSecret(NAME, 'super-secret-value-2');
    const secrets = provider({ logger });
    await secrets.getSecretValues(NAME);
    vault.faults.unavailable = true;
    advance(TTL);
    const error = await secrets.getSecretValues(NAME).catch((e: unknown) => e);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const everything = [...lines, String(error), JSON.stringify(error)].join('\n');
    expect(everything).not.toContain('super-secret-value');
    expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual([
      'secrets.loaded',
      'secrets.load_failed',
    ]);
  });
});

describe('credential', () => {
  it('asks the credential for one token for many Key Vault reads', async () => {
    vault.setSecret(NAME, 'one');
    vault.setSecret('slack-signing-secret', 'two');
    // Count what the SDK asks of the real credential: msal-node also caches tokens process-wide, so the
    // identity endpoint alone could not show that the SDK reuses its token.
    const real = new ManagedIdentityCredential();
    let tokenRequests = 0;
    const credential: TokenCredential = {
      getToken: (scopes, options) => {
        tokenRequests += 1;
        return real.getToken(scopes, options);
      },
    };
    const secrets = provider({ credential });
    for (let i = 0; i < 4; i += 1) {
      await secrets.getSecretValues(NAME);
      await secrets.getSecretValues('slack-signing-secret');
      await secrets.refreshAfterMiss(NAME);
      advance(TTL);
    }
    expect(reads()).toEqual({ get: 8, list: 8 });
    expect(tokenRequests).toBe(1);
    expect(sandbox.counts().token).toBeLessThanOrEqual(1);
  });

  it('works with the vault addressed as localhost too', async () => {
    vault.setSecret(NAME, 'one');
    const secrets = provider({ vaultUrl: `https://localhost:${vault.port}` });
    await expect(secrets.getSecretValues(NAME)).resolves.toEqual(['one']);
  });
});
