import type { AppOverrides } from '../../src/composition-root.js';
import { createAppState } from '../../src/composition-root.js';
import { loadConfig } from '../../src/config.js';
import { createRoutes } from '../../src/functions/routes.js';
import { silentSink } from '../../src/logger.js';
import type { LocalHost } from '../../dev/host.js';
import { startLocalHost } from '../../dev/host.js';
import type { Sandbox } from '../../dev/sandbox/index.js';

export interface TestHost {
  host: LocalHost;
  post(path: string, body: string | Uint8Array, headers?: Record<string, string>): Promise<TestResponse>;
  get(path: string, headers?: Record<string, string>): Promise<TestResponse>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
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
  const sandboxEnv = sandbox.env();
  process.env.IDENTITY_ENDPOINT = sandboxEnv.IDENTITY_ENDPOINT;
  process.env.IDENTITY_HEADER = sandboxEnv.IDENTITY_HEADER;
  const state = createAppState(
    () =>
      loadConfig({
        ARM_ENDPOINT: sandbox.armEndpoint,
        ARM_RETRY_BASE_DELAY_MS: '20',
        ARM_RETRY_MAX_DELAY_MS: '200',
        ...env,
      }),
    { armTls: { ca: sandbox.caCertPem }, logSink: silentSink, ...overrides },
  );
  const host = await startLocalHost(createRoutes(state), { port: 0 });
  const call = async (
    method: string,
    path: string,
    body?: string | Uint8Array,
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${host.url}${path}`, { method, body, headers });
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON; tests look at text
    }
    return { status: response.status, headers: response.headers, text, json };
  };
  return {
    host,
    post: (path, body, headers = { 'content-type': 'application/json' }) => call('POST', path, body, headers),
    get: (path, headers) => call('GET', path, undefined, headers),
  };
}
