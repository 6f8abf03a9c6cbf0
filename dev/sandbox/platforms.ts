import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http-util.js';

/**
 * Stand-ins for the platforms late outcomes are reported to, served by the sandbox's HTTPS server:
 * - ServiceNow: `POST /_servicenow/oauth_token.do` (client credentials) and
 *   `PATCH /_servicenow/api/now/table/{table}/{sys_id}` (work notes, Bearer or Basic);
 * - Slack: `POST /_slack/response/{id}`, what a slash command's `response_url` receives;
 * - Teams: `POST /_teams/workflow`, a Workflows webhook.
 * Everything received is recorded, so tests and `npm start` can show who was told what.
 */

export interface WorkNote {
  table: string;
  sysId: string;
  note: string;
  at: number;
}

export interface ChatPost {
  path: string;
  body: unknown;
  at: number;
}

export interface PlatformStandIns {
  /** Credentials the sandbox's ServiceNow accepts (stored in the Key Vault stand-in as the app expects). */
  servicenowCredentials: { clientId: string; clientSecret: string };
  workNotes(): WorkNote[];
  slackPosts(): ChatPost[];
  teamsPosts(): ChatPost[];
  counts(): { tokens: number; workNotes: number; slack: number; teams: number; refused: number };
  /** The next `n` ServiceNow (or Slack, Teams) calls answer 503, for tests of reports retried from the queue. */
  failNext(platform: 'servicenow' | 'slack' | 'teams', n: number): void;
  reset(): void;
  /** Handles a request under one of the three prefixes; false when the path is not theirs. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, body: string): boolean;
}

const SYS_ID = /^[0-9a-f]{32}$/;

export function createPlatformStandIns(now: () => number): PlatformStandIns {
  const servicenowCredentials = {
    clientId: `sandbox-${randomBytes(4).toString('hex')}`,
    clientSecret: randomBytes(18).toString('base64url'),
  };
  const basic = `Basic ${Buffer.from('sandbox.integration:sandbox', 'utf8').toString('base64')}`;
  const tokens = new Set<string>();
  let notes: WorkNote[] = [];
  let slack: ChatPost[] = [];
  let teams: ChatPost[] = [];
  let counters = { tokens: 0, workNotes: 0, slack: 0, teams: 0, refused: 0 };
  const failing = { servicenow: 0, slack: 0, teams: 0 };
  const fail = (platform: keyof typeof failing, res: ServerResponse): boolean => {
    if (failing[platform] <= 0) return false;
    failing[platform] -= 1;
    sendJson(res, 503, { error: { message: 'sandbox: unavailable on purpose', detail: platform } });
    return true;
  };

  const servicenow = (req: IncomingMessage, res: ServerResponse, path: string, body: string): void => {
    if (fail('servicenow', res)) return;
    if (path === '/_servicenow/oauth_token.do' && req.method === 'POST') {
      const form = new URLSearchParams(body);
      const ok =
        form.get('grant_type') === 'client_credentials' &&
        form.get('client_id') === servicenowCredentials.clientId &&
        form.get('client_secret') === servicenowCredentials.clientSecret;
      if (!ok) {
        counters.refused += 1;
        return sendJson(res, 401, { error: 'access_denied', error_description: 'bad client credentials' });
      }
      const token = randomBytes(24).toString('base64url');
      tokens.add(token);
      counters.tokens += 1;
      return sendJson(res, 200, {
        access_token: token,
        token_type: 'Bearer',
        expires_in: 1799,
        scope: 'useraccount',
      });
    }
    const match = /^\/_servicenow\/api\/now\/table\/([a-z0-9_]+)\/([^/]+)$/.exec(path);
    if (match === null || req.method !== 'PATCH')
      return sendJson(res, 404, { error: { message: 'No such path' } });
    const auth = req.headers.authorization ?? '';
    if (!(auth === basic || (auth.startsWith('Bearer ') && tokens.has(auth.slice(7))))) {
      counters.refused += 1;
      return sendJson(res, 401, { error: { message: 'User Not Authenticated' }, status: 'failure' });
    }
    const [, table = '', sysId = ''] = match;
    if (!SYS_ID.test(sysId))
      return sendJson(res, 404, { error: { message: 'No Record found' }, status: 'failure' });
    const note = (JSON.parse(body) as { work_notes?: unknown }).work_notes;
    if (typeof note !== 'string')
      return sendJson(res, 400, { error: { message: 'work_notes must be a string' } });
    notes.push({ table, sysId, note, at: now() });
    counters.workNotes += 1;
    sendJson(res, 200, { result: { sys_id: sysId, work_notes: '' } });
  };

  const chat = (platform: 'slack' | 'teams', res: ServerResponse, path: string, body: string): void => {
    if (fail(platform, res)) return;
    const post = { path, body: JSON.parse(body) as unknown, at: now() };
    if (platform === 'slack') {
      slack.push(post);
      counters.slack += 1;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else {
      teams.push(post);
      counters.teams += 1;
      res.writeHead(202).end();
    }
  };

  return {
    servicenowCredentials,
    workNotes: () => structuredClone(notes),
    slackPosts: () => structuredClone(slack),
    teamsPosts: () => structuredClone(teams),
    counts: () => ({ ...counters }),
    failNext: (platform, n) => {
      failing[platform] = n;
    },
    reset() {
      notes = [];
      slack = [];
      teams = [];
      counters = { tokens: 0, workNotes: 0, slack: 0, teams: 0, refused: 0 };
      failing.servicenow = failing.slack = failing.teams = 0;
    },
    handle(req, res, path, body) {
      if (path.startsWith('/_servicenow/')) servicenow(req, res, path, body);
      else if (path.startsWith('/_slack/response/') && req.method === 'POST') chat('slack', res, path, body);
      else if (path === '/_teams/workflow' && req.method === 'POST') chat('teams', res, path, body);
      else return false;
      return true;
    },
  };
}
