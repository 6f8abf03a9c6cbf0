import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { signSlack } from '../src/auth/slack-signature.js';
import { standardWebhookHeaders } from '../src/auth/standard-webhooks.js';
import { signTeams } from '../src/auth/teams-signature.js';
import type { DevSecrets } from './sandbox/dev-secrets.js';

/**
 * Ready-to-paste requests for a local run. Signatures carry a timestamp that the webhook accepts for five
 * minutes, so `npm run example -- <route>` prints a fresh one whenever the ones `npm start` printed went stale.
 */

export interface DevSession {
  url: string;
  secrets: DevSecrets;
  /** Entra access token for the generic route (from the OpenID stand-in), and when it expires (epoch ms). */
  bearerToken: string;
  bearerExpiresAt: number;
}

export const SESSION_FILE = '.sandbox/session.json';

export const EXAMPLE_CONNECTIONS = {
  approve:
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/privateendpointconnection1',
  servicenow:
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/clustername1/privateEndpointConnections/pe-pending-2',
  teams:
    '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-aks.prod_weu/providers/Microsoft.ContainerService/managedClusters/aks-prod_01/privateEndpointConnections/pe-bench-01.0f6c1d2e-0000-4000-8000-000000000001',
  slack:
    '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-aks.prod_weu/providers/Microsoft.ContainerService/managedClusters/aks-prod_01/privateEndpointConnections/pe-bench-02.0f6c1d2e-0000-4000-8000-000000000002',
} as const;

export type ExampleRoute = 'bearer' | 'generic' | 'servicenow' | 'teams' | 'slack';

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function curl(url: string, headers: Record<string, string>, body: string): string {
  const lines = [`curl -sS -X POST ${url}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`  -H ${q(`${name}: ${value}`)}`);
  lines.push(`  --data ${q(body)}`);
  return lines.join(' \\\n');
}

export function exampleRequest(session: DevSession, route: ExampleRoute, now: number, text?: string): string {
  const seconds = Math.floor(now / 1000);
  switch (route) {
    case 'bearer': {
      const body = JSON.stringify({
        connectionId: EXAMPLE_CONNECTIONS.approve,
        decision: 'Approved',
        description: 'CHG0031234 approved by bob',
        ticket: { system: 'servicenow', id: 'CHG0031234', state: 'implement' },
        requester: 'alice@contoso.com',
        approver: 'bob@contoso.com',
      });
      return curl(
        `${session.url}/api/approvals`,
        { 'content-type': 'application/json', authorization: `Bearer ${session.bearerToken}` },
        body,
      );
    }
    case 'generic': {
      const body = JSON.stringify({
        connectionId: EXAMPLE_CONNECTIONS.approve,
        decision: 'Approved',
        ticket: { system: 'servicenow', id: 'CHG0031234', state: 'implement' },
        requester: 'alice@contoso.com',
        approver: 'bob@contoso.com',
      });
      const headers = standardWebhookHeaders({
        secret: session.secrets.generic,
        webhookId: `msg_${randomUUID()}`,
        timestamp: seconds,
        body,
      });
      return curl(
        `${session.url}/api/approvals?dryRun=true`,
        { 'content-type': 'application/json', ...headers },
        body,
      );
    }
    case 'servicenow': {
      const body = JSON.stringify({
        sys_id: randomUUID().replace(/-/g, ''),
        number: 'CHG0031235',
        state: 'implement',
        approval: 'approved',
        requested_by: 'alice@contoso.com',
        approved_by: 'bob@contoso.com',
        u_private_endpoint_connection_id: EXAMPLE_CONNECTIONS.servicenow,
        reason: 'CHG0031235 approved in ServiceNow',
      });
      const headers = standardWebhookHeaders({
        secret: session.secrets.servicenow,
        webhookId: `msg_${randomUUID()}`,
        timestamp: seconds,
        body,
      });
      return curl(
        `${session.url}/api/approvals/servicenow`,
        { 'content-type': 'application/json', ...headers },
        body,
      );
    }
    case 'teams': {
      const body = JSON.stringify({
        type: 'message',
        id: randomUUID(),
        timestamp: new Date(now).toISOString(),
        text: `<at>Approver</at> ${text ?? `approve ${EXAMPLE_CONNECTIONS.teams} CHG0031236`}`,
        from: {
          id: '29:1dev-user',
          name: 'Bob Approver',
          aadObjectId: '8d7c6b5a-0000-4000-8000-00000000b0b0',
        },
        channelData: { tenant: { id: '72f988bf-0000-4000-8000-000000000000' } },
      });
      return curl(
        `${session.url}/api/approvals/teams`,
        {
          'content-type': 'application/json',
          authorization: signTeams({ securityToken: session.secrets.teams, body }),
        },
        body,
      );
    }
    case 'slack': {
      const body = new URLSearchParams({
        token: 'unused',
        team_id: 'T0DEV',
        team_domain: 'dev',
        channel_id: 'C0DEV',
        channel_name: 'platform-approvals',
        user_id: 'U0DEVBOB',
        user_name: 'bob',
        command: '/private-link',
        text: text ?? `reject ${EXAMPLE_CONNECTIONS.slack} not an approved consumer`,
        response_url: 'https://hooks.slack.com/commands/T0DEV/1/dev',
        trigger_id: `${seconds}.dev.${randomUUID().slice(0, 8)}`,
      }).toString();
      return curl(
        `${session.url}/api/approvals/slack`,
        {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(seconds),
          'x-slack-signature': signSlack({ signingSecret: session.secrets.slack, timestamp: seconds, body }),
        },
        body,
      );
    }
  }
}

/** `npm run example -- <bearer|generic|servicenow|teams|slack> [chat text]` while `npm start` runs. */
function main(): void {
  const [route, ...words] = process.argv.slice(2);
  const routes: ExampleRoute[] = ['bearer', 'generic', 'servicenow', 'teams', 'slack'];
  if (!routes.includes(route as ExampleRoute)) {
    console.error(`usage: npm run -s example -- <${routes.join('|')}> [chat text]`);
    process.exit(2);
  }
  let session: DevSession;
  try {
    session = JSON.parse(readFileSync(SESSION_FILE, 'utf8')) as DevSession;
  } catch {
    console.error(`No local session (${SESSION_FILE}); start one with \`npm start\` first.`);
    process.exit(1);
  }
  const text = words.length > 0 ? words.join(' ') : undefined;
  process.stdout.write(exampleRequest(session, route as ExampleRoute, Date.now(), text) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
