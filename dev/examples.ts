import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { signSlack } from '../src/auth/slack-signature.js';
import { standardWebhookHeaders } from '../src/auth/standard-webhooks.js';
import { signTeams } from '../src/auth/teams-signature.js';
import type { DevSecrets } from './sandbox/dev-secrets.js';
import { providerOf } from '../src/model/provider-registry.js';
import { EXAMPLE_CONNECTION_COUNT, exampleConnectionId, providerConnectionId } from './sandbox/seed.js';

/**
 * Ready-to-paste requests for a local run. Signatures carry a timestamp that the webhook accepts for five
 * minutes, so `npm run example -- <route>` prints a fresh one whenever the ones `npm start` printed went stale.
 * Every example decides a Pending connection of its own (the sandbox seeds `pe-example-NN`), so each one pasted
 * shows a real transition rather than "unchanged".
 */

export interface DevSession {
  url: string;
  /** The sandbox's HTTPS server (Resource Manager, admin paths, platform stand-ins) and its CA file. */
  sandboxUrl: string;
  caCertPath: string;
  secrets: DevSecrets;
  /** Entra access token for the generic route (from the OpenID stand-in), and when it expires (epoch ms). */
  bearerToken: string;
  bearerExpiresAt: number;
  /** The same caller holding the app role Discovery.Run, for `POST /api/discovery/run` (`npm run discover`). */
  discoveryToken: string;
  /** The next unused example connection. */
  nextExample: number;
}

export const SESSION_FILE = '.sandbox/session.json';

/** The session `npm start` (or `npm run sandbox`) wrote; throws when there is none. */
export function readSession(): DevSession {
  return JSON.parse(readFileSync(SESSION_FILE, 'utf8')) as DevSession;
}

/** Written whole or not at all (a file renamed into place): a reader never sees half a session. */
export function writeSession(session: DevSession): void {
  const temporary = `${SESSION_FILE}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(session), { mode: 0o600 });
  renameSync(temporary, SESSION_FILE);
}

export type ExampleRoute = 'bearer' | 'generic' | 'servicenow' | 'teams' | 'slack' | 'async' | 'provider';

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function curl(url: string, headers: Record<string, string>, body: string): string {
  const lines = [`curl -sS -X POST ${url}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`  -H ${q(`${name}: ${value}`)}`);
  lines.push(`  --data ${q(body)}`);
  return lines.join(' \\\n');
}

/** Takes the next example connection of the session (and counts it as used). */
export function takeExampleConnection(session: DevSession): string {
  const id = exampleConnectionId(session.nextExample % EXAMPLE_CONNECTION_COUNT);
  session.nextExample += 1;
  return id;
}

const TICKET = { system: 'servicenow', id: 'CHG0031234', state: 'implement' };

