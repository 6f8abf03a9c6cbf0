import { readFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { fileURLToPath } from 'node:url';
import { readSession, SESSION_FILE } from '../dev/examples.js';
import type { SandboxCounts } from '../dev/sandbox/index.js';
import type { Child, Children } from './children.js';
import { baseEnv } from './children.js';
import { send } from './http-client.js';

/**
 * The sandbox runs as its own process (`dist/dev/sandbox/main.js`), not inside the bench. In the bench process
 * it would share one event loop with the load generator: in (a) client and server would take turns on one
 * thread (measuring that thread, not a round trip), and in (b)-(d) every millisecond the sandbox spends on a
 * GET or PUT would delay autocannon's clock and inflate the host's latency. As a process it costs a loopback
 * HTTPS call to read counters and reset, made only outside measured windows.
 */

export const ARM_RESOURCE = 'https://management.azure.com';
const IDENTITY_API_VERSION = '2019-08-01';
const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
const KEY_VAULT_API_VERSION = '7.5';
/** What the bench itself needs; every KEY=value line main.js prints is passed on to hosts. */
const REQUIRED_KEYS = [
  'ARM_ENDPOINT',
  'IDENTITY_ENDPOINT',
  'IDENTITY_HEADER',
  'NODE_EXTRA_CA_CERTS',
  'KEY_VAULT_URL',
];

/** What the admin endpoint reports; `keyVault` appears once the sandbox serves Key Vault counts. */
export type BenchSandboxCounts = SandboxCounts & { keyVault?: unknown };

export interface SandboxProcess {
  armEndpoint: string;
  caCertPem: string;
  /** The sandbox process (the bench reads its CPU time). */
  pid: number | undefined;
  /** Everything `sandbox.env()` gives a host process (ARM, identity, CA, Key Vault, Entra stand-ins). */
  env(): Record<string, string>;
  counts(): Promise<BenchSandboxCounts>;
  /** Clears counters, recorded requests and faults, and reloads the seed. */
  reset(): Promise<void>;
  /** A bearer token (Resource Manager by default), fetched from the sandbox identity endpoint as a client would. */
  token(resource?: string): Promise<string>;
  /** A bearer token of the dev Entra caller (what `npm run example -- bearer` sends), from the sandbox's session file. */
  entraCaller(): Promise<string>;
  /** The current value of a secret in the sandbox Key Vault, read as a client would (the dev secrets are random). */
  secret(name: string): Promise<string>;
  stop(): Promise<void>;
}

export class SandboxProcessError extends Error {
  override readonly name = 'SandboxProcessError';
}

export async function startSandboxProcess(children: Children, seedPath: string): Promise<SandboxProcess> {
  const script = fileURLToPath(new URL('../dev/sandbox/main.js', import.meta.url));
  const child: Child = children.spawnNode('sandbox', script, ['--seed', seedPath], baseEnv());
  // main.js prints the KEY=value lines on stdout, then its banner on stderr; both must have arrived.
  const keysSeen = new Set<string>();
  await Promise.all([
    child.waitForLine((line) => {
      keysSeen.add(line.slice(0, line.indexOf('=')));
      return REQUIRED_KEYS.every((key) => keysSeen.has(key));
    }, 20_000),
    child.waitForLine((line) => line.startsWith('Ctrl-C to stop'), 20_000, 'stderr'),
  ]);
  const env: Record<string, string> = {};
  for (const line of child.lines()) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) env[match[1]] = match[2] ?? '';
  }
  const armEndpoint = env.ARM_ENDPOINT ?? '';
  const caPath = env.NODE_EXTRA_CA_CERTS ?? '';
  const caCertPem = await readFile(caPath, 'utf8');
  const agent = new Agent({ keepAlive: true, ca: caCertPem, maxSockets: 2 });

  const admin = async (method: string, path: string): Promise<string> => {
    const res = await send({ method, url: `${armEndpoint}${path}`, agent });
    if (res.status >= 300) throw new SandboxProcessError(`${method} ${path}: ${res.status} ${res.text}`);
    return res.text;
  };

  const token = async (resource = ARM_RESOURCE): Promise<string> => {
    const url = new URL(env.IDENTITY_ENDPOINT ?? '');
    url.searchParams.set('api-version', IDENTITY_API_VERSION);
    url.searchParams.set('resource', resource);
    const res = await send({
      method: 'GET',
      url: url.href,
      headers: { 'x-identity-header': env.IDENTITY_HEADER ?? '' },
      agent: false,
    });
    const body = JSON.parse(res.text) as { access_token?: unknown };
    if (res.status !== 200 || typeof body.access_token !== 'string') {
      throw new SandboxProcessError(`identity endpoint answered ${res.status}`);
    }
    return body.access_token;
  };

  return {
    armEndpoint,
    caCertPem,
    pid: child.process.pid,
    env: () => ({ ...env }),
    counts: async () => JSON.parse(await admin('GET', '/_sandbox/counts')) as BenchSandboxCounts,
    reset: async () => void (await admin('POST', '/_sandbox/reset')),
    token,
    async entraCaller() {
      const session: { bearerToken?: unknown } = readSession();
      if (typeof session.bearerToken !== 'string')
        throw new SandboxProcessError(`${SESSION_FILE} holds no bearer token`);
      return session.bearerToken;
    },
    async secret(name) {
      const url = `${env.KEY_VAULT_URL ?? ''}/secrets/${encodeURIComponent(name)}?api-version=${KEY_VAULT_API_VERSION}`;
      const res = await send({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${await token(KEY_VAULT_RESOURCE)}` },
        agent,
      });
      const body = JSON.parse(res.text) as { value?: unknown };
      if (res.status !== 200 || typeof body.value !== 'string') {
        throw new SandboxProcessError(`Key Vault answered ${res.status} for secret '${name}'`);
      }
      return body.value;
    },
    async stop() {
      agent.destroy();
      await child.stop();
    },
  };
}

/** Key Vault reads in a counts document: the slot stays undefined until the sandbox reports them. */
export function keyVaultReads(counts: BenchSandboxCounts): number | undefined {
  const kv = counts.keyVault;
  if (typeof kv !== 'object' || kv === null) return undefined;
  const sum = (value: unknown): number =>
    typeof value === 'object' && value !== null
      ? Object.values(value).reduce<number>((acc, n) => acc + (typeof n === 'number' ? n : 0), 0)
      : 0;
  // KeyVaultCounts in dev/sandbox/key-vault.ts: per-secret `get` and `list` maps.
  return sum((kv as { get?: unknown }).get) + sum((kv as { list?: unknown }).list);
}
