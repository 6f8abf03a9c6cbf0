import { randomBytes } from 'node:crypto';
import type { ArmCounts, RecordedRequest, SandboxCounts } from './arm-server.js';
import { ARM_API_VERSION, ARM_AUDIENCES, startArmServer } from './arm-server.js';
import type { StoredConnection } from './arm-store.js';
import { connectionKey, createArmStore, parseConnectionId } from './arm-store.js';
import type { FaultController, FaultRule } from './faults.js';
import { createFaultController } from './faults.js';
import { startIdentityServer } from './identity-server.js';
import type { SeedDocument } from './seed.js';
import { defaultSeed, loadSeedFile } from './seed.js';
import { createSandboxTls } from './tls.js';
import type { TokenClaims, VerifyResult } from './tokens.js';
import { createTokenService } from './tokens.js';
import type { KeyVaultStandIn } from './key-vault.js';
import { startKeyVaultStandIn } from './key-vault.js';
import type { OpenIdStandIn } from './openid.js';
import { startOpenIdStandIn } from './openid.js';
import type { DevSecrets } from './dev-secrets.js';
import { createDevSecrets, seedDevSecrets } from './dev-secrets.js';
import type { PlatformStandIns } from './platforms.js';
import type { PeopleCallbacks } from './callbacks.js';
import { createPeopleCallbacks } from './callbacks.js';
import { createPlatformStandIns } from './platforms.js';
import { createOperationBook } from './operations.js';
import { createResourceGraph } from './resource-graph.js';
import type { ResourceGraphStandIn } from './resource-graph.js';
import type { OperationControl } from './operations.js';

/**
 * The local sandbox: a managed identity endpoint (App Service protocol) and an HTTPS Resource Manager stand-in
 * that only accepts that endpoint's tokens. Each call to `startSandbox` makes an independent instance with its
 * own certificate, signing key, identity secret, data, counters and faults.
 */

export type {
  ArmCounts,
  RecordedRequest,
  SandboxCounts,
  StoredConnection,
  FaultController,
  FaultRule,
  TokenClaims,
  VerifyResult,
};
export { ARM_API_VERSION, ARM_AUDIENCES, connectionKey, parseConnectionId };

/** Client id of the sandbox's managed identity unless another is configured; not a real identity. */
export const DEFAULT_MANAGED_IDENTITY_CLIENT_ID = '5a4db0c5-1d00-4000-8000-00000000c11d';

export interface SandboxOptions {
  /** Seed file; the shipped dev/sandbox/seed.json when omitted. Re-read on every reset. */
  seedPath?: string;
  /** 0 or omitted: a free port. */
  armPort?: number;
  identityPort?: number;
  /** Lifetime of issued tokens; default 3600. */
  tokenLifetimeSeconds?: number;
  managedIdentityClientId?: string;
  keyVaultPort?: number;
  openIdPort?: number;
  /** Clock for token times and request timestamps (ms since the epoch); default Date.now. */
  now?: () => number;
}

export interface Sandbox {
  /** https://127.0.0.1:<port> */
  armEndpoint: string;
  /** http://127.0.0.1:<port>/msi/token */
  identityEndpoint: string;
  identityHeader: string;
  managedIdentityClientId: string;
  caCertPem: string;
  caCertPath: string;
  /** The server key and certificate, so later stand-ins can serve HTTPS that the same CA vouches for. */
  tls: { key: string; cert: string };
  verifyToken(token: string, audiences: readonly string[]): VerifyResult;
  /** Mints a token as the identity endpoint would (for tests that need one without a credential). */
  issueToken(resource: string): string;
  /** Key Vault stand-in holding the dev webhook secrets (`devSecrets`), re-seeded on reset. */
  keyVault: KeyVaultStandIn;
  /** Entra OpenID metadata + JWKS stand-in: mints bearer tokens the webhook's Entra check accepts. */
  openId: OpenIdStandIn;
  /** ServiceNow Table API, Slack response_url and Teams workflow stand-ins, recording what they receive. */
  platforms: PlatformStandIns;
  /** Long-running PUTs: how many polls before they end, Retry-After, and a failure for the next one. */
  operations: OperationControl;
  /** Resource Graph: its quota window, and how many queries it answered. */
  resourceGraph: Pick<ResourceGraphStandIn, 'settings' | 'queries' | 'freeze' | 'thaw' | 'advance'>;
  /** People acting on what discovery asked: approve a ServiceNow record, click a Slack button (`setApp` first). */
  people: PeopleCallbacks;
  /** A response_url the app may post to (on the sandbox, an allowed host). */
  slackResponseUrl(id?: string): string;
  /** The webhook secrets stored in the Key Vault stand-in under the default names (random per start). */
  devSecrets: DevSecrets;
  faults: FaultController;
  counts(): SandboxCounts;
  requests(): RecordedRequest[];
  /** Stored state of a connection, by id in any casing; undefined when absent. */
  connection(id: string): StoredConnection | undefined;
  connections(): StoredConnection[];
  /** A connection's private endpoint deleted and made again under the same connection name, from `privateEndpointId`. */
  recreateEndpoint(connectionId: string, privateEndpointId: string): void;
  /** Clears counters, recorded requests and faults, and reloads the seed. */
  reset(): void;
  /**
   * ARM_ENDPOINT, IDENTITY_ENDPOINT, IDENTITY_HEADER, NODE_EXTRA_CA_CERTS, KEY_VAULT_URL, ENTRA_AUTHORITY_HOST
   * and ENTRA_TENANT_ID for a host process.
   */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const now = options.now ?? Date.now;
  const clientId = options.managedIdentityClientId ?? DEFAULT_MANAGED_IDENTITY_CLIENT_ID;
  const readSeed = (): SeedDocument =>
    options.seedPath === undefined ? defaultSeed() : loadSeedFile(options.seedPath);

