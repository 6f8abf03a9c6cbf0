import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Azurite } from './azurite.js';
import { startAzurite } from './azurite.js';
import type { DevSession } from './examples.js';
import { readSession, SESSION_FILE, writeSession } from './examples.js';
import type { Sandbox, SandboxOptions } from './sandbox/index.js';
import { startSandbox } from './sandbox/index.js';
import { DISCOVERY_DEMO_SUBSCRIPTION } from './sandbox/seed.js';
import { DISCOVERY_RUN_ROLE } from '../src/auth/authenticate.js';

/**
 * Everything a local run needs besides the host itself: the sandbox stand-ins, Azurite's Table service, the
 * host's environment, and a session for `npm run example`. Both `npm start` and `npm run sandbox` use it, and it
 * leaves `.sandbox/env` behind so a second terminal gets the same settings with `set -a; . .sandbox/env`.
 */

export const ENV_FILE = '.sandbox/env';
export const DEV_AUDIENCE = 'api://private-link-approver-dev';
/** The object id the dev bearer token carries; allowed as a caller of the local host. */
export const DEV_CALLER_OID = '0b5e7c1d-0000-4000-8000-00000000d001';
const TOKEN_LIFETIME_SECONDS = 3600;
/** The channel discovery asks in, on the sandbox's Slack stand-in. */
export const SANDBOX_SLACK_CHANNEL = 'C0SANDBOX1';

export interface LocalEnvironment {
  /** The environment of a host process pointed at the stand-ins (what `npm run serve` reads). */
  env: Record<string, string>;
  session: DevSession;
  sandbox: Sandbox;
  azurite: Azurite;
  close(): Promise<void>;
}

export async function startLocalEnvironment(
  options: { port: string; sandbox?: SandboxOptions; tokenLifetimeSeconds?: number } = { port: '7071' },
): Promise<LocalEnvironment> {
  const [sandbox, azurite] = await Promise.all([startSandbox(options.sandbox), startAzurite()]);
  const env: Record<string, string> = {
    ...sandbox.env(),
    AzureWebJobsStorage: azurite.connectionString,
    TABLE_PREFIX: 'approver',
    PORT: options.port,
    POLICY_PATH: process.env.POLICY_PATH ?? 'policy/examples/sandbox.yaml',
    ENTRA_AUDIENCE: DEV_AUDIENCE,
    ENTRA_ALLOWED_CALLERS: DEV_CALLER_OID,
    AUDIT_SPOOL_DIR: resolve('.sandbox/audit-spool'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    // Discovery scans a subscription of its own (dev/sandbox/seed.ts) and asks a sandbox Slack channel.
    DISCOVERY_SCOPES: DISCOVERY_DEMO_SUBSCRIPTION,
    DISCOVERY_SLACK_CHANNEL: SANDBOX_SLACK_CHANNEL,
  };
  const lifetime = options.tokenLifetimeSeconds ?? TOKEN_LIFETIME_SECONDS;
  // The sandbox plays the people discovery asks; their approvals call this host back.
  sandbox.people.setApp(`http://127.0.0.1:${options.port}`);
  const session: DevSession = {
    url: `http://127.0.0.1:${options.port}`,
    sandboxUrl: sandbox.armEndpoint,
    caCertPath: sandbox.caCertPath,
    secrets: sandbox.devSecrets,
    ...(await freshTokens(sandbox, lifetime)),
    nextExample: 0,
  };
  // Local only, owner-readable: random dev secrets so `npm run example` can sign fresh requests; removed on exit.
  mkdirSync('.sandbox', { recursive: true, mode: 0o700 });
  writeSession(session);
  writeFileSync(ENV_FILE, shellLines(env), { mode: 0o600 });
  const renewal = renewTokens(sandbox, lifetime);
  return {
    env,
    session,
    sandbox,
    azurite,
    async close() {
      clearInterval(renewal);
      rmSync(SESSION_FILE, { force: true });
      rmSync(ENV_FILE, { force: true });
      await Promise.allSettled([sandbox.close(), azurite.stop()]);
    },
  };
}

/** `KEY='value'` lines a POSIX shell can source (connection strings hold `;` and `=`). */
export function shellLines(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([key, value]) => `${key}='${value.replace(/'/g, `'\\''`)}'\n`)
    .join('');
}

type SessionTokens = Pick<DevSession, 'bearerToken' | 'discoveryToken' | 'bearerExpiresAt'>;

async function freshTokens(sandbox: Sandbox, seconds: number): Promise<SessionTokens> {
  const caller = { aud: DEV_AUDIENCE, oid: DEV_CALLER_OID, azp: DEV_CALLER_OID, name: 'dev Logic App' };
  const lifetime = { expiresInSeconds: seconds };
  return {
    bearerToken: await sandbox.openId.issueToken(caller, lifetime),
    discoveryToken: await sandbox.openId.issueToken({ ...caller, roles: [DISCOVERY_RUN_ROLE] }, lifetime),
    bearerExpiresAt: Date.now() + seconds * 1000,
  };
}

/**
 * A session may run for days: every half lifetime the tokens `npm run example` and `npm run discover` read are
 * issued again, written into the session as it stands (examples move its counter).
 */
function renewTokens(sandbox: Sandbox, seconds: number): NodeJS.Timeout {
  const renew = async (): Promise<void> => {
    const tokens = await freshTokens(sandbox, seconds);
    writeSession({ ...readSession(), ...tokens });
  };
  const timer = setInterval(
    () => {
      renew().catch((error: unknown) => console.error(`Could not renew the dev tokens: ${String(error)}`));
    },
    (seconds * 1000) / 2,
  );
  timer.unref();
  return timer;
}
