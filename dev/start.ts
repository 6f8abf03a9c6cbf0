import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAzuriteTable } from './azurite.js';
import type { DevSession } from './examples.js';
import { exampleRequest, SESSION_FILE } from './examples.js';
import { startSandbox } from './sandbox/index.js';

/**
 * `npm start`: the sandbox (Resource Manager, managed identity, Key Vault, OpenID), Azurite's Table service,
 * then the local host as its own process configured purely from the environment (exactly what `npm run serve`
 * does), then ready-to-paste requests for every route.
 */

const AUDIENCE = 'api://private-link-approver-dev';
/** The object id the dev bearer token carries; allowed as a caller of the local host. */
const DEV_CALLER_OID = '0b5e7c1d-0000-4000-8000-00000000d001';

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

async function main(): Promise<void> {
  const port = process.env.PORT ?? '7071';
  const sandbox = await startSandbox();
  const azurite = await startAzuriteTable();
  const env = {
    ...process.env,
    ...sandbox.env(),
    AzureWebJobsStorage: azurite.connectionString,
    PORT: port,
    POLICY_PATH: process.env.POLICY_PATH ?? 'policy/examples/sandbox.yaml',
    ENTRA_AUDIENCE: AUDIENCE,
    ENTRA_ALLOWED_CALLERS: DEV_CALLER_OID,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  };
  const hostScript = fileURLToPath(new URL('./host.js', import.meta.url));
  const child = spawn(process.execPath, [hostScript], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      child.kill('SIGTERM');
      rmSync(SESSION_FILE, { force: true });
      await Promise.allSettled([sandbox.close(), azurite.stop()]);
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  child.on('exit', (code) => {
    if (!stopping) void stop(code ?? 1);
  });

  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url, child, 20_000);
  } catch (error) {
    console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`);
    await stop(1);
  }

  const lifetimeSeconds = 3600;
  const session: DevSession = {
    url,
    secrets: sandbox.devSecrets,
    bearerToken: await sandbox.openId.issueToken(
      { aud: AUDIENCE, oid: DEV_CALLER_OID, azp: DEV_CALLER_OID, name: 'dev Logic App' },
      { expiresInSeconds: lifetimeSeconds },
    ),
    bearerExpiresAt: Date.now() + lifetimeSeconds * 1000,
  };
  // Local-only: random dev secrets so `npm run example` can sign fresh requests; removed on exit.
  mkdirSync(dirname(SESSION_FILE), { recursive: true });
  writeFileSync(SESSION_FILE, JSON.stringify(session), { mode: 0o600 });

  const now = Date.now();
  const lines = [
    '',
    'private-link-approver is running locally against the sandbox.',
    `  webhook           ${url}/api/approvals  (+ /servicenow, /teams, /slack; GET /api/health)`,
    `  Resource Manager  ${sandbox.armEndpoint}  (sandbox state: ${sandbox.armEndpoint}/_sandbox/connections)`,
    `  Table Storage     Azurite on ${azurite.tableEndpoint}`,
    '',
    'Approve the seeded Pending connection (Entra bearer token, valid for an hour) — paste into another terminal:',
    '',
    exampleRequest(session, 'bearer', now),
    '',
    'See it Approved in the sandbox:',
    '',
    `curl -sS --cacert ${sandbox.caCertPath} ${sandbox.armEndpoint}/_sandbox/connections`,
    '',
    'Signed examples for the other routes (signatures are accepted for 5 minutes;',
    '`npm run -s example -- <generic|servicenow|teams|slack> [chat text]` prints fresh ones):',
    '',
    '# generic route, Standard Webhooks signature, dry run',
    exampleRequest(session, 'generic', now),
    '',
    '# ServiceNow change approved',
    exampleRequest(session, 'servicenow', now),
    '',
    '# Teams outgoing webhook: @mention with "approve <id>"',
    exampleRequest(session, 'teams', now),
    '',
    '# Slack slash command: "reject <id> <reason>"',
    exampleRequest(session, 'slack', now),
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

void main();