  const store = createArmStore(readSeed());
  const tokens = createTokenService({ now, lifetimeSeconds: options.tokenLifetimeSeconds ?? 3600 });
  const identityHeader = randomBytes(24).toString('base64url');
  const faults = createFaultController();
  const tls = await createSandboxTls({ now });
  const platforms = createPlatformStandIns(now);
  // An operation under way shows the provider's first settling state (or Updating) on its connection.
  const operations = createOperationBook(store, (address) => address.provider.settling[0] ?? 'Updating');
  const resourceGraph = createResourceGraph(store);

  const started: Array<{ close(): Promise<void> }> = [];
  try {
    const identity = await startIdentityServer({
      tokens,
      identityHeader,
      clientId,
      port: options.identityPort,
    });
    started.push(identity);

    const counts = (): SandboxCounts => {
      const arm = armServer.counts();
      return {
        token: identity.tokenRequests(),
        arm: { total: arm.total, GET: arm.GET, PUT: arm.PUT, LIST: arm.LIST, POLL: arm.POLL },
        byConnection: arm.byConnection,
        keyVault: keyVault.counts(),
      };
    };
    const reset = (): void => {
      // Read the seed first: a broken seed file must leave the running state untouched.
      const seed = readSeed();
      store.load(seed);
      faults.clear();
      operations.reset();
      resourceGraph.reset();
      keyVault.reset();
      seedDevSecrets(keyVault, devSecrets);
      seedPlatformSecrets();
      platforms.reset();
      armServer.resetRecords();
      identity.resetCounts();
    };

    // Both read the servers and secrets started below, when they are called.
    const slackResponseUrl = (id = randomBytes(6).toString('hex')): string =>
      `${armServer.endpoint}/_slack/response/${id}`;
    const people = createPeopleCallbacks({
      platforms,
      secrets: () => devSecrets,
      responseUrl: () => slackResponseUrl(),
    });
    const armServer = await startArmServer({
      tls,
      store,
      faults,
      verifyToken: (token, audiences) => tokens.verify(token, audiences),
      now,
      admin: { counts, reset },
      port: options.armPort,
      platforms,
      people,
      operations,
      resourceGraph,
    });
    started.push(armServer);

    const keyVault = await startKeyVaultStandIn({
      tls,
      verifyToken: (token, audiences) => tokens.verify(token, audiences),
      authorizationUri: 'https://login.microsoftonline.com',
      tenantId: tokens.tenantId,
      now,
      port: options.keyVaultPort,
    });
    started.push(keyVault);
    const devSecrets = createDevSecrets();
    seedDevSecrets(keyVault, devSecrets);
    // What the app reads to report late outcomes: ServiceNow API credentials and a Teams workflow URL.
    const seedPlatformSecrets = (): void => {
      keyVault.setSecret('servicenow-api-credentials', JSON.stringify(platforms.servicenowCredentials));
      keyVault.setSecret('teams-workflow-url', `${armServer.endpoint}/_teams/workflow`);
      keyVault.setSecret('slack-bot-token', platforms.slackBotToken);
    };
    seedPlatformSecrets();

    const openId = await startOpenIdStandIn({ port: options.openIdPort, now });
    started.push(openId);

    return {
      armEndpoint: armServer.endpoint,
      identityEndpoint: identity.endpoint,
      identityHeader,
      managedIdentityClientId: clientId,
      caCertPem: tls.caCertPem,
      caCertPath: tls.caCertPath,
      tls: { key: tls.key, cert: tls.cert },
      verifyToken: (token, audiences) => tokens.verify(token, audiences),
      issueToken: (resource) => tokens.issue({ resource, clientId }).token,
      keyVault,
      openId,
      platforms,
      operations,
      resourceGraph,
      people,
      slackResponseUrl,
      devSecrets,
      faults,
      counts,
      requests: () => armServer.requests(),
      connection(id) {
        const address = parseConnectionId(id);
        if (address === undefined) return undefined;
        const found = store.get(address);
        return found.found ? found.value : undefined;
      },
      connections: () => store.all(),
      recreateEndpoint(connectionId, privateEndpointId) {
        const address = parseConnectionId(connectionId);
        if (address === undefined || !store.recreate(address, privateEndpointId).found)
          throw new Error(`no connection ${connectionId}`);
      },
      reset,
      env: () => ({
        ARM_ENDPOINT: armServer.endpoint,
        IDENTITY_ENDPOINT: identity.endpoint,
        IDENTITY_HEADER: identityHeader,
        NODE_EXTRA_CA_CERTS: tls.caCertPath,
        KEY_VAULT_URL: keyVault.vaultUrl,
        ENTRA_AUTHORITY_HOST: openId.authorityHost,
        ENTRA_TENANT_ID: openId.tenantId,
        SERVICENOW_INSTANCE_URL: `${armServer.endpoint}/_servicenow`,
        SLACK_RESPONSE_URL_HOSTS: `hooks.slack.com,127.0.0.1:${armServer.port}`,
        SLACK_API_URL: `${armServer.endpoint}/_slack/api`,
      }),
      async close() {
        await Promise.allSettled(started.map((s) => s.close()));
        await tls.dispose();
      },
    };
  } catch (error) {
    await Promise.allSettled(started.map((s) => s.close()));
    await tls.dispose();
    throw error;
  }
}
