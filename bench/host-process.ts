import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Child, Children } from './children.js';
import { baseEnv } from './children.js';
import { entryPoints, fromRoot } from './entry-points.js';

/**
 * The local host as `npm run serve` runs it (the file its script hands to node, read from package.json:
 * the bundle, dist/bundle/host.js), configured purely from the environment, in its own process so the load generator
 * never shares its event loop.
 */

export const hostScript = (): string => fromRoot(entryPoints().serve);

export interface HostProcess {
  url: string;
  child: Child;
  stop(): Promise<void>;
}

/** A free loopback port (the host is told its port through PORT, so it cannot pick one itself). */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The host's environment: the sandbox's, table storage, a quiet log level (one JSON line per request at info
 * would make the bench measure stdout), and short retry delays so a stray retry cannot stall a run (the checks
 * would catch it). Scenarios that need more (a policy file, other stand-ins) pass `extra`.
 */
export function hostEnv(
  base: Record<string, string>,
  port: number,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  return {
    ...baseEnv(),
    ...base,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ARM_RETRY_BASE_DELAY_MS: '20',
    ARM_RETRY_MAX_DELAY_MS: '200',
    ...extra,
  };
}

/** Starts a host and waits until it says it is listening. */
export async function startHostProcess(
  children: Children,
  base: Record<string, string>,
  extra: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
): Promise<HostProcess> {
  const port = await freePort();
  const child = children.spawnNode('host', hostScript(), [], hostEnv(base, port, extra), nodeArgs);
  await child.waitForLine((line) => line.includes('"host.listening"'), 20_000);
  return { url: `http://127.0.0.1:${port}`, child, stop: () => child.stop() };
}
