import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { standardWebhookHeaders } from '../../src/auth/standard-webhooks.js';
import type { Sandbox } from '../../dev/sandbox/index.js';
import { hostEnv } from './host.js';
import type { TestResponse } from './host.js';

// The bundled host (build/bundle.mjs), as `npm run serve` runs it: e2e tests exercise what ships.
const HOST_SCRIPT = 'dist/bundle/host.js';

export interface ChildHost {
  url: string;
  process: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A separate host process, exactly as `npm run serve` runs (built output, configured only from the
 * environment, trusting the sandbox through NODE_EXTRA_CA_CERTS): what "another instance" means in Azure.
 */
export async function startChildHost(
  sandbox: Sandbox,
  tablePrefix: string,
  env: Record<string, string> = {},
): Promise<ChildHost> {
  if (!existsSync(HOST_SCRIPT)) throw new Error(`${HOST_SCRIPT} is missing: run \`npm run build\` first`);
  const port = await freePort();
  const child = spawn(process.execPath, [HOST_SCRIPT], {
    env: { ...process.env, ...hostEnv(sandbox, tablePrefix, env), PORT: String(port), LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`host exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('host did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    process: child,
    kill: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

export async function signedRequest(
  url: string,
  secret: string,
  body: unknown,
  headers: Record<string, string> = {},
  webhookId = `msg_${randomUUID()}`,
  timestamp = Math.floor(Date.now() / 1000),
): Promise<TestResponse> {
  const text = JSON.stringify(body);
  const signed = standardWebhookHeaders({
    secret,
    webhookId,
    timestamp,
    body: text,
  });
  const response = await fetch(url, {
    method: 'POST',
    body: text,
    headers: { 'content-type': 'application/json', ...signed, ...headers },
  });
  const raw = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, text: raw, json };
}

export async function signedGet(url: string, secret: string): Promise<TestResponse> {
  const signed = standardWebhookHeaders({
    secret,
    webhookId: `msg_${randomUUID()}`,
    timestamp: Math.floor(Date.now() / 1000),
    body: '',
  });
  const response = await fetch(url, { headers: signed });
  const raw = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text: raw,
    json: JSON.parse(raw) as Record<string, unknown>,
  };
}
