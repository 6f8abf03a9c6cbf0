import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { AppOverrides } from '../../src/composition-root.js';
import { createAppState } from '../../src/composition-root.js';
import type { AppState } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { createQueues, createRoutes } from '../../src/functions/routes.js';
import { silentSink } from '../../src/logger.js';
import { standardWebhookHeaders } from '../../src/auth/standard-webhooks.js';
import type { LocalHost } from '../../dev/host.js';
import { startLocalHost, startQueueWorkers } from '../../dev/host.js';
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
  /** Starts the queue workers of a host started with QUEUE_WORKERS=off. */
  startWorkers(): void;
  post(path: string, body: string | Uint8Array, headers?: Record<string, string>): Promise<TestResponse>;
  /** POST signed with the sandbox's generic (or ServiceNow) Standard Webhooks secret. */
  signedPost(path: string, body: unknown, options?: SignOptions): Promise<TestResponse>;
  get(path: string, headers?: Record<string, string>): Promise<TestResponse>;
  /** GET signed like `signedPost` (an empty body), as a poller of a `Location` signs it. */
  signedGet(path: string, options?: SignOptions): Promise<TestResponse>;
  /** Polls a 202's `Location` (signed) every `everyMs` until it stops answering 202, or fails after `timeoutMs`. */
  followOutcome(location: string, options?: FollowOptions): Promise<TestResponse>;
}

export interface FollowOptions extends SignOptions {
  everyMs?: number;
  timeoutMs?: number;
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
    ASYNC_RETRY_BASE_MS: '1000',
    ASYNC_RETRY_MAX_MS: '2000',
    QUEUE_POLL_MS: '100',
    QUEUE_VISIBILITY_SECONDS: '3',
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
    outboundTls: { ca: sandbox.caCertPem },
    logSink: silentSink,
    ...overrides,
  });
  // The app creates its tables and queue just after start-up, without waiting; a test starts from storage that is
  // ready, as a deployment that has run before does, so that what it counts or sends meets no creation.
  if (state.ok) await state.deps.stores.ensureTables();
  const listening = await startLocalHost(createRoutes(state), { port: 0 });
  const polling = {
    pollMs: Number(all.QUEUE_POLL_MS),
    visibilitySeconds: Number(all.QUEUE_VISIBILITY_SECONDS),
    maxDequeueCount: Number(all.QUEUE_MAX_DEQUEUE_COUNT ?? 5),
  };
  const queue = state.ok ? state.deps.stores.queue : undefined;
  // QUEUE_WORKERS=off: a test starts them itself (startWorkers), e.g. after making a message go missing.
  let stopWorkers =
    all.QUEUE_WORKERS === 'off' ? () => undefined : startQueueWorkers(createQueues(state), queue, polling);
  const host: LocalHost = {
    ...listening,
    close: async () => {
      stopWorkers();
      if (state.ok) state.deps.background.stop();
      await listening.close();
    },
  };
  return {
    host,
    state,
    tablePrefix,
    startWorkers: () => {
      stopWorkers = startQueueWorkers(createQueues(state), queue, polling);
    },
    post: (path, body, headers = { 'content-type': 'application/json' }) =>
      call(host.url, 'POST', path, body, headers),
    signedPost: (path, body, options = {}) => {
      const text = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
      return call(host.url, 'POST', path, text, {
        'content-type': 'application/json',
        ...signedHeaders(sandbox, text, options),
        ...options.headers,
      });
    },
    get: (path, headers) => call(host.url, 'GET', path, undefined, headers),
    signedGet: (path, options = {}) =>
      call(host.url, 'GET', path, undefined, { ...signedHeaders(sandbox, '', options), ...options.headers }),
    followOutcome: (location, options = {}) => followOutcome(host.url, sandbox, location, options),
  };
}

function signedHeaders(
  sandbox: Sandbox,
  body: string | Uint8Array,
  options: SignOptions,
): Record<string, string> {
  return standardWebhookHeaders({
    secret: options.secret ?? sandbox.devSecrets.generic,
    webhookId: options.webhookId ?? `msg_${randomUUID()}`,
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
    body,
  });
}

async function followOutcome(
  base: string,
  sandbox: Sandbox,
  location: string,
  options: FollowOptions,
): Promise<TestResponse> {
  const url = new URL(location);
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const headers = { ...signedHeaders(sandbox, '', options), ...options.headers };
    const response = await call(base, 'GET', `${url.pathname}${url.search}`, undefined, headers);
    if (response.status !== 202) return response;
    if (Date.now() > deadline)
      throw new Error(`still 202 after ${options.timeoutMs ?? 20_000} ms: ${response.text}`);
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 100));
  }
}
