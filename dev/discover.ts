import { pathToFileURL } from 'node:url';
import type { DevSession } from './examples.js';
import { readSession, SESSION_FILE } from './examples.js';

/**
 * `npm run discover` (while `npm start` runs): a discovery scan now, through `POST /api/discovery/run` with the
 * session's Discovery.Run token, then what `GET /api/discovery` lists, and the curl commands that play the people
 * asked (approve the ServiceNow record, click the Slack button) on the sandbox.
 */

interface Row {
  connectionId: string;
  state: string;
  rule?: string;
  requestId?: string;
  asked?: { servicenow?: { sysId: string }; slack?: { channel: string; ts: string }; teams?: boolean };
  closedWhy?: string;
}

/** A scan now (or the one under way, joined); its counters, then what discovery lists. */
export async function runDiscovery(session: DevSession): Promise<{ report: string; listing: string }> {
  const run = await fetch(`${session.url}/api/discovery/run`, {
    method: 'POST',
    headers: { authorization: `Bearer ${session.discoveryToken}` },
  });
  const report = `POST /api/discovery/run → ${run.status}\n${await run.text()}`;
  return { report, listing: await listDiscovery(session) };
}

export async function listDiscovery(session: DevSession): Promise<string> {
  const list = await fetch(`${session.url}/api/discovery`, {
    headers: { authorization: `Bearer ${session.bearerToken}` },
  });
  if (!list.ok) return `GET /api/discovery → ${list.status}: ${await list.text()}`;
  const { connections } = (await list.json()) as { connections: Row[] };
  return connections.map((row) => describe(row, session)).join('\n\n');
}

function describe(row: Row, session: DevSession): string {
  const admin = `curl -sS --cacert ${session.caCertPath} -X POST ${session.sandboxUrl}/_sandbox`;
  const lines = [`${row.state.padEnd(9)} ${row.connectionId}`];
  if (row.rule)
    lines.push(`          by policy rule ${row.rule} (audit: GET /api/approvals/${row.requestId ?? '?'})`);
  if (row.closedWhy) lines.push(`          closed: it ${row.closedWhy}`);
  const { servicenow, slack } = row.asked ?? {};
  if (servicenow && (row.state === 'requested' || row.state === 'reminded')) {
    lines.push(
      `          ServiceNow record ${servicenow.sysId}; approve it (the business rule calls the app):`,
    );
    lines.push(`          ${admin}/servicenow/records/${servicenow.sysId}/approve`);
  }
  if (slack && (row.state === 'requested' || row.state === 'reminded')) {
    lines.push(`          Slack message ${slack.ts} in ${slack.channel}; click Approve as a listed user:`);
    lines.push(
      `          ${admin}/slack/messages/${slack.ts}/click -H 'content-type: application/json' --data '{"action":"approve","userId":"U0SANDBOX1"}'`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  let session: DevSession;
  try {
    session = readSession();
  } catch {
    console.error(`No local session (${SESSION_FILE}); start one with \`npm start\` first.`);
    process.exit(1);
  }
  try {
    const { report, listing } = await runDiscovery(session);
    process.stdout.write(`${report}\n\n${listing}\n`);
  } catch (error) {
    console.error(
      `npm run discover: the host at ${session.url} did not answer (${String(error)}); is npm start running?`,
    );
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
