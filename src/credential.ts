import { AzureCliCredential, ManagedIdentityCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import type { IdentityConfig } from './config.js';

/**
 * The app's one credential, shared by ARM, Key Vault and Table Storage clients. In Azure it is the managed
 * identity (`IDENTITY_ENDPOINT`/`IDENTITY_HEADER` are read by @azure/identity itself); a developer running
 * against real Azure sets `AZURE_CREDENTIAL=azure-cli` and uses their `az login`.
 */
export function createCredential(config: IdentityConfig): TokenCredential {
  if (config.credential === 'azure-cli') return new AzureCliCredential();
  return config.managedIdentityClientId
    ? new ManagedIdentityCredential({ clientId: config.managedIdentityClientId })
    : new ManagedIdentityCredential();
}
