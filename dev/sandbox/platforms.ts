import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './http-util.js';

/**
 * Stand-ins for the platforms late outcomes are reported to, served by the sandbox's HTTPS server:
 * - ServiceNow: `POST /_servicenow/oauth_token.do` (client credentials),
 *   `PATCH /_servicenow/api/now/table/{table}/{sys_id}` (work notes) and `POST /_servicenow/api/now/table/{table}`
 *   (new records, as discovery creates them) and `GET` of the table with an equality `sysparm_query` (discovery looks
 *   for the record it may have made already), Bearer or Basic;
 * - Slack: `POST /_slack/response/{id}`, what a slash command's `response_url` receives, and the Web API's
 *   `POST /_slack/api/chat.postMessage` and `chat.update` (bot token), as discovery asks a channel;
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

/** A record created through the Table API (discovery asking people), with the fields it was given. */
export interface ServiceNowRecord {
  table: string;
  sysId: string;
  number: string;
  fields: Record<string, string>;
  at: number;
}

/** A message posted with chat.postMessage, and what chat.update later made of it. */
export interface SlackMessagePosted {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown;
  threadTs?: string;
  updates: { text: string; blocks?: unknown; at: number }[];
  at: number;
}

export interface PlatformStandIns {
  /** Credentials the sandbox's ServiceNow accepts (stored in the Key Vault stand-in as the app expects). */
  servicenowCredentials: { clientId: string; clientSecret: string };
  /** The bot token the sandbox's Slack Web API accepts (stored in the Key Vault stand-in). */
  slackBotToken: string;
  workNotes(): WorkNote[];
  records(): ServiceNowRecord[];
  slackPosts(): ChatPost[];
  slackMessages(): SlackMessagePosted[];
  teamsPosts(): ChatPost[];
  counts(): {
    tokens: number;
    workNotes: number;
    records: number;
    slack: number;
    slackMessages: number;
    teams: number;
    refused: number;
  };
  /**
   * The next `n` calls to the platform fail with `status` (503 unless said), with `Retry-After: retryAfter` when
   * given, for tests of reports retried.
   */
  failNext(platform: 'servicenow' | 'slack' | 'teams', n: number, status?: number, retryAfter?: string): void;
  /** The next new ServiceNow record is made, and its answer lost on the way (a 504 from a gateway that timed out). */
  loseNextRecordAnswer(): void;
  reset(): void;
  /** Handles a request under one of the three prefixes; false when the path is not theirs. */
  handle(req: IncomingMessage, res: ServerResponse, path: string, body: string): boolean;
}

const SYS_ID = /^[0-9a-f]{32}$/;
const TABLE = /^\/_servicenow\/api\/now\/table\/([a-z0-9_]+)(?:\/([^/]+))?$/;

type Counters = ReturnType<PlatformStandIns['counts']>;
const zero = (): Counters => ({
  tokens: 0,
  workNotes: 0,
  records: 0,
  slack: 0,
  slackMessages: 0,
  teams: 0,
  refused: 0,
});

