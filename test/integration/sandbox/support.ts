import { Agent, request } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { Sandbox } from '../../../dev/sandbox/index.js';

/** Test helpers for the sandbox: a plain HTTPS client that trusts exactly the sandbox's CA. */

export const SUB0 = '00000000-0000-0000-0000-000000000000';
export const SUB1 = '11111111-1111-1111-1111-111111111111';
export const CLUSTER1 = `/subscriptions/${SUB0}/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1`;
export const CONN1 = `${CLUSTER1}/privateEndpointConnections/privateendpointconnection1`;
export const API = 'api-version=2025-01-01';

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Parsed body when it is JSON. */
  json: unknown;
}

export interface RequestInput {
  method?: string;
  path: string;
  token?: string;
  body?: string | object;
  headers?: Record<string, string>;
}

export function makeClient(sandbox: Sandbox): {
  agent: Agent;
  send(input: RequestInput): Promise<HttpResult>;
} {
  // keepAlive off: dropped-socket faults must not poison a pooled connection used by the next test.
  const agent = new Agent({ ca: sandbox.caCertPem, keepAlive: false });
  const send = (input: RequestInput): Promise<HttpResult> =>
    new Promise((resolve, reject) => {
      const body =
        input.body === undefined
          ? undefined
          : typeof input.body === 'string'
            ? input.body
            : JSON.stringify(input.body);
      const headers: Record<string, string> = {
        ...(input.token === undefined ? {} : { authorization: `Bearer ${input.token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...input.headers,
      };
      const req = request(
        new URL(input.path, sandbox.armEndpoint),
        { method: input.method ?? 'GET', headers, agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text === '' ? undefined : (JSON.parse(text) as unknown);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { agent, send };
}

/**
 * Runs `fn` with the sandbox's identity variables in process.env. The real ManagedIdentityCredential reads them
 * when constructed (to pick its source) and msal-node again at the first token request, after which it keeps the
 * App Service source (endpoint and header) in a static for the rest of the process.
 */
export async function withIdentityEnv<T>(sandbox: Sandbox, fn: () => Promise<T>): Promise<T> {
  const keys = ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER'] as const;
  const saved = keys.map((k) => [k, process.env[k]] as const);
  process.env.IDENTITY_ENDPOINT = sandbox.identityEndpoint;
  process.env.IDENTITY_HEADER = sandbox.identityHeader;
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
    }
  }
}

export function errorCode(result: HttpResult): string | undefined {
  const body = result.json as { error?: { code?: unknown } } | undefined;
  return typeof body?.error?.code === 'string' ? body.error.code : undefined;
}

export function errorMessage(result: HttpResult): string {
  const body = result.json as { error?: { message?: unknown } } | undefined;
  return typeof body?.error?.message === 'string' ? body.error.message : '';
}
