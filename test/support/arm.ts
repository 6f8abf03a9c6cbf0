import { ManagedIdentityCredential } from '@azure/identity';
import type { ArmCallContext, ArmClient } from '../../src/arm/arm-client.js';
import { createArmClient } from '../../src/arm/arm-client.js';
import { createLogger, silentSink } from '../../src/logger.js';
import type { KeyVaultSecretProviderOptions } from '../../src/secrets/key-vault-secret-provider.js';
import { createKeyVaultSecretProvider } from '../../src/secrets/key-vault-secret-provider.js';
import type { SecretProvider } from '../../src/secrets/secret-provider.js';
import type { Sandbox } from '../../dev/sandbox/index.js';

export const SUB = '00000000-0000-0000-0000-000000000000';
export const CLUSTER1 = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1`;
export const EXAMPLE_ID = `${CLUSTER1}/privateEndpointConnections/privateendpointconnection1`;
export const PENDING_2 = `${CLUSTER1}/privateEndpointConnections/pe-pending-2`;
export const APPROVED_ID = `${CLUSTER1}/privateEndpointConnections/pe-approved.6b1a3f1e-2c1d-4c55-9a51-3b2f0e0a0001`;
export const REJECTED_ID = `${CLUSTER1}/privateEndpointConnections/pe-rejected.6b1a3f1e-2c1d-4c55-9a51-3b2f0e0a0002`;
export const DISCONNECTED_ID = `${CLUSTER1}/privateEndpointConnections/pe-disconnected.6b1a3f1e-2c1d-4c55-9a51-3b2f0e0a0003`;

/**
 * Points @azure/identity at the sandbox's managed identity endpoint the way App Service does: through the
 * environment, which the credential reads itself. Test files run in their own processes.
 */
export function useSandboxIdentity(sandbox: Sandbox): ManagedIdentityCredential {
  process.env.IDENTITY_ENDPOINT = sandbox.identityEndpoint;
  process.env.IDENTITY_HEADER = sandbox.identityHeader;
  return new ManagedIdentityCredential();
}

export function sandboxArmClient(sandbox: Sandbox, overrides: { maxRetries?: number } = {}): ArmClient {
  return createArmClient({
    endpoint: sandbox.armEndpoint,
    scope: 'https://management.azure.com/.default',
    credential: useSandboxIdentity(sandbox),
    retry: { maxRetries: overrides.maxRetries ?? 4, baseDelayMs: 20, maxDelayMs: 200 },
    tls: { ca: sandbox.caCertPem },
    now: Date.now,
  });
}

export function callContext(deadlineMs = 10_000, requestId = 'req-1'): ArmCallContext {
  return {
    requestId,
    correlationId: `corr-${requestId}`,
    deadline: Date.now() + deadlineMs,
    logger: createLogger({ level: 'error', sink: silentSink, now: Date.now }),
  };
}

/** The sandbox's Key Vault through the product's secret provider, read with the sandbox's managed identity. */
export function sandboxSecrets(
  sandbox: Sandbox,
  overrides: Partial<KeyVaultSecretProviderOptions> = {},
): SecretProvider {
  return createKeyVaultSecretProvider({
    vaultUrl: sandbox.keyVault.vaultUrl,
    credential: useSandboxIdentity(sandbox),
    cacheTtlSeconds: 300,
    now: Date.now,
    tls: { ca: sandbox.caCertPem },
    ...overrides,
  });
}