export function createPlatformStandIns(now: () => number): PlatformStandIns {
  const servicenowCredentials = {
    clientId: `sandbox-${randomBytes(4).toString('hex')}`,
    clientSecret: randomBytes(18).toString('base64url'),
  };
  const slackBotToken = `xoxb-sandbox-${randomBytes(12).toString('hex')}`;
  const basic = `Basic ${Buffer.from('sandbox.integration:sandbox', 'utf8').toString('base64')}`;
  const tokens = new Set<string>();
  let notes: WorkNote[] = [];
  let records: ServiceNowRecord[] = [];
  let slack: ChatPost[] = [];
  let messages: SlackMessagePosted[] = [];
  let teams: ChatPost[] = [];
  let counters = zero();
  const failing = { servicenow: 0, slack: 0, teams: 0 };
  let losingRecordAnswer = false;
  const failStatus = { servicenow: 503, slack: 503, teams: 503 };
  const failRetryAfter: Record<keyof typeof failStatus, string | undefined> = {
    servicenow: undefined,
    slack: undefined,
    teams: undefined,
  };
  const fail = (platform: keyof typeof failing, res: ServerResponse): boolean => {
    if (failing[platform] <= 0) return false;
    failing[platform] -= 1;
    sendJson(
      res,
      failStatus[platform],
      { error: { message: 'sandbox: failing on purpose', detail: platform } },
      failRetryAfter[platform] === undefined ? {} : { 'retry-after': failRetryAfter[platform] },
    );
    return true;
  };

  const oauthToken = (res: ServerResponse, body: string): void => {
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
    sendJson(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 1799, scope: 'useraccount' });
  };

  const createRecord = (res: ServerResponse, table: string, body: string): void => {
    const fields = parseObject(body);
    if (fields === undefined || !Object.values(fields).every((v) => typeof v === 'string'))
      return sendJson(res, 400, { error: { message: 'the body must be a JSON object of string fields' } });
    const record: ServiceNowRecord = {
      table,
      sysId: randomBytes(16).toString('hex'),
      number: `PLA${String(records.length + 1).padStart(7, '0')}`,
      fields: fields as Record<string, string>,
      at: now(),
    };
    records.push(record);
    counters.records += 1;
    if (losingRecordAnswer) {
      losingRecordAnswer = false;
      return sendJson(res, 504, { error: { message: 'sandbox: the answer was lost on the way' } });
    }
    sendJson(res, 201, { result: { ...record.fields, sys_id: record.sysId, number: record.number } });
  };

  // `sysparm_query` as `field=value^field=value` (equality only); a field no record has matches nothing here.
  const listRecords = (res: ServerResponse, table: string, query: URLSearchParams): void => {
    const conditions = (query.get('sysparm_query') ?? '')
      .split('^')
      .filter((c) => c !== '')
      .map((c) => [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)]);
    const fields = (query.get('sysparm_fields') ?? '').split(',').filter((f) => f !== '');
    const limit = Number(query.get('sysparm_limit') ?? '10000');
    const result = records
      .filter((r) => r.table === table)
      .map((r): Record<string, string> => ({ ...r.fields, sys_id: r.sysId, number: r.number }))
      .filter((all) => conditions.every(([field = '', value]) => all[field] === value))
      .slice(0, limit)
      .map((all) => (fields.length === 0 ? all : pick(all, fields)));
    sendJson(res, 200, { result });
  };

  const workNote = (res: ServerResponse, table: string, sysId: string, body: string): void => {
    if (!SYS_ID.test(sysId))
      return sendJson(res, 404, { error: { message: 'No Record found' }, status: 'failure' });
    const note = parseObject(body)?.work_notes;
    if (typeof note !== 'string')
      return sendJson(res, 400, { error: { message: 'work_notes must be a string' } });
    notes.push({ table, sysId, note, at: now() });
    counters.workNotes += 1;
    sendJson(res, 200, { result: { sys_id: sysId, work_notes: '' } });
  };

  const servicenow = (req: IncomingMessage, res: ServerResponse, path: string, body: string): void => {
    if (fail('servicenow', res)) return;
    if (path === '/_servicenow/oauth_token.do' && req.method === 'POST') return oauthToken(res, body);
    const match = TABLE.exec(path);
    const [, table = '', sysId] = match ?? [];
    const method = req.method ?? 'GET';
    const allowed = sysId === undefined ? ['POST', 'GET'] : ['PATCH'];
    if (match === null || !allowed.includes(method))
      return sendJson(res, 404, { error: { message: 'No such path' } });
    const auth = req.headers.authorization ?? '';
    if (!(auth === basic || (auth.startsWith('Bearer ') && tokens.has(auth.slice(7))))) {
      counters.refused += 1;
      return sendJson(res, 401, { error: { message: 'User Not Authenticated' }, status: 'failure' });
    }
    if (sysId !== undefined) workNote(res, table, sysId, body);
    else if (method === 'GET')
      listRecords(res, table, new URL(req.url ?? '/', 'http://sandbox').searchParams);
    else createRecord(res, table, body);
  };

  const responseUrl = (res: ServerResponse, path: string, body: string): void => {
    if (fail('slack', res)) return;
    slack.push({ path, body: JSON.parse(body) as unknown, at: now() });
    counters.slack += 1;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  };

  // Slack's Web API answers 200 with {"ok": false, "error": …} for what it refuses.
  const webApi = (req: IncomingMessage, res: ServerResponse, method: string, body: string): void => {
    if (fail('slack', res)) return;
    if (req.headers.authorization !== `Bearer ${slackBotToken}`) {
      counters.refused += 1;
      return sendJson(res, 200, { ok: false, error: 'invalid_auth' });
    }
    const args = parseObject(body);
    const channel = args?.channel;
    if (args === undefined || typeof channel !== 'string' || typeof args.text !== 'string')
      return sendJson(res, 200, { ok: false, error: 'invalid_arguments' });
    const text = args.text;
    const blocks = args.blocks;
    if (method === 'chat.postMessage') {
      const ts = `${Math.floor(now() / 1000)}.${String(messages.length + 1).padStart(6, '0')}`;
      const threadTs = typeof args.thread_ts === 'string' ? args.thread_ts : undefined;
      messages.push({
        channel,
        ts,
        text,
        ...(blocks === undefined ? {} : { blocks }),
        ...(threadTs === undefined ? {} : { threadTs }),
        updates: [],
        at: now(),
      });
      counters.slackMessages += 1;
      return sendJson(res, 200, { ok: true, channel, ts, message: { text, ts } });
    }
    const message = messages.find((m) => m.channel === channel && m.ts === args.ts);
    if (message === undefined) return sendJson(res, 200, { ok: false, error: 'message_not_found' });
    message.updates.push({ text, ...(blocks === undefined ? {} : { blocks }), at: now() });
    sendJson(res, 200, { ok: true, channel, ts: message.ts, text });
  };

  const teamsPost = (res: ServerResponse, path: string, body: string): void => {
    if (fail('teams', res)) return;
    teams.push({ path, body: JSON.parse(body) as unknown, at: now() });
    counters.teams += 1;
    res.writeHead(202).end();
  };

  return {
    servicenowCredentials,
    slackBotToken,
    workNotes: () => structuredClone(notes),
    records: () => structuredClone(records),
    slackPosts: () => structuredClone(slack),
    slackMessages: () => structuredClone(messages),
    teamsPosts: () => structuredClone(teams),
    counts: () => ({ ...counters }),
    failNext: (platform, n, status = 503, retryAfter) => {
      failing[platform] = n;
      failStatus[platform] = status;
      failRetryAfter[platform] = retryAfter;
    },
    loseNextRecordAnswer: () => {
      losingRecordAnswer = true;
    },
    reset() {
      notes = [];
      records = [];
      slack = [];
      messages = [];
      teams = [];
      counters = zero();
      failing.servicenow = failing.slack = failing.teams = 0;
      losingRecordAnswer = false;
      failRetryAfter.servicenow = failRetryAfter.slack = failRetryAfter.teams = undefined;
    },
    handle(req, res, path, body) {
      const post = req.method === 'POST';
      const api = /^\/_slack\/api\/(chat\.postMessage|chat\.update)$/.exec(path);
      if (path.startsWith('/_servicenow/')) servicenow(req, res, path, body);
      else if (path.startsWith('/_slack/response/') && post) responseUrl(res, path, body);
      else if (api?.[1] && post) webApi(req, res, api[1], body);
      else if (path === '/_teams/workflow' && post) teamsPost(res, path, body);
      else return false;
      return true;
    },
  };
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function pick(record: Record<string, string>, fields: readonly string[]): Record<string, string> {
  return Object.fromEntries(fields.filter((f) => f in record).map((f) => [f, record[f] ?? '']));
}
