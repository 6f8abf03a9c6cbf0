import { AzureCliCredential, ManagedIdentityCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import type { IdentityConfig } from './config.js';

/**
 * The app's one credential, shared by ARM, Key Vault and Table Storage clients. In Azure it is the managed
 * identity (`IDENTITY_ENDPOINT`/`IDENTITY_HEADER` are read by @azure/identity itself); a developer running
 * against real Azure sets `AZURE_CREDENTIAL=azure-cli` and uses their `az login`.
 *
 * Imported statically, on purpose. ManagedIdentityCredential runs on MSAL (@azure/msal-node, which brings
 * jsonwebtoken and semver): unbundled, importing it took ~170 ms (first token ~25 ms more), most of the
 * entry's import. In the esbuild bundle (build/bundle.mjs) tree-shaking keeps only what these two classes
 * use: importing that alone took ~14 ms and its first token ~28 ms; inside the whole bundle it adds ~20 ms of
 * CPU to the import. Deferring it with `import()` of a module re-exporting the two classes was measured too:
 * the bundle grew 120 KiB (lazily initialised modules keep more), the entry's import was 0–10 ms faster and
 * the first approval's first request ~15 ms slower (spawn -> first approval 254–283 ms either way), so no
 * clear gain for more code. (2-core dev machine, sandbox identity endpoint, medians of 3–11 fresh processes.)
 */
export function createCredential(config: IdentityConfig): TokenCredential {
  if (config.credential === 'azure-cli') return new AzureCliCredential();
  return config.managedIdentityClientId
    ? new ManagedIdentityCredential({ clientId: config.managedIdentityClientId })
    : new ManagedIdentityCredential();
}
