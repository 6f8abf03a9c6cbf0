import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startSandbox } from './sandbox/index.js';

/**
 * `npm start`: the sandbox (Resource Manager + managed identity), then the local host as its own process
 * configured purely from the environment (exactly what `npm run serve` does), then a ready-to-paste request.
 */

const EXAMPLE =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/privateendpointconnection1';

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the host exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) return;
      const body = await res.text();
      throw new Error(`the host is unhealthy: ${body}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('the host is unhealthy')) throw error;
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`the host did not answer ${url}/api/health within ${timeoutMs} ms`);
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function main(): Promise<void> {
  const port = process.env.PORT ?? '7071';
  const sandbox = await startSandbox();
  const env = {
    ...process.env,
    ...sandbox.env(),
    PORT: port,
    POLICY_PATH: process.env.POLICY_PATH ?? 'policy/examples/sandbox.yaml',
  };
  const hostScript = fileURLToPath(new URL('./host.js', import.meta.url));
  const child = spawn(process.execPath, [hostScript], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const stop = async (code: number): Promise<never> => {
    child.kill('SIGTERM');
    await sandbox.close();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) void stop(code);
  });

  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url, child, 15_000);
  } catch (error) {
    console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`);
    await stop(1);
  }
  const body = JSON.stringify({
    connectionId: EXAMPLE,
    decision: 'Approved',
    description: 'CHG0031234 approved by bob',
    ticket: { system: 'servicenow', id: 'CHG0031234', state: 'implement' },
    requester: 'alice@contoso.com',
    approver: 'bob@contoso.com',
  });
  const lines = [
    '',
    'private-link-approver is running against the local sandbox.',
    `  webhook:           ${url}/api/approvals`,
    `  Resource Manager:  ${sandbox.armEndpoint}  (sandbox; state at ${sandbox.armEndpoint}/_sandbox/connections)`,
    '',
    'Approve the seeded Pending connection (paste into another terminal):',
    '',
    `curl -sS -X POST ${url}/api/approvals \\`,
    `  -H 'content-type: application/json' \\`,
    `  --data ${shellQuote(body)}`,
    '',
    'Then see it Approved in the sandbox:',
    '',
    `curl -sS --cacert ${sandbox.caCertPath} ${sandbox.armEndpoint}/_sandbox/connections`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

void main();
