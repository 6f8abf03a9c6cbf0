import type { SecretProvider } from '../secrets/secret-provider.js';
import type { Outbound } from './outbound.js';
import { ReportError } from './outbound.js';
import { servicenowLiteral } from './platform-text.js';

/**
 * Writes a work note onto the ServiceNow record a request came from, through the Table API
 * (`PATCH /api/now/table/{table}/{sys_id}`), on the one instance the configuration names. Credentials live in Key
 * Vault as JSON: `{"clientId","clientSecret"}` for OAuth client credentials (token from `/oauth_token.do`), or
 * `{"username","password"}` for basic authentication on instances without OAuth.
 */

export interface ServiceNowWriterOptions {
  instanceUrl: string;
  table: string;
  credentialsSecretName: string;
  secrets: SecretProvider;
  http: Outbound;
  now: () => number;
  timeoutMs?: number;
}

export type WorkNoteWriter = (sysId: string, note: string) => Promise<void>;

/**
 * Creates a record on the table (discovery asking people); answers its sys_id. Once per `correlationId`: a record
 * that already carries it (a create whose answer was lost, a scan stopped before it kept the sys_id) is answered
 * instead of a second one.
 */
export type RecordCreator = (fields: Record<string, string>, correlationId: string) => Promise<string>;

/** The Task field meant for an outside system's id of the record: one record per discovered connection. */
export const CORRELATION_FIELD = 'correlation_id';

export interface ServiceNowClient {
  workNote: WorkNoteWriter;
  createRecord: RecordCreator;
}

type Credentials = { clientId: string; clientSecret: string } | { username: string; password: string };

const SYS_ID = /^[0-9a-f]{32}$/;

export function createServiceNowWriter(options: ServiceNowWriterOptions): WorkNoteWriter {
  return createServiceNowClient(options).workNote;
}

/** One call on the configured table: `path` after the table's URL, `ok` the statuses that count as success. */
type TableCall = (
  request: { method: 'GET' | 'POST' | 'PATCH'; path: string; body?: string },
  ok: (status: number) => boolean,
  failure: (status: number) => string,
) => Promise<string>;

/** Work notes and new records on the configured table, with one set of credentials (and one cached token). */
export function createServiceNowClient(options: ServiceNowWriterOptions): ServiceNowClient {
  const call = tableCall(options);
  const findRecord = async (correlationId: string): Promise<string | undefined> => {
    const query = new URLSearchParams({
      sysparm_query: `${CORRELATION_FIELD}=${correlationId}`,
      sysparm_fields: `sys_id,${CORRELATION_FIELD}`,
      sysparm_limit: '1',
    });
    const text = await call(
      { method: 'GET', path: `?${query.toString()}` },
      (status) => status === 200,
      (status) =>
        `ServiceNow answered ${status} to a look for the record of ${correlationId} on ${options.table}`,
    );
    return correlatedSysId(text, correlationId);
  };
  const createRecord: RecordCreator = async (fields, correlationId) => {
    const found = await findRecord(correlationId);
    if (found !== undefined) return found;
    const literal = Object.entries(fields).map(([name, value]) => [name, servicenowLiteral(value)]);
    const body = JSON.stringify({ ...Object.fromEntries(literal), [CORRELATION_FIELD]: correlationId });
    const failure = (status: number): string =>
      `ServiceNow answered ${status} to a new record on ${options.table}`;
    const sysId = recordSysId(await call({ method: 'POST', path: '', body }, (s) => s === 201, failure));
    if (sysId === undefined) throw new ReportError(failure(201));
    return sysId;
  };
  const workNote: WorkNoteWriter = async (sysId, note) => {
    if (!SYS_ID.test(sysId)) throw new ReportError('the ServiceNow sys_id is not 32 hex digits');
    await call(
      { method: 'PATCH', path: `/${sysId}`, body: JSON.stringify({ work_notes: servicenowLiteral(note) }) },
      (status) => status >= 200 && status < 300,
      (status) => `ServiceNow answered ${status} to the work note on ${options.table}/${sysId}`,
    );
  };
  return { workNote, createRecord };
}