export function exampleRequest(
  session: DevSession,
  route: ExampleRoute,
  now: number,
  connectionId: string,
  text?: string,
): string {
  const seconds = Math.floor(now / 1000);
  const signed = (secret: string, body: string): Record<string, string> => ({
    'content-type': 'application/json',
    ...standardWebhookHeaders({ secret, webhookId: `msg_${randomUUID()}`, timestamp: seconds, body }),
  });
  switch (route) {
    case 'bearer': {
      const body = JSON.stringify({
        connectionId,
        decision: 'Approved',
        description: 'CHG0031234 approved by bob',
        ticket: TICKET,
        requester: 'alice@contoso.com',
        approver: 'bob@contoso.com',
      });
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${session.bearerToken}` };
      return curl(`${session.url}/api/approvals`, headers, body);
    }
    case 'generic': {
      const body = JSON.stringify({
        connectionId,
        decision: 'Approved',
        ticket: TICKET,
        approver: 'bob@contoso.com',
      });
      return curl(`${session.url}/api/approvals?dryRun=true`, signed(session.secrets.generic, body), body);
    }
    case 'servicenow': {
      const body = JSON.stringify({
        sys_id: randomUUID().replace(/-/g, ''),
        number: 'CHG0031235',
        state: 'implement',
        approval: 'approved',
        requested_by: 'alice@contoso.com',
        approved_by: 'bob@contoso.com',
        u_private_endpoint_connection_id: connectionId,
        reason: 'CHG0031235 approved in ServiceNow',
      });
      return curl(`${session.url}/api/approvals/servicenow`, signed(session.secrets.servicenow, body), body);
    }
    case 'async':
      return asyncExample(session, signed, connectionId);
    case 'provider': {
      const body = JSON.stringify({
        connectionId,
        decision: 'Approved',
        description: 'CHG0031238 approved by bob',
      });
      return curl(`${session.url}/api/approvals`, signed(session.secrets.generic, body), body);
    }
    case 'teams':
      return teamsExample(session, now, text ?? `approve ${connectionId} CHG0031236`);
    case 'slack':
      return slackExample(session, seconds, text ?? `reject ${connectionId} not an approved consumer`);
  }
}

/**
 * Resource Manager answers 503 to the next three calls (a sandbox fault): the ServiceNow request is answered
 * 202 at once, continues from the queue and writes its outcome back as a work note a few seconds later.
 */
function asyncExample(
  session: DevSession,
  signed: (secret: string, body: string) => Record<string, string>,
  connectionId: string,
): string {
  const admin = (path: string): string =>
    `curl -sS --cacert ${q(session.caCertPath)} ${session.sandboxUrl}${path}`;
  const fault = JSON.stringify({ kind: 'status', status: 503, code: 'ServiceUnavailable', times: 3 });
  const body = JSON.stringify({
    sys_id: randomUUID().replace(/-/g, ''),
    number: 'CHG0031237',
    state: 'implement',
    approval: 'approved',
    approved_by: 'bob@contoso.com',
    u_private_endpoint_connection_id: connectionId,
    reason: 'CHG0031237 approved in ServiceNow',
  });
  return [
    `${admin('/_sandbox/faults')} -H 'content-type: application/json' --data ${q(fault)}`,
    curl(
      `${session.url}/api/approvals/servicenow`,
      { ...signed(session.secrets.servicenow, body), prefer: 'respond-async' },
      body,
    ),
    `sleep 8; ${admin('/_sandbox/reports')}`,
  ].join('\n');
}

function teamsExample(session: DevSession, now: number, text: string): string {
  const body = JSON.stringify({
    type: 'message',
    id: randomUUID(),
    timestamp: new Date(now).toISOString(),
    text: `<at>Approver</at> ${text}`,
    from: { id: '29:1dev-user', name: 'Bob Approver', aadObjectId: '8d7c6b5a-0000-4000-8000-00000000b0b0' },
    channelData: { tenant: { id: '72f988bf-0000-4000-8000-000000000000' } },
  });
  const headers = {
    'content-type': 'application/json',
    authorization: signTeams({ securityToken: session.secrets.teams, body }),
  };
  return curl(`${session.url}/api/approvals/teams`, headers, body);
}

function slackExample(session: DevSession, seconds: number, text: string): string {
  const body = new URLSearchParams({
    token: 'unused',
    team_id: 'T0DEV',
    team_domain: 'dev',
    channel_id: 'C0DEV',
    channel_name: 'platform-approvals',
    user_id: 'U0DEVBOB',
    user_name: 'bob',
    command: '/private-link',
    text,
    // The sandbox's response_url recorder, so a late outcome shows in /_sandbox/reports.
    response_url: `${session.sandboxUrl}/_slack/response/${randomUUID().slice(0, 8)}`,
    trigger_id: `${seconds}.dev.${randomUUID().slice(0, 8)}`,
  }).toString();
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(seconds),
    'x-slack-signature': signSlack({ signingSecret: session.secrets.slack, timestamp: seconds, body }),
  };
  return curl(`${session.url}/api/approvals/slack`, headers, body);
}

/**
 * `npm run example -- <bearer|generic|servicenow|teams|slack|async> [chat text]`, or `-- provider <Namespace/type>`,
 * while `npm start` runs.
 */
function main(): void {
  const [route, ...words] = process.argv.slice(2);
  const routes: ExampleRoute[] = ['bearer', 'generic', 'servicenow', 'teams', 'slack', 'async', 'provider'];
  if (!routes.includes(route as ExampleRoute)) {
    console.error(
      `usage: npm run -s example -- <${routes.join('|')}> [chat text]   (provider: -- provider <Namespace/type>, see docs/providers.md)`,
    );
    process.exit(2);
  }
  let session: DevSession;
  try {
    session = readSession();
  } catch {
    console.error(
      `No local session (${SESSION_FILE}); start one with \`npm start\` (or \`npm run sandbox\`) first.`,
    );
    process.exit(1);
  }
  // `provider <Namespace/type>`: the seeded Pending connection of that type (docs/providers.md lists them).
  const type = route === 'provider' ? (words.shift() ?? 'Microsoft.Sql/servers') : undefined;
  if (type !== undefined && providerOf(type) === undefined) {
    console.error(`"${type}" is not a type the app knows; docs/providers.md lists them.`);
    process.exit(2);
  }
  const connectionId = type === undefined ? takeExampleConnection(session) : providerConnectionId(type);
  // Only the counter is this command's to change: the tokens may have been renewed since it read the session.
  writeSession({ ...readSession(), nextExample: session.nextExample });
  const text = words.length > 0 ? words.join(' ') : undefined;
  process.stdout.write(exampleRequest(session, route as ExampleRoute, Date.now(), connectionId, text) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
