import { parseArgs } from 'node:util';
import { ENV_FILE, startLocalEnvironment } from '../local-environment.js';
import type { SandboxOptions } from './index.js';

/**
 * `npm run sandbox` — starts the stand-ins and Azurite (everything `npm start` starts except the host) and keeps
 * them up until SIGINT/SIGTERM, for running the host by hand (`npm run serve`) or under a debugger.
 *
 *   node dist/dev/sandbox/main.js [--arm-port N] [--identity-port N] [--seed FILE]
 *                                 [--token-lifetime SECONDS] [--client-id UUID]
 *
 * The host's environment is written to .sandbox/env (source it: `set -a; . .sandbox/env; set +a`) and printed
 * on stdout as KEY=value lines; everything meant for a person goes to stderr.
 */

const USAGE =
  'usage: sandbox [--arm-port N] [--identity-port N] [--seed FILE] [--token-lifetime SECONDS] [--client-id UUID]';

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`${flag} must be a port number, got '${value}'`);
  return n;
}

function parseOptions(argv: string[]): SandboxOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      'arm-port': { type: 'string' },
      'identity-port': { type: 'string' },
      seed: { type: 'string' },
      'token-lifetime': { type: 'string' },
      'client-id': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }
  const options: SandboxOptions = {};
  const armPort = port(values['arm-port'], '--arm-port');
  const identityPort = port(values['identity-port'], '--identity-port');
  if (armPort !== undefined) options.armPort = armPort;
  if (identityPort !== undefined) options.identityPort = identityPort;
  if (values.seed !== undefined) options.seedPath = values.seed;
  if (values['client-id'] !== undefined) options.managedIdentityClientId = values['client-id'];
  if (values['token-lifetime'] !== undefined) {
    const lifetime = Number(values['token-lifetime']);
    if (!Number.isInteger(lifetime) || lifetime <= 0)
      throw new Error('--token-lifetime must be a positive integer');
    options.tokenLifetimeSeconds = lifetime;
  }
  return options;
}

async function main(): Promise<void> {
  let options: SandboxOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const local = await startLocalEnvironment({ port: process.env.PORT ?? '7071', sandbox: options });
  const { sandbox } = local;
  for (const [key, value] of Object.entries(local.env)) process.stdout.write(`${key}=${value}\n`);
  process.stderr.write(
    [
      `sandbox Resource Manager  ${sandbox.armEndpoint}  (admin: ${sandbox.armEndpoint}/_sandbox/counts)`,
      `managed identity endpoint ${sandbox.identityEndpoint}`,
      `Table Storage (Azurite)   ${local.azurite.table.endpoint}`,
      `Queue Storage (Azurite)   ${local.azurite.queue.endpoint}`,
      `CA certificate            ${sandbox.caCertPath}`,
      '',
      `ready. Then, in another terminal: set -a; . ${ENV_FILE}; set +a; npm run serve`,
      'and, in a third, send it a request: npm run -s example -- bearer | sh',
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: stopping sandbox\n`);
    local.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`failed to stop cleanly: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`sandbox failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