/** Calls on the table with the credentials from Key Vault; an OAuth token is kept until shortly before it expires. */
function tableCall(options: ServiceNowWriterOptions): TableCall {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const table = `${options.instanceUrl}/api/now/table/${encodeURIComponent(options.table)}`;
  let token: { value: string; until: number } | undefined;
  const authorization = async (): Promise<string> => {
    const credentials = await readCredentials(options);
    if ('username' in credentials) {
      return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
    }
    if (token !== undefined && token.until > options.now()) return `Bearer ${token.value}`;
    token = await fetchToken(options, credentials, timeoutMs);
    return `Bearer ${token.value}`;
  };
  return async ({ method, path, body }, ok, failure) => {
    const headers = {
      accept: 'application/json',
      'content-type': 'application/json',
      authorization: await authorization(),
    };
    const response = await options.http({
      method,
      url: `${table}${path}`,
      headers,
      ...(body === undefined ? {} : { body }),
      timeoutMs,
    });
    // A token revoked early is dropped, so the next call fetches another.
    if (response.status === 401) token = undefined;
    if (!ok(response.status))
      throw new ReportError(failure(response.status), response.status, response.retryAfterMs);
    return response.text;
  };
}

/** `{"result":{"sys_id":"…"}}`, as the Table API answers a POST. */
function recordSysId(text: string): string | undefined {
  try {
    const sysId = (JSON.parse(text) as { result?: { sys_id?: unknown } }).result?.sys_id;
    return typeof sysId === 'string' && SYS_ID.test(sysId) ? sysId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The sys_id of the record found carrying `correlationId`. Only a record that shows the value counts: a table
 * without the field ignores the condition and lists records of every kind.
 */
function correlatedSysId(text: string, correlationId: string): string | undefined {
  try {
    const { result } = JSON.parse(text) as { result?: unknown };
    const [first] = Array.isArray(result) ? (result as Record<string, unknown>[]) : [];
    const sysId = first?.sys_id;
    const matches = first?.[CORRELATION_FIELD] === correlationId;
    return matches && typeof sysId === 'string' && SYS_ID.test(sysId) ? sysId : undefined;
  } catch {
    return undefined;
  }
}

async function readCredentials(options: ServiceNowWriterOptions): Promise<Credentials> {
  const [value] = await options.secrets.getSecretValues(options.credentialsSecretName);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value ?? '');
  } catch {
    parsed = undefined;
  }
  const c = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  if (typeof c.clientId === 'string' && typeof c.clientSecret === 'string') {
    return { clientId: c.clientId, clientSecret: c.clientSecret };
  }
  if (typeof c.username === 'string' && typeof c.password === 'string') {
    return { username: c.username, password: c.password };
  }
  throw new ReportError(
    `Key Vault secret ${options.credentialsSecretName} must be JSON {"clientId","clientSecret"} or {"username","password"}`,
  );
}

async function fetchToken(
  options: ServiceNowWriterOptions,
  credentials: { clientId: string; clientSecret: string },
  timeoutMs: number,
): Promise<{ value: string; until: number }> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: credentials.clientId,
    client_secret: credentials.clientSecret,
  });
  const response = await options.http({
    method: 'POST',
    url: `${options.instanceUrl}/oauth_token.do`,
    headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    timeoutMs,
  });
  let body: { access_token?: unknown; expires_in?: unknown } = {};
  try {
    body = JSON.parse(response.text) as typeof body;
  } catch {
    // handled below
  }
  if (response.status !== 200 || typeof body.access_token !== 'string') {
    // No status: wrong credentials (400 from the token endpoint) are fixed in Key Vault, and then tried again.
    throw new ReportError(
      `ServiceNow's OAuth token endpoint answered ${response.status} without a token`,
      undefined,
      response.retryAfterMs,
    );
  }
  const lifetime = typeof body.expires_in === 'number' ? body.expires_in : 1800;
  // Renewed a minute early, so a token never expires between our read and ServiceNow's check.
  return { value: body.access_token, until: options.now() + Math.max(0, lifetime - 60) * 1000 };
}
