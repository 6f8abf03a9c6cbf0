import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { AppOverrides } from '../../src/composition-root.js';
import { createAppState } from '../../src/composition-root.js';
import type { AppState } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { createRoutes } from '../../src/functions/routes.js';
import { silentSink } from '../../src/logger.js';
import { standardWebhookHeaders } from '../../src/auth/standard-webhooks.js';
import type { LocalHost } from '../../dev/host.js';
import { startLocalHost } from '../../dev/host.js';
import type { Sandbox } from '../../dev/sandbox/index.js';

export const AUDIENCE = 'api://private-link-approver-tests';
export const LOGIC_APP_OID = '6f1c2d3e-0000-4000-8000-00000000a001';

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export interface TestHost {
  host: LocalHost;
  state: AppState;
  /** Table prefix of this host's stores (unique per host, so files do not share tables). */
  tablePrefix: string;
  post(path: string, body: string | Uint8Array, headers?: Record<string, string>): Promise<TestResponse>;
  /** POST signed with the sandbox's generic (or ServiceNow) Standard Webhooks secret. */
  signedPost(path: string, body: unknown, options?: SignOptions): Promise<TestResponse>;
  get(path: string, headers?: Record<string, string>): Promise<TestResponse>;
}

export interface SignOptions {
  secret?: string;
  webhookId?: string;
  timestamp?: number;
  headers?: Record<string, string>;
}

/** Environment for a host pointed at the sandbox, Azurite, the Key Vault and OpenID stand-ins. */
export function hostEnv(
  sandbox: Sandbox,
  tablePrefix: string,
  env: Record<string, string> = {},
): Record<string, string> {
  return {
    ...sandbox.env(),
    AzureWebJobsStorage: inject('azuriteTableConnectionString'),
    TABLE_PREFIX: tablePrefix,
    ARM_RETRY_BASE_DELAY_MS: '20',
    ARM_RETRY_MAX_DELAY_MS: '200',
    ENTRA_AUDIENCE: AUDIENCE,
    ENTRA_ALLOWED_CALLERS: LOGIC_APP_OID,
    POLICY_PATH: 'policy/examples/sandbox.yaml',
    ...env,
  };
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<TestResponse> {
  const response = await fetch(`${base}${path}`, { method, body, headers });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON; tests look at text
  }
  return { status: response.status, headers: response.headers, text, json };
}

/**
 * The local host in this process, configured from an environment the way `npm run serve` is, pointed at the
 * sandbox. The sandbox's CA is handed over explicitly (NODE_EXTRA_CA_CERTS only works at process start).
 */
export async function startTestHost(
  sandbox: Sandbox,
  env: Record<string, string> = {},
  overrides: AppOverrides = {},
): Promise<TestHost> {
  const tablePrefix = `t${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const all = hostEnv(sandbox, tablePrefix, env);
  process.env.IDENTITY_ENDPOINT = all.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = all.IDENTITY_HEADER;
  const state = createAppState(() => loadConfig(all), {
    armTls: { ca: sandbox.caCertPem },
    keyVaultTls: { ca: sandbox.caCertPem },
    logSink: silentSink,
    ...overrides,
  });
  const host = await startLocalHost(createRoutes(state), { port: 0 });
  return {
    host,
    state,
    tablePrefix,
    post: (path, body, headers = { 'content-type': 'application/json' }) =>
      call(host.url, 'POST', path, body, headers),
    signedPost: (path, body, options = {}) => {
      const text = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
      const signed = standardWebhookHeaders({
        secret: options.secret ?? sandbox.devSecrets.generic,
        webhookId: options.webhookId ?? `msg_${randomUUID()}`,
        timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
        body: text,
      });
      return call(host.url, 'POST', path, text, {
        'content-type': 'application/json',
        ...signed,
        ...options.headers,
      });
    },
    get: (path, headers) => call(host.url, 'GET', path, undefined, headers),
  };
}
