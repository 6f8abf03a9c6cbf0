import { describe, expect, it } from 'vitest';
import type { TokenCredential } from '@azure/core-auth';
import { isLoopbackHost } from '../../../src/loopback.js';
import { createKeyVaultSecretClient, KeyVaultUrlError } from '../../../src/secrets/key-vault-client.js';

const credential: TokenCredential = { getToken: () => Promise.resolve(null) };

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', 'localhost', 'LOCALHOST', '[::1]', '::1'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });

  it.each([
    'myvault.vault.azure.net',
    '127.0.0.1.vault.azure.net',
    'localhost.evil.example',
    '10.0.0.1',
    '0.0.0.0',
  ])('%s is not loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });

  it('is what URL parsing yields for loopback vault URLs', () => {
    expect(isLoopbackHost(new URL('https://[::1]:8443').hostname)).toBe(true);
    expect(isLoopbackHost(new URL('https://127.0.0.1:8443/').hostname)).toBe(true);
  });
});

describe('createKeyVaultSecretClient', () => {
  it('refuses a URL that is not https', () => {
    expect(() =>
      createKeyVaultSecretClient({ vaultUrl: 'http://127.0.0.1:1', credential, timeoutMs: 100 }),
    ).toThrow(KeyVaultUrlError);
    expect(() => createKeyVaultSecretClient({ vaultUrl: 'not a url', credential, timeoutMs: 100 })).toThrow(
      KeyVaultUrlError,
    );
  });

  it('uses the origin of the vault URL', () => {
    const client = createKeyVaultSecretClient({
      vaultUrl: 'https://myvault.vault.azure.net/',
      credential,
      timeoutMs: 100,
    });
    expect(client.vaultUrl).toBe('https://myvault.vault.azure.net');
  });
});
