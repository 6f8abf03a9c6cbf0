import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { runDiscovery } from './discover.js';
import type { DevSession } from './examples.js';
import { exampleRequest, SESSION_FILE, takeExampleConnection } from './examples.js';
import type { LocalEnvironment } from './local-environment.js';
import { ENV_FILE, startLocalEnvironment } from './local-environment.js';
import { providerConnectionId } from './sandbox/seed.js';

/**
 * `npm start`: the sandbox (Resource Manager, managed identity, Key Vault, OpenID), Azurite's Table service,
 * then the local host as its own process configured purely from the environment (exactly what `npm run serve`
 * does), then ready-to-paste requests for every route and the settings a second terminal needs.
 */

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the host exited with code ${child.exitCode}`);
    let res: Response | undefined;
    try {
      res = await fetch(`${url}/api/health`);
    } catch {
      await new Promise((r) => setTimeout(r, 150));
      continue;
    }
    if (res.ok) return;
    throw new Error(`the host is unhealthy: ${await res.text()}`);
  }
  throw new Error(`the host did not answer ${url}/api/health within ${timeoutMs} ms`);
}

function banner(local: LocalEnvironment, session: DevSession, discovery: string): string {
  const { sandbox, azurite } = local;
  const now = Date.now();
  const next = (): string => takeExampleConnection(session);
  const lines = [
    '',
    'private-link-approver is running locally against the sandbox.',
    `  webhook           ${session.url}/api/approvals  (+ /servicenow, /teams, /slack; GET /api/health)`,
    `  Resource Manager  ${sandbox.armEndpoint}  (sandbox state: ${sandbox.armEndpoint}/_sandbox/connections)`,
    `  Storage           Azurite tables ${azurite.table.endpoint}, queue ${azurite.queue.endpoint}`,
    `                    (TABLE_PREFIX=${local.env.TABLE_PREFIX})`,
    '',
    'Approve a Pending connection (Entra bearer token, valid for an hour) — paste into another terminal:',
    '',
    exampleRequest(session, 'bearer', now, next()),
    '',
    'See the sandbox state:',
    '',
    `curl -sS --cacert ${sandbox.caCertPath} ${sandbox.armEndpoint}/_sandbox/connections`,
    '',
    'Signed examples for the other routes, each on a Pending connection of its own (signatures are accepted for',
    '5 minutes; `npm run -s example -- <bearer|generic|servicenow|teams|slack|async> [chat text]` prints fresh',
    'ones):',
    '',
    '# generic route, Standard Webhooks signature, dry run',
    exampleRequest(session, 'generic', now, next()),
    '',
    '# ServiceNow change approved',
    exampleRequest(session, 'servicenow', now, next()),
    '',
    '# Teams outgoing webhook: @mention with "approve <id>"',
    exampleRequest(session, 'teams', now, next()),
    '',
    '# Slack slash command: "reject <id> <reason>"',
    exampleRequest(session, 'slack', now, next()),
    '',
    '# Other resource types (every one in docs/providers.md is seeded): a Storage account (synchronous PUT) and a',
    '# SQL server (long-running: the app polls its operation, then answers):',
    exampleRequest(session, 'provider', now, providerConnectionId('Microsoft.Storage/storageAccounts')),
    exampleRequest(session, 'provider', now, providerConnectionId('Microsoft.Sql/servers')),
    '',
    '# Asynchronous: this ServiceNow request asks for an answer at once (Prefer: respond-async) and gets 202;',
    '# the approval continues from the queue, past the next 3 calls Resource Manager fails (a sandbox fault),',
    '# and writes its outcome back as a work note (the last command shows what the stand-ins received):',
    exampleRequest(session, 'async', now, next()),
    '',
    '# Discovery: the host scans DISCOVERY_SCOPES by itself (a sandbox subscription of its own). Its first scan',
    '# approved the connection policy trusts and asked people about the other (a ServiceNow record, a Slack',
    '# message with buttons, a Teams message); `npm run -s discover` scans again and prints this again:',
    '',
    discovery,
    '',
    `The host's settings are in ${ENV_FILE}; the storage the CLIs need is`,
    '',
    `  AzureWebJobsStorage='${local.env.AzureWebJobsStorage}'`,
    `  TABLE_PREFIX=${local.env.TABLE_PREFIX}`,
    '',
    'In another terminal, load them all, then use the CLIs:',
    '',
    `  set -a; . ${ENV_FILE}; set +a`,
    '  npm run audit -- verify --all        # every audit chain, index entry and stored answer',
    '  npm run policy -- check              # the policy the host loaded (POLICY_PATH)',
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
  return lines.join('\n');
}

/**
 * Whether `port` can be listened on, asked before anything starts: with another host already there, its health
 * would answer ours and the requests printed would go to it, with other secrets.
 */
function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

async function main(): Promise<void> {
  const port = process.env.PORT ?? '7071';
  if (!(await portIsFree(Number(port), process.env.HOST ?? '127.0.0.1'))) {
    console.error(
      `npm start: port ${port} is already in use (another \`npm start\` or \`npm run serve\`?); stop it, or set PORT to a free port.`,
    );
    process.exit(1);
  }
  const local = await startLocalEnvironment({ port });
  // The bundled host, exactly what `npm run serve` runs (build/bundle.mjs).
  const hostScript = fileURLToPath(new URL('../bundle/host.js', import.meta.url));
  const child = spawn(process.execPath, [hostScript], {
    env: { ...process.env, ...local.env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      child.kill('SIGTERM');
      await local.close();
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  child.on('exit', (code) => {
    if (!stopping) void stop(code ?? 1);
  });

  try {
    await waitForHealth(local.session.url, child, 20_000);
  } catch (error) {
    console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`);
    await stop(1);
  }
  const session = local.session;
  // The host's timer scanned at start; this waits for that scan (or runs one) so the listing shows its work.
  const discovery = await runDiscovery(session).then(
    ({ listing }) => listing,
    (error: unknown) => `discovery failed: ${String(error)}`,
  );
  const text = banner(local, session, discovery);
  // The examples printed above took their connections; later `npm run example` calls take the next ones.
  writeFileSync(SESSION_FILE, JSON.stringify(session), { mode: 0o600 });
  process.stdout.write(text);
}

void main();
